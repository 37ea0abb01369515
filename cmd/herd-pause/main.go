// Command herd-pause is the pod sandbox ("pause") process of Herd's local
// real nodes, the program of the image herd/pause. It holds the pod's
// namespaces open: it blocks until SIGINT or SIGTERM and then exits 0.
// As PID 1 of the pod it also reaps zombie children (orphans of the pod's
// containers when they share its PID namespace). It takes no flags and
// ignores its arguments; `make image` builds it static.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(nil); err != nil {
		fmt.Fprintln(os.Stderr, "herd-pause:", err)
		os.Exit(1)
	}
}

// run blocks until SIGINT or SIGTERM, reaping children on SIGCHLD. The
// kernel does not deliver to PID 1 the signals it has no handler for;
// signal.Notify installs the handlers; then ready, if not nil, is called.
func run(ready func()) error {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	if ready != nil {
		ready()
	}
	reap() // children that ended before Notify
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			return nil
		}
		reap()
	}
	return nil
}

// reap waits for every child that has ended, so that none stays a zombie,
// and returns their PIDs. SIGCHLDs coalesce, hence the loop.
func reap() []int {
	var pids []int
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return pids
		}
		pids = append(pids, pid)
	}
}
