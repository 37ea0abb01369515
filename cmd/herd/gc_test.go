package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"testing"
)

// herd server collects garbage at serverGCPercent unless GOGC says
// otherwise.
func TestSetGCPercent(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	restore := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(restore) })

	t.Setenv("GOGC", "80") // restored after the test, unset below
	setGCPercent(log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the GC percent became %d, want it left at 100", got)
	}

	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	setGCPercent(log)
	if got := debug.SetGCPercent(100); got != serverGCPercent {
		t.Errorf("without GOGC, the GC percent is %d, want %d", got, serverGCPercent)
	}
}
