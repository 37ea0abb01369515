package authn

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"strings"
)

// MaxTokenBytes bounds what is parsed as a token.
const MaxTokenBytes = 256

// secretBytes is the entropy of a token secret: 256 bits.
const secretBytes = 32

// ErrMalformedToken is returned for anything that is not <name>:<secret>.
var ErrMalformedToken = errors.New("authn: malformed token")

var nameEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewName returns prefix followed by 10 random lowercase characters, a
// valid Kubernetes object name.
func NewName(prefix string) string {
	b := make([]byte, 7)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return prefix + nameEncoding.EncodeToString(b)[:10]
}

// NewSecret returns a token secret of 256 random bits, base64url encoded.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// FormatToken joins a token's name and secret.
func FormatToken(name, secret string) string { return name + ":" + secret }

// ParseToken splits <name>:<secret>, refusing anything oversized or odd.
func ParseToken(token string) (name, secret string, err error) {
	if len(token) > MaxTokenBytes {
		return "", "", ErrMalformedToken
	}
	name, secret, ok := strings.Cut(token, ":")
	if !ok || name == "" || len(name) > 63 || len(secret) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return "", "", ErrMalformedToken
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return "", "", ErrMalformedToken
		}
	}
	return name, secret, nil
}

// HashSecret returns "sha256:<salt>:<digest>" for a token secret. The
// secret has 256 bits of entropy, so one round of SHA-256 with a random
// salt is enough and keeps verification cheap.
func HashSecret(secret string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	enc := base64.RawStdEncoding
	return "sha256:" + enc.EncodeToString(salt) + ":" + enc.EncodeToString(digest(salt, secret))
}

// VerifySecret reports whether secret matches a HashSecret result.
func VerifySecret(hash, secret string) bool {
	parts := strings.Split(hash, ":")
	if len(parts) != 3 || parts[0] != "sha256" {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[1])
	want, err2 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return false
	}
	return subtle.ConstantTimeCompare(digest(salt, secret), want) == 1
}

func digest(salt []byte, secret string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(secret))
	return h.Sum(nil)
}
