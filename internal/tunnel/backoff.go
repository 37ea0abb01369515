package tunnel

import (
	"context"
	"math/rand/v2"
	"time"
)

// stableSession is how long a session must have lasted for the next wait
// to start again from the minimum.
const stableSession = 10 * time.Second

// backoff computes the waits between connection attempts: the n-th wait
// (from 0) is drawn uniformly from [b/2, b] with b = min·2ⁿ, at most max,
// so that agents cut off together do not come back together.
type backoff struct {
	min, max time.Duration
	attempt  int
	rand     func(n int64) int64 // uniform in [0, n); nil: math/rand/v2
}

// next returns the next wait and counts the attempt.
func (b *backoff) next() time.Duration {
	base := b.max
	if b.attempt < 63 && b.min <= b.max>>b.attempt {
		base = b.min << b.attempt
	}
	b.attempt++
	random := b.rand
	if random == nil {
		random = rand.Int64N
	}
	return base/2 + time.Duration(random(int64(base-base/2)+1))
}

// reset starts again from the minimum.
func (b *backoff) reset() { b.attempt = 0 }

// sleep waits for d or the end of ctx, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
