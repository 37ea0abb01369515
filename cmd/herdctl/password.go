package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// readLine reads one line of stdin without its line ending. Reads share
// one buffer, so a command can take several lines.
func (a *app) readLine() (string, error) {
	if a.in == nil {
		a.in = bufio.NewReader(a.stdin)
	}
	line, err := a.in.ReadString('\n')
	if errors.Is(err, io.EOF) && line != "" {
		err = nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// readSecret reads a password called what: the next line of stdin with
// fromStdin, else from a prompt without echo when stdin is a terminal
// (twice with confirm, for new passwords).
func (a *app) readSecret(fromStdin bool, what string, confirm bool) (string, error) {
	if fromStdin {
		s, err := a.readLine()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("no %s on stdin", what)
		}
		if err != nil {
			return "", fmt.Errorf("failed to read the %s from stdin: %w", what, err)
		}
		if s == "" {
			return "", fmt.Errorf("the %s read from stdin is empty", what)
		}
		return s, nil
	}
	if a.isTerminal == nil || !a.isTerminal() {
		return "", fmt.Errorf("stdin is not a terminal to prompt on: use --password-stdin and pass the %s on stdin", what)
	}
	s, err := a.prompt(strings.ToUpper(what[:1]) + what[1:] + ": ")
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", fmt.Errorf("the %s is empty", what)
	}
	if confirm {
		again, err := a.prompt("Repeat the " + what + ": ")
		if err != nil {
			return "", err
		}
		if again != s {
			return "", fmt.Errorf("the two %ss differ", what)
		}
	}
	return s, nil
}

func (a *app) prompt(label string) (string, error) {
	fmt.Fprint(a.stderr, label)
	s, err := a.readPassword()
	fmt.Fprintln(a.stderr)
	if err != nil {
		return "", fmt.Errorf("failed to read from the terminal: %w", err)
	}
	return s, nil
}
