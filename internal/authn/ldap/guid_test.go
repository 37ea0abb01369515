package ldap

import (
	"bytes"
	"testing"
)

func TestGUID(t *testing.T) {
	raw := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	const text = "03020100-0504-0706-0809-0a0b0c0d0e0f"
	if got, ok := formatGUID(raw); !ok || got != text {
		t.Errorf("formatGUID(00..0f) = %q, %v; want %q", got, ok, text)
	}
	if got, ok := parseGUID(text); !ok || !bytes.Equal(got, raw) {
		t.Errorf("parseGUID(%q) = %x, %v; want %x", text, got, ok, raw)
	}
	for _, bad := range []string{"", "cn=x,dc=y", "03020100-0504-0706-0809-0a0b0c0d0e0", "030201000504070608090a0b0c0d0e0f0000", "0302010g-0504-0706-0809-0a0b0c0d0e0f"} {
		if got, ok := parseGUID(bad); ok {
			t.Errorf("parseGUID(%q) = %x, want not a GUID", bad, got)
		}
	}
	if _, ok := formatGUID(raw[:15]); ok {
		t.Error("formatGUID of 15 bytes succeeded")
	}
	if got, want := escapeBytes([]byte{0, '*', 0xff}), `\00\2a\ff`; got != want {
		t.Errorf("escapeBytes = %q, want %q", got, want)
	}
}
