package recording

import (
	"context"
	"io"
	"time"
)

// PlayOptions shape a replay.
type PlayOptions struct {
	// Speed divides the recorded pauses (2: twice as fast). Zero: 1.
	Speed float64
	// IdleLimit caps one pause (after Speed). Zero: no cap.
	IdleLimit time.Duration
	// Raw writes the output as recorded, escape sequences and all;
	// otherwise it passes a Sanitizer.
	Raw bool
	// Marker receives the recording's markers (truncation, gaps). Nil:
	// they are dropped.
	Marker func(at time.Duration, text string)
	// Sleep waits; nil: a timer that ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Play writes the output events of r to w at their recorded pace.
func Play(ctx context.Context, r *Reader, w io.Writer, o PlayOptions) error {
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	var z Sanitizer
	last := 0.0
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if ev.Time > last {
			d := time.Duration((ev.Time - last) / o.Speed * float64(time.Second)).Round(time.Millisecond)
			if o.IdleLimit > 0 && d > o.IdleLimit {
				d = o.IdleLimit
			}
			if err := o.Sleep(ctx, d); err != nil {
				return err
			}
			last = ev.Time
		}
		switch ev.Code {
		case CodeOutput:
			out := ev.Data
			if !o.Raw {
				out = z.Clean(out)
			}
			if _, err := io.WriteString(w, out); err != nil {
				return err
			}
		case CodeMarker:
			if o.Marker != nil {
				o.Marker(time.Duration(ev.Time*float64(time.Second)), ev.Data)
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
