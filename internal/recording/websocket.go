package recording

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// maxMessage bounds one WebSocket message (or SPDY frame) the decoders
// hold: the Kubernetes streaming protocols send at most 32 KiB per
// message; a larger one is not a session that can be recorded.
const maxMessage = 4 << 20

// wsDecoder decodes the frames of a WebSocket connection that speaks one
// of Kubernetes' channel protocols: a binary message's first byte is its
// channel, and in the base64 protocols a text message's first character
// is the channel's digit and the rest base64.
type wsDecoder struct {
	base64 bool
	emit   sink
	dirs   [2]wsDirection // from the server, from the client
}

// wsDirection is the decoding state of one direction.
type wsDirection struct {
	buf     []byte // bytes not yet a whole frame
	msg     []byte // the fragments of a message so far
	msgOp   byte
	inFrags bool
}

// WebSocket opcodes.
const (
	opContinuation = 0
	opText         = 1
	opBinary       = 2
)

// newWebSocketDecoder decodes the channel protocol protocol (the
// Sec-WebSocket-Protocol the server chose), or refuses an unknown one.
func newWebSocketDecoder(protocol string, emit sink) (*wsDecoder, error) {
	switch protocol {
	case "channel.k8s.io", "v2.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io", "v5.channel.k8s.io":
		return &wsDecoder{emit: emit}, nil
	case "base64.channel.k8s.io", "v2.base64.channel.k8s.io", "v3.base64.channel.k8s.io", "v4.base64.channel.k8s.io":
		return &wsDecoder{base64: true, emit: emit}, nil
	}
	return nil, fmt.Errorf("unknown WebSocket protocol %q", protocol)
}

var errFrame = errors.New("malformed WebSocket frame")

func (d *wsDecoder) feed(fromClient bool, p []byte) error {
	dir := &d.dirs[0]
	if fromClient {
		dir = &d.dirs[1]
	}
	dir.buf = append(dir.buf, p...)
	for {
		n, err := d.frame(dir, fromClient)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		dir.buf = dir.buf[n:]
	}
	if len(dir.buf) == 0 {
		dir.buf = nil // let a large buffer go
	}
	return nil
}

// frame decodes the first whole frame of dir.buf and returns its size, or
// 0 when the frame is not complete yet.
func (d *wsDecoder) frame(dir *wsDirection, fromClient bool) (int, error) {
	b := dir.buf
	if len(b) < 2 {
		return 0, nil
	}
	fin, op := b[0]&0x80 != 0, b[0]&0x0f
	masked := b[1]&0x80 != 0
	length, head := uint64(b[1]&0x7f), 2
	switch length {
	case 126:
		if len(b) < 4 {
			return 0, nil
		}
		length, head = uint64(binary.BigEndian.Uint16(b[2:4])), 4
	case 127:
		if len(b) < 10 {
			return 0, nil
		}
		length, head = binary.BigEndian.Uint64(b[2:10]), 10
	}
	if masked != fromClient {
		return 0, fmt.Errorf("%w: masking", errFrame)
	}
	if length > maxMessage {
		return 0, fmt.Errorf("%w: a frame of %d bytes", errFrame, length)
	}
	var key []byte
	if masked {
		if len(b) < head+4 {
			return 0, nil
		}
		key, head = b[head:head+4], head+4
	}
	end := head + int(length)
	if len(b) < end {
		return 0, nil
	}
	payload := b[head:end]
	if masked {
		payload = append([]byte(nil), payload...)
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	switch {
	case op >= 8: // control frames: close, ping, pong
		return end, nil
	case op == opContinuation:
		if !dir.inFrags {
			return 0, fmt.Errorf("%w: continuation without a message", errFrame)
		}
		if len(dir.msg)+len(payload) > maxMessage {
			return 0, fmt.Errorf("%w: a message over %d bytes", errFrame, maxMessage)
		}
		dir.msg = append(dir.msg, payload...)
	default:
		dir.msg, dir.msgOp, dir.inFrags = append(dir.msg[:0], payload...), op, true
	}
	if fin {
		d.message(dir.msgOp, dir.msg)
		dir.msg, dir.inFrags = dir.msg[:0], false
	}
	return end, nil
}

// message hands one whole message to the sink by its channel.
func (d *wsDecoder) message(op byte, msg []byte) {
	if len(msg) == 0 {
		return
	}
	switch {
	case d.base64 && op == opText:
		ch := msg[0] - '0'
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(msg[1:])))
		if err == nil && ch < 10 {
			d.emit(Stream(ch), data)
		}
	case !d.base64 && op == opBinary:
		d.emit(Stream(msg[0]), msg[1:])
	}
}
