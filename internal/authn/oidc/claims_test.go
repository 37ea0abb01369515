package oidc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"herd.dev/herd/internal/authn"
)

func TestReadClaims(t *testing.T) {
	p := &Provider{cfg: Config{IssuerURL: "https://id.example.com"}.withDefaults()}
	for _, tc := range []struct {
		name string
		m    map[string]any
		want claims
	}{
		{"full", map[string]any{"sub": "1", "preferred_username": "al", "name": "Al", "groups": []any{"b", "a", "b", ""}},
			claims{sub: "1", username: "al", name: "Al", groups: []string{"a", "b"}, hasGroups: true}},
		{"email and given names", map[string]any{"sub": "1", "email": "al@x", "given_name": "Al", "family_name": "Bo"},
			claims{sub: "1", username: "al@x", name: "Al Bo"}},
		{"one group as a string", map[string]any{"sub": "1", "groups": "admins"},
			claims{sub: "1", groups: []string{"admins"}, hasGroups: true}},
		{"empty groups", map[string]any{"sub": "1", "groups": []any{}},
			claims{sub: "1", groups: []string{}, hasGroups: true}},
		{"groups not strings", map[string]any{"sub": "1", "groups": 3.0}, claims{sub: "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := p.readClaims(tc.m)
			if got.sub != tc.want.sub || got.username != tc.want.username || got.name != tc.want.name ||
				got.hasGroups != tc.want.hasGroups || !slices.Equal(got.groups, tc.want.groups) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	idToken := claims{sub: "1", name: "Al"}
	userinfo := claims{sub: "1", username: "al", name: "Other", groups: []string{"g"}, hasGroups: true}
	got := idToken.merge(userinfo)
	if got.username != "al" || got.name != "Al" || !got.hasGroups || !slices.Equal(got.groups, []string{"g"}) {
		t.Errorf("got %+v: the ID token's claims win, userinfo fills the gaps", got)
	}
	withGroups := claims{sub: "1", groups: nil, hasGroups: true}.merge(userinfo)
	if len(withGroups.groups) != 0 {
		t.Errorf("got groups %q: an empty groups claim in the ID token is the answer", withGroups.groups)
	}
}

func TestCallback(t *testing.T) {
	for _, tc := range []struct {
		name      string
		query     url.Values
		wantState string
		wantCode  string
	}{
		{"good", url.Values{"code": {"CODE-XYZ"}, "state": {"s"}}, "s", "CODE-XYZ"},
		{"state mismatch", url.Values{"code": {"CODE-XYZ"}, "state": {"t"}}, "s", ""},
		{"no state", url.Values{"code": {"CODE-XYZ"}}, "s", ""},
		{"no expected state", url.Values{"code": {"CODE-XYZ"}, "state": {""}}, "", ""},
		{"no code", url.Values{"state": {"s"}}, "s", ""},
		{"provider error", url.Values{"error": {"access_denied"}, "state": {"s"}}, "s", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := Callback(tc.query, tc.wantState)
			if tc.wantCode != "" {
				if err != nil || code != tc.wantCode {
					t.Errorf("got %q, %v, want %q", code, err, tc.wantCode)
				}
				return
			}
			if !errors.Is(err, authn.ErrFlow) {
				t.Errorf("got %v, want ErrFlow", err)
			}
			if err != nil && strings.Contains(err.Error(), "CODE-XYZ") {
				t.Errorf("error %q holds the code", err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	retrieve := func(status int, code, desc string) error {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status}, ErrorCode: code, ErrorDescription: desc}
	}
	for _, tc := range []struct {
		name string
		err  error
		want error // nil: a plain error
	}{
		{"invalid_grant", retrieve(400, "invalid_grant", "code CODE123 used"), authn.ErrUserGone},
		{"server error", retrieve(502, "", ""), authn.ErrProviderUnavailable},
		{"rate limited", retrieve(429, "", ""), authn.ErrProviderUnavailable},
		{"invalid_client", retrieve(401, "invalid_client", "secret SECRET456 wrong"), nil},
		{"network", &url.Error{Op: "Post", URL: "https://id.example.com/token", Err: errors.New("connection refused")}, authn.ErrProviderUnavailable},
		{"too large", fmt.Errorf("reading: %w", errResponseTooLarge), errResponseTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := classify("refresh", tc.err, authn.ErrUserGone, "CODE123", "SECRET456")
			for _, sentinel := range []error{authn.ErrUserGone, authn.ErrProviderUnavailable, authn.ErrFlow} {
				if errors.Is(err, sentinel) != (sentinel == tc.want) {
					t.Errorf("got %v, want %v", err, tc.want)
				}
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "CODE123") || strings.Contains(err.Error(), "SECRET456") {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}

func TestLimitedBody(t *testing.T) {
	for _, tc := range []struct {
		size    int
		wantErr error
	}{{maxResponseBytes, nil}, {maxResponseBytes + 1, errResponseTooLarge}} {
		b := &limitedBody{rc: io.NopCloser(bytes.NewReader(make([]byte, tc.size))), left: maxResponseBytes}
		got, err := io.ReadAll(b)
		if !errors.Is(err, tc.wantErr) || (err == nil && len(got) != tc.size) {
			t.Errorf("body of %d bytes: got %d bytes, %v, want %v", tc.size, len(got), err, tc.wantErr)
		}
	}
}

func TestIsServerError(t *testing.T) {
	for msg, want := range map[string]bool{
		"503 Service Unavailable: down": true,
		"500 Internal Server Error: x":  true,
		"401 Unauthorized: x":           false,
		"5xx":                           false,
		"oidc: failed to decode":        false,
	} {
		if got := isServerError(errors.New(msg)); got != want {
			t.Errorf("isServerError(%q): got %v, want %v", msg, got, want)
		}
	}
}
