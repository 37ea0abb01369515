package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// Bounds on a SAML Response before it is parsed for real.
const (
	// MaxResponseBytes bounds the decoded XML.
	MaxResponseBytes = 256 << 10
	// maxDepth bounds element nesting (a Response with a signed Assertion
	// nests about 8 deep).
	maxDepth = 48
	// maxElements bounds the number of elements.
	maxElements = 10000
)

var errHostileXML = errors.New("saml: refused XML")

// checkXML refuses XML that is too large, too deep, has too many
// elements, or carries a DTD (entity expansion) or processing
// instructions other than the XML declaration.
func checkXML(data []byte) error {
	if len(data) > MaxResponseBytes {
		return fmt.Errorf("%w: %d bytes, over %d", errHostileXML, len(data), MaxResponseBytes)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	depth, elements := 0, 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: not well-formed: %v", errHostileXML, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			elements++
			if depth > maxDepth {
				return fmt.Errorf("%w: nested deeper than %d", errHostileXML, maxDepth)
			}
			if elements > maxElements {
				return fmt.Errorf("%w: over %d elements", errHostileXML, maxElements)
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			return fmt.Errorf("%w: a DTD or other directive", errHostileXML)
		case xml.ProcInst:
			if t.Target != "xml" {
				return fmt.Errorf("%w: processing instruction %q", errHostileXML, t.Target)
			}
		}
	}
}
