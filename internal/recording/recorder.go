package recording

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Info says who runs what where.
type Info struct {
	User, ImpersonatedUser  string
	Cluster, Namespace, Pod string
	Container, Kind         string
	Command                 []string
	TTY, Stdin              bool
	Source                  string
}

// Summary is what a finished recording holds.
type Summary struct {
	Ended         time.Time
	Chunks        int
	Bytes         int64
	Truncated     bool
	LostBytes     int64
	Width, Height int
}

// Store keeps recordings: a record per session and its content in
// numbered chunks, each written whole (again, while it grows).
type Store interface {
	Create(ctx context.Context, name string, info Info, input bool, started time.Time) error
	WriteChunk(ctx context.Context, name string, index int, data []byte) error
	Finish(ctx context.Context, name string, s Summary) error
	// Discard removes a session that never started (its upgrade was
	// refused).
	Discard(ctx context.Context, name string) error
}

// Config configures a Recorder. Zero values are documented per field.
type Config struct {
	// Store keeps the recordings. Required.
	Store Store
	// Input records what the user types too; output is always recorded.
	Input bool
	// MaxSize bounds what one session's recording keeps; the rest is
	// noted as truncated. Zero: 64 MiB.
	MaxSize int64
	// ChunkSize is the size at which a chunk is complete and the next
	// begins. Zero: 256 KiB.
	ChunkSize int
	// FlushInterval is how often a session's new events are stored.
	// Zero: one second.
	FlushInterval time.Duration
	// MaxPending bounds a session's events waiting for the store (while
	// it fails); more are dropped and counted as lost. Zero: 4 MiB.
	MaxPending int
	// MaxQueued bounds a session's tapped bytes waiting to be decoded;
	// past it the rest of the session is not recorded. Zero: 16 MiB.
	MaxQueued int
	// MaxSessions bounds the sessions recorded at once (each may hold
	// MaxQueued and MaxPending bytes); past it Start fails as if the store
	// were down. Zero: 256.
	MaxSessions int
	// Logger gets what fails. Nil: discard.
	Logger *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Recorder records sessions.
type Recorder struct {
	cfg Config
	wg  sync.WaitGroup
	// counters for Stats
	started, unrecorded, refused, lost, active atomic.Int64
}

// Stats are a Recorder's counts since it started, for metrics.
type Stats struct {
	// Started sessions were recorded; Unrecorded ran without a recording
	// (policy on), Refused were refused (policy required); Active are
	// being recorded now; LostBytes could not be recorded.
	Started, Unrecorded, Refused, Active, LostBytes int64
}

// Stats returns the counts.
func (r *Recorder) Stats() Stats {
	return Stats{Started: r.started.Load(), Unrecorded: r.unrecorded.Load(), Refused: r.refused.Load(),
		Active: r.active.Load(), LostBytes: r.lost.Load()}
}

// New returns a Recorder.
func New(cfg Config) *Recorder {
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 64 << 20
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = 256 << 10
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = 4 << 20
	}
	if cfg.MaxQueued == 0 {
		cfg.MaxQueued = 16 << 20
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = 256
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Recorder{cfg: cfg}
}

// Wait waits until every ended session's recording is stored, or ctx
// ends.
func (r *Recorder) Wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// storeTimeout bounds one call to the store.
const storeTimeout = 5 * time.Second

// Start creates the record of a session that is about to begin. An error
// means the store is unavailable: the caller decides whether the session
// may run unrecorded.
func (r *Recorder) Start(ctx context.Context, info Info) (*Session, error) {
	if r.active.Load() >= int64(r.cfg.MaxSessions) {
		return nil, fmt.Errorf("%d sessions are being recorded already", r.cfg.MaxSessions)
	}
	now := r.cfg.Now()
	name := newName(now)
	cctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := r.cfg.Store.Create(cctx, name, info, r.cfg.Input, now); err != nil {
		return nil, fmt.Errorf("failed to create the record of the session: %w", err)
	}
	r.started.Add(1)
	s := &Session{r: r, name: name, info: info, start: now, signal: make(chan struct{}, 1), ended: make(chan struct{}),
		width: 80, height: 24, log: r.cfg.Logger.With("session", name, "cluster", info.Cluster, "user", info.User)}
	return s, nil
}

// newName is a session's name: its start time (so names sort by it) and
// a random suffix.
func newName(t time.Time) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return t.UTC().Format("20060102-150405") + "-" + string(b)
}

