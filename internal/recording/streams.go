package recording

// Stream is a stream of an exec or attach session, as both protocols
// number them (the WebSocket channels).
type Stream byte

// The streams of the Kubernetes streaming protocols.
const (
	Stdin  Stream = 0
	Stdout Stream = 1
	Stderr Stream = 2
	Status Stream = 3
	Resize Stream = 4
)

// sink receives what a decoder found in the bytes of one direction.
type sink func(s Stream, data []byte)

// decoder decodes the bytes of a session as they pass, in the order they
// pass; fromClient says their direction. An error means the stream is
// not what the protocol says: the rest cannot be decoded.
type decoder interface {
	feed(fromClient bool, p []byte) error
}
