package herdtest

import (
	"testing"
	"time"
)

// Eventually polls check every 50 ms until it returns nil and returns how
// long that took; after timeout it fails the test with the last error.
func Eventually(t testing.TB, what string, timeout time.Duration, check func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := check()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not so after %s: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
