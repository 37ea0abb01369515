package recording

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/moby/spdystream/spdy"
)

// spdyDecoder decodes the frames of a SPDY/3.1 connection of the
// Kubernetes streaming protocol: the client opens one stream per
// stream type (header streamType: stdin, stdout, stderr, error, resize)
// and data frames carry each stream's bytes. The header blocks of each
// direction share one compression context, so every frame of both
// directions passes through a framer of that direction, one whole frame
// at a time.
type spdyDecoder struct {
	emit    sink
	dirs    [2]*spdyDirection // from the server, from the client
	streams map[spdy.StreamId]Stream
}

type spdyDirection struct {
	pending []byte       // bytes not yet a whole frame
	in      bytes.Buffer // whole frames for the framer
	framer  *spdy.Framer
}

func newSPDYDecoder(emit sink) (*spdyDecoder, error) {
	d := &spdyDecoder{emit: emit, streams: map[spdy.StreamId]Stream{}}
	for i := range d.dirs {
		dir := &spdyDirection{}
		f, err := spdy.NewFramerWithOptions(nilWriter{}, &dir.in,
			spdy.WithMaxControlFramePayloadSize(maxMessage), spdy.WithMaxHeaderCount(256), spdy.WithMaxHeaderFieldSize(16<<10))
		if err != nil {
			return nil, err
		}
		dir.framer, d.dirs[i] = f, dir
	}
	return d, nil
}

type nilWriter struct{}

func (nilWriter) Write(p []byte) (int, error) { return len(p), nil }

var spdyStreamTypes = map[string]Stream{"stdin": Stdin, "stdout": Stdout, "stderr": Stderr, "error": Status, "resize": Resize}

func (d *spdyDecoder) feed(fromClient bool, p []byte) error {
	dir := d.dirs[0]
	if fromClient {
		dir = d.dirs[1]
	}
	dir.pending = append(dir.pending, p...)
	for len(dir.pending) >= 8 {
		length := int(binary.BigEndian.Uint32(dir.pending[4:8]) & 0xffffff)
		if length > maxMessage {
			return fmt.Errorf("malformed SPDY frame: %d bytes", length)
		}
		if len(dir.pending) < 8+length {
			break
		}
		dir.in.Write(dir.pending[:8+length])
		dir.pending = dir.pending[8+length:]
		frame, err := dir.framer.ReadFrame()
		if err != nil {
			return fmt.Errorf("malformed SPDY frame: %w", err)
		}
		switch f := frame.(type) {
		case *spdy.SynStreamFrame:
			if s, ok := spdyStreamTypes[f.Headers.Get("streamType")]; ok {
				d.streams[f.StreamId] = s
			}
		case *spdy.DataFrame:
			if s, ok := d.streams[f.StreamId]; ok && len(f.Data) > 0 {
				d.emit(s, f.Data)
			}
		}
	}
	if len(dir.pending) == 0 {
		dir.pending = nil
	}
	return nil
}
