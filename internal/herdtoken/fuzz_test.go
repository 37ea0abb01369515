package herdtoken_test

import (
	"strings"
	"testing"

	"herd.dev/herd/internal/herdtoken"
)

// FuzzParse: whatever a client sends as a token, Parse never
// panics, and what it accepts is exactly a well-formed <name>:<secret>.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"t-abcdefghij:" + strings.Repeat("A", 43), "t-x:", ":secret", "", "t-abc", "t-abc:def:ghi",
		"T-ABC:" + strings.Repeat("a", 43), "t-a b:" + strings.Repeat("a", 43), strings.Repeat("a", 300),
		"crt-xxxxxxxxxx:" + strings.Repeat("_", 43), "t-é:" + strings.Repeat("a", 43), "t-abc:" + strings.Repeat("a", 42) + "\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		name, secret, err := herdtoken.Parse(token)
		if err != nil {
			if name != "" || secret != "" {
				t.Errorf("a refused token returned %q %q", name, secret)
			}
			return
		}
		if herdtoken.Format(name, secret) != token || len(token) > herdtoken.MaxBytes || len(secret) != 43 || name == "" || len(name) > 63 {
			t.Errorf("accepted %q as %q:%q", token, name, secret)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Errorf("accepted a name with %q", r)
			}
		}
		// A secret that does not match a hash is refused, whatever it is.
		if herdtoken.Verify(herdtoken.Hash(secret+"x"), secret) {
			t.Error("a secret verified against another's hash")
		}
	})
}
