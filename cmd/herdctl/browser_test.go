package main

import (
	"errors"
	"strings"
	"testing"
)

func TestSystemBrowserCommands(t *testing.T) {
	const u = "https://idp.example.com/auth?a=1&b=2"
	tests := []struct {
		name, browser, goos string
		want                []string
	}{
		{"default", "", "linux", []string{"xdg-open " + u}},
		{"macOS", "", "darwin", []string{"open " + u}},
		{"one browser", "firefox", "linux", []string{"firefox " + u, "xdg-open " + u}},
		{"list with arguments", "chromium --new-window:w3m", "linux", []string{"chromium --new-window " + u, "w3m " + u, "xdg-open " + u}},
		{"placeholder", "browse --url=%s --quiet::", "linux", []string{"browse --url=" + u + " --quiet", "xdg-open " + u}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := systemBrowser{getenv: func(string) string { return tt.browser }, goos: tt.goos}
			var got []string
			for _, argv := range b.commands(u) {
				got = append(got, strings.Join(argv, " "))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSystemBrowserOpen(t *testing.T) {
	var tried []string
	b := systemBrowser{
		getenv: func(string) string { return "missing:firefox" },
		goos:   "linux",
		run: func(name string, args ...string) error {
			tried = append(tried, name)
			if name == "firefox" {
				return nil
			}
			return errors.New("not found")
		},
	}
	if err := b.open("https://idp/x"); err != nil {
		t.Errorf("got %v, want firefox to open it", err)
	}
	if strings.Join(tried, ",") != "missing,firefox" {
		t.Errorf("tried %v, want missing then firefox", tried)
	}
	b.run = func(string, ...string) error { return errors.New("not found") }
	if err := b.open("https://idp/x"); err == nil || !strings.Contains(err.Error(), "xdg-open: not found") {
		t.Errorf("got %v, want an error naming each command", err)
	}
}

func TestCheckAuthURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://github.com/login/oauth/authorize?x=1": true,
		"http://127.0.0.1:5556/dex/auth":               true,
		"file:///etc/passwd":                           false,
		"--help":                                       false,
		"javascript:alert(1)":                          false,
		"https://":                                     false,
	} {
		if err := checkAuthURL(raw); (err == nil) != ok {
			t.Errorf("checkAuthURL(%q): got %v, want ok=%v", raw, err, ok)
		}
	}
}
