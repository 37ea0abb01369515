package tunnel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The stream header protocol. The server opens a stream and sends
//
//	version(1) length(2, big endian) network "\x00" address
//
// and the agent answers
//
//	status(1) length(2) message
//
// before either side sends payload. Lengths are bounded by maxHeader.
const (
	protoVersion = 1
	maxHeader    = 1024
)

// Reply statuses.
const (
	statusOK         byte = 0
	statusNotAllowed byte = 1
	statusDialFailed byte = 2
)

// writeRequest sends the header that names the target.
func writeRequest(w io.Writer, network, addr string) error {
	body := network + "\x00" + addr
	if len(body) > maxHeader || strings.ContainsRune(network, 0) {
		return fmt.Errorf("%w: target %q %q is too long or malformed", ErrProtocol, network, addr)
	}
	return writeFrame(w, protoVersion, body)
}

// readRequest reads the header that names the target.
func readRequest(r io.Reader) (network, addr string, err error) {
	version, body, err := readFrame(r)
	if err != nil {
		return "", "", err
	}
	if version != protoVersion {
		return "", "", fmt.Errorf("%w: version %d, want %d", ErrProtocol, version, protoVersion)
	}
	network, addr, ok := strings.Cut(body, "\x00")
	if !ok || network == "" || addr == "" {
		return "", "", fmt.Errorf("%w: malformed target", ErrProtocol)
	}
	return network, addr, nil
}

// writeReply answers a request; msg is cut to maxHeader.
func writeReply(w io.Writer, status byte, msg string) error {
	if len(msg) > maxHeader {
		msg = msg[:maxHeader]
	}
	return writeFrame(w, status, msg)
}

// readReply reads the agent's answer; nil means the stream is connected.
func readReply(r io.Reader) error {
	status, msg, err := readFrame(r)
	switch {
	case err != nil:
		return err
	case status == statusOK:
		return nil
	case status == statusNotAllowed:
		return ErrNotAllowed
	case status == statusDialFailed:
		return fmt.Errorf("%w: %s", ErrDialFailed, msg)
	}
	return fmt.Errorf("%w: unknown status %d: %s", ErrProtocol, status, msg)
}

func writeFrame(w io.Writer, kind byte, body string) error {
	buf := make([]byte, 0, 3+len(body))
	buf = append(buf, kind)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(body)))
	buf = append(buf, body...)
	_, err := w.Write(buf)
	return err
}

func readFrame(r io.Reader) (kind byte, body string, err error) {
	var head [3]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, "", fmt.Errorf("failed to read stream header: %w", unexpectedEOF(err))
	}
	n := binary.BigEndian.Uint16(head[1:])
	if n > maxHeader {
		return 0, "", fmt.Errorf("%w: header of %d bytes exceeds %d", ErrProtocol, n, maxHeader)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, "", fmt.Errorf("failed to read stream header: %w", unexpectedEOF(err))
	}
	return head[0], string(buf), nil
}

// unexpectedEOF turns a clean EOF inside a header into io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