// Session is one session being recorded. FromClient and FromServer are
// called with the bytes as they pass, from the goroutines that copy
// them: they only queue a copy. Decoding and storing run on the
// session's own goroutine, started by Upgraded.
type Session struct {
	r     *Recorder
	name  string
	info  Info
	start time.Time
	log   *slog.Logger

	mu       sync.Mutex
	queue    []tapped
	queued   int
	overflow bool  // MaxQueued was passed: the rest is not recorded
	dropped  int64 // bytes not queued since
	signal   chan struct{}
	ended    chan struct{}
	endOnce  sync.Once
	upgraded bool

	// Owned by the session's goroutine.
	dec           decoder
	now           time.Time // when the bytes being decoded passed
	decodeErr     bool
	out, errs, in utf8Stream
	pending       []byte // event lines not stored yet
	chunk         []byte // the stored part of the current chunk
	chunkIndex    int
	headerWritten bool
	width, height int
	recorded      int64 // event data bytes kept
	truncated     bool
	lost, gap     int64
	stored        int64
}

type tapped struct {
	fromClient bool
	t          time.Time
	p          []byte
}

// Name is the session's record name.
func (s *Session) Name() string { return s.name }

// Upgraded starts recording with the protocol of the upgrade response's
// headers; an unknown protocol is noted and not decoded.
func (s *Session) Upgraded(h http.Header) {
	var err error
	emit := s.event
	switch {
	case h.Get("Sec-Websocket-Protocol") != "":
		s.dec, err = newWebSocketDecoder(h.Get("Sec-Websocket-Protocol"), emit)
	case strings.HasPrefix(strings.ToLower(h.Get("Upgrade")), "spdy/"):
		s.dec, err = newSPDYDecoder(emit)
	default:
		err = fmt.Errorf("unknown upgrade %q", h.Get("Upgrade"))
	}
	if err != nil {
		s.log.Warn("session not decoded: its output is not recorded", "err", err)
		s.decodeErr = true
		s.marker("herd: the session's protocol is unknown; nothing was recorded")
	}
	s.mu.Lock()
	s.upgraded = true
	s.mu.Unlock()
	s.r.wg.Add(1)
	s.r.active.Add(1)
	go s.run()
}

// FromClient records bytes the client sent.
func (s *Session) FromClient(p []byte) { s.tap(true, p) }

// FromServer records bytes the server sent.
func (s *Session) FromServer(p []byte) { s.tap(false, p) }

func (s *Session) tap(fromClient bool, p []byte) {
	if len(p) == 0 {
		return
	}
	now := s.r.cfg.Now()
	s.mu.Lock()
	if s.overflow || s.queued+len(p) > s.r.cfg.MaxQueued {
		s.overflow = true
		s.dropped += int64(len(p))
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, tapped{fromClient: fromClient, t: now, p: append([]byte(nil), p...)})
	s.queued += len(p)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// End says the session ended. Its recording is completed in the
// background (Recorder.Wait waits for it); a session that was never
// upgraded is discarded.
func (s *Session) End() {
	s.endOnce.Do(func() {
		close(s.ended)
		s.mu.Lock()
		upgraded := s.upgraded
		s.mu.Unlock()
		if !upgraded {
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			defer cancel()
			if err := s.r.cfg.Store.Discard(ctx, s.name); err != nil {
				s.log.Warn("failed to discard the record of a refused session", "err", err)
			}
		}
	})
}

// run decodes what was tapped and stores it, until the session ends.
func (s *Session) run() {
	defer s.r.wg.Done()
	defer s.r.active.Add(-1)
	tick := time.NewTicker(s.r.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.signal:
			s.decode()
			if len(s.pending) >= s.r.cfg.ChunkSize {
				s.flush()
			}
		case <-tick.C:
			s.decode()
			s.flush()
		case <-s.ended:
			s.decode()
			s.finish()
			return
		}
	}
}

// decode feeds the queue to the decoder.
func (s *Session) decode() {
	s.mu.Lock()
	queue := s.queue
	s.queue, s.queued = nil, 0
	overflow, dropped := s.overflow, s.dropped
	s.dropped = 0
	s.mu.Unlock()
	for _, tp := range queue {
		if s.decodeErr {
			s.lost += int64(len(tp.p))
			continue
		}
		s.now = tp.t
		if err := s.dec.feed(tp.fromClient, tp.p); err != nil {
			s.log.Warn("session could not be decoded: the rest is not recorded", "err", err)
			s.decodeErr = true
			s.marker("herd: the session's stream could not be decoded; the rest was not recorded")
		}
	}
	if dropped > 0 {
		s.lost += dropped
		if overflow && !s.decodeErr {
			s.decodeErr = true // the stream has a hole: nothing after it can be decoded
			s.log.Warn("the recorder fell behind the session: the rest is not recorded")
			s.marker("herd: the recorder fell behind; the rest of the session was not recorded")
		}
	}
}

