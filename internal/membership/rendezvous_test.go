package membership

import (
	"fmt"
	"testing"
)

// TestOwner: keys spread evenly, a replica joining takes about 1/N of
// them and only from the others, a replica leaving hands out only its own.
func TestOwner(t *testing.T) {
	const keys = 10000
	three := []string{"herd-0", "herd-1", "herd-2"}
	four := append([]string{"herd-3"}, three...) // order does not matter
	count := map[string]int{}
	moved := 0
	for i := range keys {
		key := fmt.Sprintf("cluster-%d", i)
		before, after := Owner(three, key), Owner(four, key)
		count[before]++
		if before != after {
			moved++
			if after != "herd-3" {
				t.Fatalf("%s moved from %s to %s, not to the replica that joined", key, before, after)
			}
		}
		if gone := Owner(three[1:], key); before != "herd-0" && gone != before {
			t.Fatalf("%s moved from %s to %s when herd-0 left", key, before, gone)
		}
	}
	for r, n := range count {
		if n < keys/3*85/100 || n > keys/3*115/100 {
			t.Errorf("%s owns %d of %d keys, want about a third", r, n, keys)
		}
	}
	if moved < keys/4*85/100 || moved > keys/4*115/100 {
		t.Errorf("a fourth replica took %d of %d keys, want about a quarter", moved, keys)
	}
	if got := Owner(nil, "x"); got != "" {
		t.Errorf("no replicas: owner %q", got)
	}
}
