package clusters

import (
	"testing"
	"time"
)

// TestConnLimiter: a cluster whose agent flaps is written ever more
// rarely, up to the cap; another cluster is not held back by it, and a
// fleet reconnecting at once is spread at connWriteQPS after its burst.
func TestConnLimiter(t *testing.T) {
	l := connLimiter()
	var last time.Duration
	for i := range 20 {
		d := l.When("flappy")
		if i > 0 && d < last && d != flapMaxDelay {
			t.Fatalf("change %d of a flapping agent waits %v, less than the one before (%v)", i, d, last)
		}
		last = d
	}
	if last != flapMaxDelay {
		t.Errorf("after 20 changes a flapping agent waits %v, want the cap %v", last, flapMaxDelay)
	}
	if d := l.When("calm"); d > flapDelay {
		t.Errorf("another cluster's first change waits %v, want at most %v", d, flapDelay)
	}
	l.Forget("flappy")
	if d := l.When("flappy"); d > flapDelay {
		t.Errorf("after a quiet minute the flapping cluster waits %v, want at most %v", d, flapDelay)
	}
	var fleet time.Duration
	for i := range 20 * connWriteQPS {
		fleet = l.When(string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if want := 9 * time.Second; fleet < want {
		t.Errorf("the %dth of a fleet's writes waits %v, want about %v (burst %d, then %d a second)", 20*connWriteQPS, fleet, want+time.Second, 10*connWriteQPS, connWriteQPS)
	}
}
