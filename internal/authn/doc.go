// Package authn turns what a client presents (a username and password, or a
// bearer token) into a verified Herd identity. Passwords are hashed with
// argon2id; token secrets are 256 random bits, stored only as a salted
// SHA-256; tokens are verified from an informer cache, never by a read per
// request; failed logins are rate limited per user and per source address.
package authn
