package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

// cli runs herdctl in-process against the real API (backend), with its own HOME and
// HERDCONFIG.
type cli struct {
	t      *testing.T
	srv    *backend
	home   string
	config string
	env    map[string]string
	// terminal, if set, makes stdin a terminal whose prompts answer these lines.
	terminal []string
	// browser, if set, is the user's browser.
	browser func(url string) error
	// stderrTee, if set, reads stderr as herdctl writes it.
	stderrTee io.Writer
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	home := t.TempDir()
	c := &cli{t: t, srv: newBackend(t), home: home, config: filepath.Join(home, "herdconfig")}
	c.env = map[string]string{"HOME": home, configEnv: c.config}
	return c
}

// run runs herdctl with args and stdin and returns stdout, stderr and the error.
func (c *cli) run(stdin string, args ...string) (string, string, error) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	var stderr io.Writer = &errOut
	if c.stderrTee != nil {
		stderr = io.MultiWriter(&errOut, c.stderrTee)
	}
	a := &app{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: stderr, openBrowser: c.browser,
		getenv:     func(k string) string { return c.env[k] },
		now:        func() time.Time { return testNow },
		isTerminal: func() bool { return c.terminal != nil },
		readPassword: func() (string, error) {
			line := c.terminal[0]
			c.terminal = c.terminal[1:]
			return line, nil
		},
	}
	root := newRootCommand(a)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// ok runs herdctl and fails the test on an error.
func (c *cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatalf("herdctl %s: %v (stderr %q)", strings.Join(args, " "), err, errOut)
	}
	return out
}

// fails runs herdctl and checks that it fails with an error containing want.
func (c *cli) fails(want, stdin string, args ...string) {
	c.t.Helper()
	_, _, err := c.run(stdin, args...)
	if err == nil || !strings.Contains(err.Error(), want) {
		c.t.Errorf("herdctl %s: got error %v, want one containing %q", strings.Join(args, " "), err, want)
	}
}

// login logs in as user with the CA pinned.
func (c *cli) login(user, password string) {
	c.t.Helper()
	c.ok(password+"\n", "login", c.srv.URL, "--username", user, "--password-stdin", "--ca-checksum", herdclient.Checksum(c.srv.CAPEM()))
}

func (c *cli) readConfig() fileConfig {
	c.t.Helper()
	data, err := os.ReadFile(c.config)
	if err != nil {
		c.t.Fatal(err)
	}
	var cfg fileConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		c.t.Fatal(err)
	}
	return cfg
}

// cmdTest is one herdctl command line against the backend: the
// requests it sends and what it prints, or the error it fails with.
type cmdTest struct {
	name string
	args []string
	// stdout and stderr are the whole output; with wantErr, stdout is a
	// part of the error instead.
	stdout, stderr string
	wantErr        bool
	// requests are "METHOD URI[ BODY]" of the requests sent, in order.
	requests []string
}

// runTests runs the tests in order on one CLI: each sees what the earlier
// ones changed.
func (c *cli) runTests(t *testing.T, tests []cmdTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(c.srv.Requests(0))
			out, errOut, err := c.run("", tt.args...)
			switch {
			case tt.wantErr && (err == nil || !strings.Contains(err.Error(), tt.stdout)):
				t.Errorf("herdctl %s: got error %v, want one containing %q", strings.Join(tt.args, " "), err, tt.stdout)
			case !tt.wantErr && err != nil:
				t.Errorf("herdctl %s: got error %v, want none", strings.Join(tt.args, " "), err)
			case !tt.wantErr && out != tt.stdout:
				t.Errorf("stdout: got\n%s\nwant\n%s", out, tt.stdout)
			}
			if errOut != tt.stderr {
				t.Errorf("stderr: got %q, want %q", errOut, tt.stderr)
			}
			var got []string
			for _, r := range c.srv.Requests(before) {
				got = append(got, strings.TrimSpace(r.Method+" "+r.URI+" "+r.Body))
			}
			if strings.Join(got, "\n") != strings.Join(tt.requests, "\n") {
				t.Errorf("requests: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.requests, "\n"))
			}
		})
	}
}

// clusters are the named clusters as the API shows them to an admin.
func (c *cli) clusters(names ...string) herdapi.ClusterList {
	c.t.Helper()
	admin := c.srv.Login(c.t, "alice", "s3cret")
	defer func() { _ = admin.Logout(context.Background()) }()
	list := herdapi.ClusterList{Items: []herdapi.Cluster{}}
	for _, name := range names {
		cl, err := admin.GetCluster(context.Background(), name)
		if err != nil {
			c.t.Fatal(err)
		}
		list.Items = append(list.Items, *cl)
	}
	return list
}

// liveTokens are the names of the tokens the server holds, oldest first.
func (c *cli) liveTokens() []string {
	c.t.Helper()
	var list v1.TokenList
	if err := c.srv.Client.List(context.Background(), &list); err != nil {
		c.t.Fatal(err)
	}
	slices.SortFunc(list.Items, func(a, b v1.Token) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	var names []string
	for _, tok := range list.Items {
		names = append(names, tok.Name)
	}
	return names
}

// userNamed is the object name of the user with username.
func userNamed(t *testing.T, c *cli, username string) string {
	t.Helper()
	var list v1.UserList
	if err := c.srv.Client.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	for _, u := range list.Items {
		if u.Spec.Username == username {
			return u.Name
		}
	}
	t.Fatalf("no user %s", username)
	return ""
}

// containsLine reports whether a line of out has these fields, in order,
// among its columns.
func containsLine(out string, fields ...string) bool {
	for line := range strings.Lines(out) {
		cols := strings.Fields(line)
		i := 0
		for _, col := range cols {
			if i < len(fields) && col == fields[i] {
				i++
			}
		}
		if i == len(fields) {
			return true
		}
	}
	return false
}
