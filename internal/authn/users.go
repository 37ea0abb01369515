package authn

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"herd.dev/herd/internal/herdtoken"
)

// ErrInvalidUsername prefixes username errors.
var ErrInvalidUsername = errors.New("authn: invalid username")

var usernamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._@-]{0,62}[a-z0-9])?$`)

// CheckUsername allows lowercase letters, digits and . _ @ - (not at the
// ends), at most 64 characters.
func CheckUsername(username string) error {
	if !usernamePattern.MatchString(username) {
		return fmt.Errorf("%w %q: use 1-64 lowercase letters, digits, '.', '_', '@' or '-', starting and ending with a letter or digit", ErrInvalidUsername, username)
	}
	return nil
}

// CheckNewUsername is CheckUsername for a user about to be made: it also
// refuses names that could be mistaken for a User id (u-...), a token
// (t-...) or a built-in name.
func CheckNewUsername(username string) error {
	if err := CheckUsername(username); err != nil {
		return err
	}
	for _, prefix := range []string{"u-", "t-", "system", "herd"} {
		if strings.HasPrefix(username, prefix) {
			return fmt.Errorf("%w %q: names starting with %q are reserved (user ids are u-..., tokens t-...); choose another", ErrInvalidUsername, username, prefix)
		}
	}
	return nil
}

// UserObjectName is the name of the User object of a local username. It is
// derived from the username so that two replicas creating the same username
// at once collide in the management cluster instead of making two users.
func UserObjectName(username string) string {
	sum := sha256.Sum256([]byte("local:" + username))
	return "u-" + herdtoken.NameEncoding.EncodeToString(sum[:])[:12]
}

// ExternalUserObjectName derives the User object name of an identity
// provider's user from its principal id, so that concurrent first logins
// collide in the apiserver instead of making two users.
func ExternalUserObjectName(principal string) string {
	sum := sha256.Sum256([]byte("principal:" + principal))
	return "u-" + herdtoken.NameEncoding.EncodeToString(sum[:])[:12]
}

// LocalPrincipal is the principal id of a local user.
func LocalPrincipal(userObjectName string) string { return "local://" + userObjectName }
