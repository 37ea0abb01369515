package authn_test

import (
	"testing"

	"herd.dev/herd/internal/authn"
)

// BenchmarkVerifyPassword is the cost of one login's password check.
func BenchmarkVerifyPassword(b *testing.B) {
	hash, err := authn.HashPassword("benchmark-password")
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		if !authn.VerifyPassword(hash, "benchmark-password") {
			b.Fatal("no match")
		}
	}
}
