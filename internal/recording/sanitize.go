package recording

import "strings"

// Sanitizer makes recorded output safe to replay on a terminal: it keeps
// text, control characters a terminal draws with (\t \n \r \b, BEL) and
// the escape sequences that move the cursor and set colours (CSI), and
// drops those that make the replaying terminal act: OSC (title, clipboard
// with OSC 52, hyperlinks), DCS, APC, PM and SOS strings, CSI queries
// whose answer the terminal types into the player's input (device status
// and attributes), and window operations. State carries across calls, as
// a sequence may span events.
type Sanitizer struct {
	state  int
	csi    strings.Builder
	strEsc bool // an ESC inside a string sequence: ST may follow
}

const (
	stText = iota
	stEsc
	stCSI
	stString // OSC, DCS, APC, PM, SOS: until BEL or ST
)

// maxCSI bounds a CSI sequence; a longer one is dropped.
const maxCSI = 64

// Clean returns the safe part of s.
func (z *Sanitizer) Clean(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch z.state {
		case stText:
			switch {
			case r == 0x1b:
				z.state = stEsc
			case r == 0x9b: // C1 CSI
				z.state = stCSI
				z.csi.Reset()
			case r == 0x9d || r == 0x90 || r == 0x9f || r == 0x9e || r == 0x98: // C1 OSC, DCS, APC, PM, SOS
				z.state = stString
			case r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\b' && r != 0x07:
				// other C0 controls: dropped
			case r >= 0x80 && r < 0xa0:
				// other C1 controls: dropped
			default:
				b.WriteRune(r)
			}
		case stEsc:
			switch r {
			case '[':
				z.state = stCSI
				z.csi.Reset()
			case ']', 'P', '_', '^', 'X':
				z.state, z.strEsc = stString, false
			default:
				z.state = stText
				if r >= 0x20 && r < 0x7f && r != 0x1b {
					// ESC 7, ESC 8, ESC =, ESC (B...: harmless
					b.WriteRune(0x1b)
					b.WriteRune(r)
				}
			}
		case stCSI:
			if r >= 0x40 && r <= 0x7e { // final byte
				z.state = stText
				if z.csi.Len() <= maxCSI && safeCSI(r) {
					b.WriteString("\x1b[")
					b.WriteString(z.csi.String())
					b.WriteRune(r)
				}
				continue
			}
			if r < 0x20 || r > 0x3f {
				z.state = stText // malformed: dropped
				continue
			}
			if z.csi.Len() <= maxCSI {
				z.csi.WriteRune(r)
			}
		case stString:
			switch {
			case r == 0x07 || r == 0x9c || (z.strEsc && r == '\\'):
				z.state = stText
			default:
				z.strEsc = r == 0x1b
			}
		}
	}
	return b.String()
}

// safeCSI: cursor movement, erasing, scrolling regions, modes and colours;
// not n (device status report), c (device attributes), t (window
// operations and reports), q and p (requests of some terminals).
func safeCSI(final rune) bool {
	switch final {
	case 'n', 'c', 't', 'q', 'p', 'x', 'y', 'u', '~':
		return final == '~' // keys like ESC [ 3 ~ are harmless
	}
	return true
}
