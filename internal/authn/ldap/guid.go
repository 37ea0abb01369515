package ldap

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Active Directory stores objectGUID as 16 bytes whose first three fields
// (4, 2 and 2 bytes) are little-endian; its canonical text is big-endian:
// bytes 03 02 01 00 05 04 07 06 08 09 0a 0b 0c 0d 0e 0f.
var guidOrder = [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}

// formatGUID is the canonical text (lower case) of a binary objectGUID.
func formatGUID(b []byte) (string, bool) {
	if len(b) != 16 {
		return "", false
	}
	var be [16]byte
	for i, j := range guidOrder {
		be[i] = b[j]
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", be[0:4], be[4:6], be[6:8], be[8:10], be[10:16]), true
}

// parseGUID is the binary objectGUID of a canonical GUID text.
func parseGUID(s string) ([]byte, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, false
	}
	be, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(be) != 16 {
		return nil, false
	}
	b := make([]byte, 16)
	for i, j := range guidOrder {
		b[j] = be[i]
	}
	return b, true
}

// escapeBytes is a filter value that matches b exactly: every byte
// escaped as \xx (RFC 4515).
func escapeBytes(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, `\%02x`, c)
	}
	return s.String()
}
