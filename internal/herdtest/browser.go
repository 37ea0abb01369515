package herdtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPaths are where Debian's chromium package puts the browser: the
// binary itself first (the wrapper script in /usr/bin only adds flags).
var chromiumPaths = []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium"}

// findChromium finds Debian's Chromium, installing it with
// hack/install-deps.sh when it is missing (as the LDAP tests install slapd).
func findChromium(ctx context.Context) (string, error) {
	look := func() string {
		for _, p := range chromiumPaths {
			if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
				return p
			}
		}
		return ""
	}
	if p := look(); p != "" {
		return p, nil
	}
	root, err := slapdModuleRoot()
	if err != nil {
		return "", fmt.Errorf("chromium not found, and no install script: %w", err)
	}
	out, err := exec.CommandContext(ctx, "bash", filepath.Join(root, "hack", "install-deps.sh"), "chromium").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("chromium not found; hack/install-deps.sh chromium failed: %w\n%s", err, out)
	}
	if p := look(); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("chromium not found in %s after installing it", strings.Join(chromiumPaths, ", "))
}

// Browser is a headless Chromium for one test, with a profile of its own
// in a temporary directory. The kernel kills it if the test binary dies;
// the test's cleanup stops it otherwise.
type Browser struct {
	ctx       context.Context
	artifacts string
}

// StartBrowser starts Chromium. It trusts the test servers' generated
// certificates (it ignores certificate errors, as no system CA signed
// them). Screenshots go to _output/artifacts/<test name>/ of this module.
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	path, err := findChromium(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	root, err := slapdModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b := &Browser{ctx: ctx, artifacts: filepath.Join(root, "_output", "artifacts", strings.ReplaceAll(t.Name(), "/", "_"))}
	if err := os.MkdirAll(b.artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	return b
}

// Tab is one page of the browser. Tabs from NewTab have separate cookies.
type Tab struct {
	ctx context.Context
	b   *Browser
}

// NewTab opens a tab in a browser context of its own (its own cookies,
// like a private window), closed when the test ends.
func (b *Browser) NewTab(t testing.TB) *Tab {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &Tab{ctx: ctx, b: b}
}

// Do runs actions in the tab, each step within timeout in all.
func (tb *Tab) Do(t testing.TB, timeout time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.Screenshot(t, "failed-"+strings.ReplaceAll(what, " ", "-"))
		t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression in the tab's page (awaiting it
// when it is a promise).
func Eval[T any](t testing.TB, tb *Tab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// WaitText waits until the text of the first element that matches the
// CSS selector contains want, and returns that text.
func (tb *Tab) WaitText(t testing.TB, selector, want string, timeout time.Duration) string {
	t.Helper()
	var last string
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
			`(() => { const e = document.querySelector(%q); return e ? e.textContent : ''; })()`, selector)))
		cancel()
		if err == nil && strings.Contains(text, want) {
			return text
		}
		last = text
		if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			tb.Screenshot(t, "failed-wait")
			t.Fatalf("%s does not contain %q after %s; it holds %q", selector, want, timeout, truncateText(last, 600))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Screenshot saves a PNG of the whole page as NAME.png among the test's
// artifacts.
func (tb *Tab) Screenshot(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(tb.b.artifacts, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}
