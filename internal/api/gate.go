package api

import (
	"context"
	"sync/atomic"
	"time"
)

// gate bounds work that is expensive per request (password checks): at
// most cap run at once and at most queue wait, each for up to wait; past
// that a request is refused at once, so a flood is answered as it arrives
// instead of piling up goroutines that all give up together.
type gate struct {
	slots   chan struct{}
	waiting atomic.Int32
	queue   int32
	wait    time.Duration
}

func newGate(capacity, queue int, wait time.Duration) *gate {
	return &gate{slots: make(chan struct{}, capacity), queue: int32(queue), wait: wait}
}

// enter takes a slot, or reports that none is free in time.
func (g *gate) enter(ctx context.Context) (release func(), ok bool) {
	select {
	case g.slots <- struct{}{}:
		return g.leave, true
	default:
	}
	if g.waiting.Add(1) > g.queue {
		g.waiting.Add(-1)
		return nil, false
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.leave, true
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, false
}

func (g *gate) leave() { <-g.slots }
