package main

import (
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// systemBrowser opens URLs as the desktop does: with each command of
// $BROWSER (a colon-separated list; %s in a command stands for the URL),
// then with xdg-open (open on macOS).
type systemBrowser struct {
	getenv func(string) string
	goos   string
	// run starts a command and reports whether it failed at once.
	run func(name string, args ...string) error
}

// open opens rawURL, an http or https URL, in the first browser that starts.
func (b systemBrowser) open(rawURL string) error {
	var errs []error
	for _, argv := range b.commands(rawURL) {
		err := b.run(argv[0], argv[1:]...)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", argv[0], err))
	}
	return errors.Join(errs...)
}

// commands are the command lines to try, in order.
func (b systemBrowser) commands(rawURL string) [][]string {
	var out [][]string
	for _, entry := range strings.Split(b.getenv("BROWSER"), ":") {
		argv := strings.Fields(entry)
		if len(argv) == 0 {
			continue
		}
		replaced := false
		for i, arg := range argv {
			if strings.Contains(arg, "%s") {
				argv[i], replaced = strings.ReplaceAll(arg, "%s", rawURL), true
			}
		}
		if !replaced {
			argv = append(argv, rawURL)
		}
		out = append(out, argv)
	}
	opener := "xdg-open"
	if b.goos == "darwin" {
		opener = "open"
	}
	return append(out, []string{opener, rawURL})
}

// browserGrace is how long a browser command may take to fail: xdg-open
// exits at once with an error when it finds no browser, while a browser
// started directly runs on.
const browserGrace = 2 * time.Second

// runBrowser starts a command without a shell or terminal, and fails if
// it cannot start or exits with an error within browserGrace.
func runBrowser(name string, args ...string) error {
	cmd := exec.Command(name, args...) // stdin, stdout, stderr: the null device
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		return err
	case <-time.After(browserGrace):
		return nil
	}
}

// checkAuthURL accepts only http and https URLs for the browser, so that
// a server cannot have herdctl open files or other programs.
func checkAuthURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("the server sent a login URL that is not an http(s) URL (%.100q): is it a Herd server of a matching version?", raw)
	}
	return nil
}
