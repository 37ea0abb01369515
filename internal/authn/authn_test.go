package authn_test

import (
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdtoken"
)

func TestPassword(t *testing.T) {
	hash, err := authn.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$") || strings.Contains(hash, "correct") {
		t.Errorf("hash %q: want an argon2id PHC string without the password", hash)
	}
	other, _ := authn.HashPassword("correct horse battery")
	if other == hash {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	tests := []struct {
		name, hash, password string
		want                 bool
	}{
		{"right", hash, "correct horse battery", true},
		{"wrong", hash, "correct horse battery!", false},
		{"empty hash", "", "correct horse battery", false},
		{"not argon2id", strings.Replace(hash, "argon2id", "argon2i", 1), "correct horse battery", false},
		{"cut hash", hash[:len(hash)-10], "correct horse battery", false},
		{"absurd memory", strings.Replace(hash, "m=19456", "m=99999999", 1), "correct horse battery", false},
		{"oversized password", hash, strings.Repeat("x", 300), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := authn.VerifyPassword(tt.hash, tt.password); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short":                     false,
		"twelve chars":              true,
		"ünïcödé-pässwörd":          true,
		strings.Repeat("x", 257):    false,
		"bad utf8 \xff\xfe padding": false,
	} {
		if err := authn.CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%.20q): got %v, want ok=%v", pw, err, ok)
		}
	}
}

func TestTokenFormat(t *testing.T) {
	secret := herdtoken.NewSecret()
	if len(secret) != 43 || secret == herdtoken.NewSecret() {
		t.Fatalf("secret %q: want 43 random base64url characters (256 bits)", secret)
	}
	name := herdtoken.NewName("t-")
	token := herdtoken.Format(name, secret)
	gotName, gotSecret, err := herdtoken.Parse(token)
	if err != nil || gotName != name || gotSecret != secret {
		t.Fatalf("ParseToken(FormatToken) = %q, %q, %v", gotName, gotSecret, err)
	}
	for _, bad := range []string{"", "nocolon", ":" + secret, name + ":", name + ":short", "T-UPPER:" + secret,
		name + ":" + secret + "x", strings.Repeat("a", 300) + ":" + secret, "t-a/b:" + secret} {
		if _, _, err := herdtoken.Parse(bad); err == nil {
			t.Errorf("ParseToken(%.40q) accepted", bad)
		}
	}
	hash := herdtoken.Hash(secret)
	if strings.Contains(hash, secret) || hash == herdtoken.Hash(secret) {
		t.Errorf("hash %q: contains the secret or is not salted", hash)
	}
	if !herdtoken.Verify(hash, secret) || herdtoken.Verify(hash, herdtoken.NewSecret()) || herdtoken.Verify("sha256:x", secret) {
		t.Error("VerifySecret accepts the wrong thing or refuses the right one")
	}
}

func TestUsername(t *testing.T) {
	for name, ok := range map[string]bool{"admin": true, "jane.doe@corp": true, "a": true, "Admin": false, "-x": false,
		"x-": false, "has space": false, "": false, strings.Repeat("a", 65): false} {
		if err := authn.CheckUsername(name); (err == nil) != ok {
			t.Errorf("CheckUsername(%q): got %v, want ok=%v", name, err, ok)
		}
	}
	if a, b := authn.UserObjectName("alice"), authn.UserObjectName("bob"); a == b || a != authn.UserObjectName("alice") || len(a) != 14 {
		t.Errorf("UserObjectName: alice=%q bob=%q: want distinct, stable u-<12>", a, b)
	}
}

func TestTTLs(t *testing.T) {
	tests := []struct {
		name      string
		ttls      authn.TTLs
		kind      string
		requested time.Duration
		want      time.Duration
		wantErr   bool
	}{
		{"session default", authn.TTLs{}, "session", 0, 16 * time.Hour, false},
		{"empty kind is session", authn.TTLs{}, "", 0, 16 * time.Hour, false},
		{"kubeconfig default", authn.TTLs{}, "kubeconfig", 0, 30 * 24 * time.Hour, false},
		{"shorter on request", authn.TTLs{}, "session", time.Hour, time.Hour, false},
		{"never longer on request", authn.TTLs{}, "session", 100 * time.Hour, 16 * time.Hour, false},
		{"maximum caps", authn.TTLs{Max: 2 * time.Hour}, "kubeconfig", 0, 2 * time.Hour, false},
		{"configured session", authn.TTLs{Session: time.Hour}, "session", 0, time.Hour, false},
		{"unknown kind", authn.TTLs{}, "forever", 0, 0, true},
		{"negative", authn.TTLs{}, "session", -time.Second, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ttls.For(tt.kind, tt.requested)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestLoginLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := authn.NewLoginLimiter(3, time.Minute, func() time.Time { return now })
	for i := range 3 {
		if wait := l.Blocked("u"); wait != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail("u")
	}
	now = now.Add(20 * time.Second)
	if got := l.Blocked("u"); got != 40*time.Second {
		t.Errorf("after 3 failures: wait %v, want the rest of the window (40s)", got)
	}
	if l.Blocked("other") != 0 {
		t.Error("another key is blocked")
	}
	now = now.Add(40 * time.Second)
	if l.Blocked("u") != 0 {
		t.Error("still blocked after the window")
	}
	l.Fail("u")
	l.Fail("u")
	l.Succeed("u")
	l.Fail("u")
	if l.Blocked("u") != 0 {
		t.Error("a success did not reset the count")
	}
	// At most MaxKeys keys are tracked; the oldest window goes first.
	l = authn.NewLoginLimiter(1, time.Minute, func() time.Time { return now })
	l.MaxKeys = 2
	l.Fail("a")
	now = now.Add(time.Second)
	l.Fail("b")
	if l.Blocked("a") == 0 || l.Blocked("b") == 0 {
		t.Fatal("a and b are not blocked after reaching the limit")
	}
	now = now.Add(time.Second)
	l.Fail("c")
	if l.Blocked("a") != 0 || l.Blocked("b") == 0 || l.Blocked("c") == 0 {
		t.Errorf("after a third key: a blocked %v, b %v, c %v; want the oldest (a) dropped", l.Blocked("a"), l.Blocked("b"), l.Blocked("c"))
	}
}
