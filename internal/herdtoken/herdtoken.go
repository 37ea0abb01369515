// Package herdtoken is the format of Herd's bearer tokens: "<name>:<secret>"
// with a DNS-label name and 256 random bits of secret, of which only a
// salted hash is ever stored. Users', agents' and registration tokens all
// use it; kube-api-auth checks copies with it and needs nothing else.
package herdtoken

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"strings"
)

// MaxBytes bounds what is parsed as a token.
const MaxBytes = 256

// secretBytes is the entropy of a token secret: 256 bits.
const secretBytes = 32

// ErrMalformed is returned for anything that is not <name>:<secret>.
var ErrMalformed = errors.New("herdtoken: malformed token")

// NameEncoding is the lowercase base32 of token and object names.
var NameEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewName returns prefix followed by 10 random lowercase characters, a
// valid Kubernetes object name.
func NewName(prefix string) string {
	b := make([]byte, 7)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return prefix + NameEncoding.EncodeToString(b)[:10]
}

// NewSecret returns a token secret of 256 random bits, base64url encoded.
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Format joins a token's name and secret.
func Format(name, secret string) string { return name + ":" + secret }

// Parse splits <name>:<secret>, refusing anything oversized or odd.
func Parse(token string) (name, secret string, err error) {
	if len(token) > MaxBytes {
		return "", "", ErrMalformed
	}
	name, secret, ok := strings.Cut(token, ":")
	if !ok || name == "" || len(name) > 63 || len(secret) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return "", "", ErrMalformed
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return "", "", ErrMalformed
		}
	}
	return name, secret, nil
}

// Hash returns "sha256:<salt>:<digest>" for a token secret. The
// secret has 256 bits of entropy, so one round of SHA-256 with a random
// salt is enough and keeps verification cheap.
func Hash(secret string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	enc := base64.RawStdEncoding
	return "sha256:" + enc.EncodeToString(salt) + ":" + enc.EncodeToString(digest(salt, secret))
}

// Verify reports whether secret matches a Hash result.
func Verify(hash, secret string) bool {
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
