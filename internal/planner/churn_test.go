package planner

import (
	"testing"
	"encoding/json"
)

func TestChurnDebug(t *testing.T) {
	f := newFixture(t, "v1.37.2")
	for i, addr := range []string{"127.0.9.1", "127.0.9.2", "127.0.9.3"} {
		f.machine(t, "cp-"+string(rune('1'+i)), addr, "etcd", "control-plane")
	}
	probes := map[string]bool{"etcd": true, "apiserver": true}
	for range 6 {
		f.step(t)
		for _, n := range []string{"cp-1", "cp-2", "cp-3"} {
			f.report(t, n, probes)
		}
	}
	a, _ := json.Marshal(f.plan(t, "cp-1"))
	f.step(t)
	b, _ := json.Marshal(f.plan(t, "cp-1"))
	if string(a) != string(b) {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("differ at %d: %s\nvs\n%s", i, a[max(0, i-300):min(len(a), i+200)], b[max(0, i-300):min(len(b), i+200)])
			}
		}
	}
}
