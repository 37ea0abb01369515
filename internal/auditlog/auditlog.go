// Package auditlog is where Herd's audit lines go and how much of a request
// they hold: levels like Rancher's (off, metadata, request bodies, response
// bodies too), bodies capped and with every secret redacted, written as
// JSON lines to stdout or to a file that rotates by size.
package auditlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"strings"
)

// Level is how much an audit line holds.
type Level int

// Audit levels.
const (
	// Off writes no audit lines.
	Off Level = 0
	// Metadata: who, what, where, the answer and how long it took.
	Metadata Level = 1
	// RequestBody adds the request body.
	RequestBody Level = 2
	// ResponseBody adds the response body too.
	ResponseBody Level = 3
)

// ParseLevel reads --audit-log-level.
func ParseLevel(n int) (Level, error) {
	if n < int(Off) || n > int(ResponseBody) {
		return 0, fmt.Errorf("--audit-log-level %d: use 0 (off), 1 (metadata), 2 (with request bodies) or 3 (with response bodies too)", n)
	}
	return Level(n), nil
}

// MaxBody is the most of one body an audit line holds; a longer one is
// cut there and marked truncated (as JSON it cannot be read then, so only
// its size is logged).
const MaxBody = 64 << 10

// Redacted replaces every secret value in a logged body.
const Redacted = "[redacted]"

// sensitiveKeys are JSON object keys whose values are never logged,
// compared in lower case with '-' and '_' removed.
var sensitiveKeys = map[string]bool{
	"password": true, "newpassword": true, "currentpassword": true, "token": true, "bearertoken": true,
	"secret": true, "clientsecret": true, "privatekey": true, "clientkeydata": true, "tokendata": true,
	"accesskey": true, "secretkey": true, "secretaccesskey": true, "apikey": true, "bindpassword": true,
	"serviceaccountpassword": true, "certificatekey": true, "authorization": true,
}

// Body is a captured body: its first MaxBody bytes and its full size.
type Body struct {
	buf  bytes.Buffer
	size int64
}

// Write keeps up to MaxBody bytes and counts the rest.
func (b *Body) Write(p []byte) (int, error) {
	b.size += int64(len(p))
	if room := MaxBody - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// Size is how many bytes went through.
func (b *Body) Size() int64 { return b.size }

// Value is what an audit line logs for the body: the JSON document with
// every secret redacted (in a Secret, or a list of them, all of data and
// stringData), or, for a body that is not JSON, was cut at MaxBody, or is
// empty, a note of its size. encoding is the body's Content-Encoding;
// secrets says the body is of the Secrets resource.
func (b *Body) Value(contentType, encoding string, secrets bool) any {
	switch {
	case b == nil || b.size == 0:
		return nil
	case b.size > int64(b.buf.Len()):
		return fmt.Sprintf("[%d bytes, truncated: not logged]", b.size)
	case encoding != "" && encoding != "identity":
		return fmt.Sprintf("[%d bytes, %s-encoded: not logged]", b.size, encoding)
	}
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || !isJSON(mt) {
		return fmt.Sprintf("[%d bytes of %s: not logged]", b.size, strings.TrimSpace(contentType))
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(b.buf.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || dec.Decode(new(any)) != io.EOF {
		return fmt.Sprintf("[%d bytes, not valid JSON: not logged]", b.size)
	}
	return redact(doc, secrets, 0)
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// maxDepth bounds the walk; deeper values are replaced.
const maxDepth = 64

// redact replaces secret values in a decoded JSON document, in place.
func redact(v any, secrets bool, depth int) any {
	if depth > maxDepth {
		return "[nested too deeply: not logged]"
	}
	switch v := v.(type) {
	case map[string]any:
		secret := secrets || v["kind"] == "Secret" || v["kind"] == "SecretList"
		for k, val := range v {
			norm := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(k))
			switch {
			case sensitiveKeys[norm]:
				v[k] = Redacted
			case secret && (k == "data" || k == "stringData"):
				v[k] = redactValues(val)
			default:
				v[k] = redact(val, secret, depth+1)
			}
		}
		return v
	case []any:
		for i := range v {
			v[i] = redact(v[i], secrets, depth+1)
		}
		return v
	}
	return v
}

// redactValues keeps a Secret's keys and hides their values.
func redactValues(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return Redacted
	}
	for k := range m {
		m[k] = Redacted
	}
	return m
}
