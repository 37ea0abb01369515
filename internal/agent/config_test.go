package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good", "crt-abcdefghij:secret\n")
	base := Config{Server: "https://herd.example:8443", CAChecksum: strings.Repeat("ab", 32)}
	for _, c := range []struct {
		name        string
		token, file string
		want        string // "" valid; else in the error
	}{
		{"file", "", good, ""},
		{"both", "crt-x:y", good, "not both"},
		{"missing file", "", filepath.Join(dir, "none"), "--token-file"},
		{"empty file", "", write("empty", "\n"), "registration token"},
		{"oversized file", "", write("big", strings.Repeat("a", 600)), "larger than"},
		{"two tokens", "", write("two", "a:b\nc:d\n"), "registration token"},
		{"neither", "", "", "registration token"},
	} {
		cfg := base
		cfg.Token, cfg.TokenFile = c.token, c.file
		err := cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "" && cfg.Token != "crt-abcdefghij:secret":
			t.Errorf("%s: token %q, want the file's, trimmed", c.name, cfg.Token)
		case c.want != "" && (err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an ErrConfig saying %q", c.name, err, c.want)
		}
	}
}
