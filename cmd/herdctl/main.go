// Command herdctl is the user's CLI for Herd: it logs in to a Herd server
// (pinning its CA by checksum) and manages clusters, users, tokens, roles,
// projects, members and identity providers through the API in package herdapi. Its settings
// live in ~/.herd/config (HERDCONFIG overrides the path).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/term"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "herdctl:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stdinFD := int(os.Stdin.Fd())
	a := &app{
		stdin:      os.Stdin,
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		getenv:     os.Getenv,
		now:        time.Now,
		isTerminal: func() bool { return term.IsTerminal(stdinFD) },
		readPassword: func() (string, error) {
			pw, err := term.ReadPassword(stdinFD)
			return string(pw), err
		},
		openBrowser: systemBrowser{getenv: os.Getenv, goos: runtime.GOOS, run: runBrowser}.open,
	}
	root := newRootCommand(a)
	root.SetArgs(os.Args[1:])
	return root.ExecuteContext(ctx)
}
