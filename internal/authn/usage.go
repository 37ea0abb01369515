package authn

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// UsageRecorder writes a token's status.lastUsedAt at most once per
// Interval, from a background loop, never on the request path.
type UsageRecorder struct {
	// Client patches Token status.
	Client client.Client
	// Interval between two writes of one token; zero: one minute.
	Interval time.Duration
	// Flush is how often pending writes go out; zero: 10 seconds.
	Flush time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Logger; nil: discard.
	Logger *slog.Logger

	mu      sync.Mutex
	pending map[string]time.Time
	written map[string]time.Time
}

// Touch notes that tok was used now.
func (u *UsageRecorder) Touch(tok *v1.Token) {
	now, interval := u.now(), u.interval()
	if last := tok.Status.LastUsedAt; last != nil && now.Sub(last.Time) < interval {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if w, ok := u.written[tok.Name]; ok && now.Sub(w) < interval {
		return
	}
	if u.pending == nil {
		u.pending = map[string]time.Time{}
	}
	u.pending[tok.Name] = now
}

// Run flushes pending writes until ctx ends.
func (u *UsageRecorder) Run(ctx context.Context) error {
	every := u.Flush
	if every == 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			u.flush(ctx)
		}
	}
}

func (u *UsageRecorder) flush(ctx context.Context) {
	u.mu.Lock()
	batch := u.pending
	u.pending = nil
	if u.written == nil {
		u.written = map[string]time.Time{}
	}
	now := u.now()
	for name, w := range u.written {
		if now.Sub(w) >= u.interval() {
			delete(u.written, name)
		}
	}
	for name, at := range batch {
		u.written[name] = at
	}
	u.mu.Unlock()
	for name, at := range batch {
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"lastUsedAt": metav1.NewTime(at)}})
		tok := &v1.Token{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := u.Client.Status().Patch(ctx, tok, client.RawPatch(types.MergePatchType, patch)); err != nil && u.Logger != nil {
			u.Logger.Warn("failed to record token use", "token", name, "err", err)
		}
	}
}

func (u *UsageRecorder) interval() time.Duration {
	if u.Interval == 0 {
		return time.Minute
	}
	return u.Interval
}

func (u *UsageRecorder) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}