// event turns a decoded stream message into an event.
func (s *Session) event(st Stream, data []byte) {
	switch st {
	case Stdout:
		s.add(CodeOutput, s.out.text(data))
	case Stderr:
		s.add(CodeOutput, s.errs.text(data))
	case Stdin:
		if s.r.cfg.Input {
			s.add(CodeInput, s.in.text(data))
		}
	case Resize:
		var size struct{ Width, Height int }
		if json.Unmarshal(data, &size) != nil || size.Width <= 0 || size.Height <= 0 || size.Width > 10000 || size.Height > 10000 {
			return
		}
		if !s.headerWritten {
			s.width, s.height = size.Width, size.Height
			return
		}
		s.add(CodeResize, fmt.Sprintf("%dx%d", size.Width, size.Height))
	}
}

// add appends an event unless the recording is full or the store is
// behind.
func (s *Session) add(code, data string) {
	if data == "" {
		return
	}
	if s.truncated {
		s.lost += int64(len(data))
		return
	}
	if s.recorded+int64(len(data)) > s.r.cfg.MaxSize {
		s.truncated = true
		s.lost += int64(len(data))
		s.marker(fmt.Sprintf("herd: the recording is truncated here, at %d bytes", s.recorded))
		return
	}
	if len(s.pending)+len(data) > s.r.cfg.MaxPending {
		s.gap += int64(len(data))
		s.lost += int64(len(data))
		return
	}
	if s.gap > 0 {
		gap := s.gap
		s.gap = 0
		s.marker(fmt.Sprintf("herd: %d bytes were not recorded here (the recording's storage was unavailable)", gap))
	}
	s.recorded += int64(len(data))
	s.pending = appendEvent(s.pending, s.elapsed(), code, data)
}

// marker appends a marker event (not counted against MaxSize).
func (s *Session) marker(text string) {
	s.pending = appendEvent(s.pending, s.elapsed(), CodeMarker, text)
}

func (s *Session) elapsed() float64 {
	if s.now.IsZero() {
		return s.r.cfg.Now().Sub(s.start).Seconds()
	}
	return s.now.Sub(s.start).Seconds()
}

// flush stores the pending events: the current chunk is written again
// with them, and a full chunk is followed by the next.
func (s *Session) flush() {
	if len(s.pending) == 0 {
		return
	}
	data := append(append([]byte(nil), s.chunk...), s.pending...)
	if !s.headerWritten {
		data = append(s.header(), s.pending...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := s.r.cfg.Store.WriteChunk(ctx, s.name, s.chunkIndex, data); err != nil {
		s.log.Warn("failed to store the recording; will retry", "chunk", s.chunkIndex, "err", err)
		return
	}
	s.stored += int64(len(data) - len(s.chunk))
	s.headerWritten, s.pending = true, s.pending[:0]
	if len(data) >= s.r.cfg.ChunkSize {
		s.chunk, s.chunkIndex = nil, s.chunkIndex+1
	} else {
		s.chunk = data
	}
}

// header is the asciicast header line.
func (s *Session) header() []byte {
	title := fmt.Sprintf("%s on %s: %s/%s", s.info.User, s.info.Cluster, s.info.Namespace, s.info.Pod)
	if s.info.Container != "" {
		title += "/" + s.info.Container
	}
	h, _ := json.Marshal(Header{Version: 2, Width: s.width, Height: s.height, Timestamp: s.start.Unix(),
		Command: strings.Join(s.info.Command, " "), Title: title})
	return append(h, '\n')
}

// finish stores the rest, trying a few times, and the summary.
func (s *Session) finish() {
	if s.gap > 0 {
		s.marker(fmt.Sprintf("herd: %d bytes were not recorded here (the recording's storage was unavailable)", s.gap))
		s.gap = 0
	}
	for attempt := 0; len(s.pending) > 0 && attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Second)
		}
		s.flush()
	}
	if len(s.pending) > 0 {
		s.lost += int64(len(s.pending))
	}
	chunks := s.chunkIndex
	if len(s.chunk) > 0 {
		chunks++
	}
	s.r.lost.Add(s.lost)
	sum := Summary{Ended: s.r.cfg.Now(), Chunks: chunks, Bytes: s.stored, Truncated: s.truncated, LostBytes: s.lost,
		Width: s.width, Height: s.height}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := s.r.cfg.Store.Finish(ctx, s.name, sum); err != nil {
		s.log.Warn("failed to store the end of the session's recording", "err", err)
	}
}

// ErrUnavailable is what a required recording's refusal wraps.
var ErrUnavailable = errors.New("session recording is unavailable")
