package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestMain runs herd-pause itself when the tests start this test binary
// with HERD_PAUSE_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("HERD_PAUSE_MAIN") == "1" {
		// As main, but say on stdout when the handlers are in place.
		if err := run(func() { fmt.Println("ready") }); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestExitsZeroOnSignal(t *testing.T) {
	tests := []struct {
		name string
		sig  syscall.Signal
	}{
		{"SIGTERM", syscall.SIGTERM},
		{"SIGINT", syscall.SIGINT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "HERD_PAUSE_MAIN=1")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// A signal sent before the handlers are in place would kill it.
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if line != "ready\n" {
				cmd.Process.Kill()
				t.Fatalf("herd-pause said %q (%v), want ready", line, err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("herd-pause ended with %v after %v, want exit status 0", err, tt.sig)
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("herd-pause still runs 10s after %v", tt.sig)
			}
		})
	}
}

func TestReapCollectsZombies(t *testing.T) {
	var pids []int
	for range 3 {
		cmd := exec.Command("true")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, cmd.Process.Pid) // not waited for: a zombie once it ends
	}
	var reaped []int
	deadline := time.Now().Add(10 * time.Second)
	for len(reaped) < len(pids) && time.Now().Before(deadline) {
		reaped = append(reaped, reap()...)
		time.Sleep(10 * time.Millisecond)
	}
	slices.Sort(pids)
	slices.Sort(reaped)
	if !slices.Equal(reaped, pids) {
		t.Fatalf("reap() collected %v, want %v", reaped, pids)
	}
	for _, pid := range pids {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("process %d still exists after reap", pid)
		}
	}
}
