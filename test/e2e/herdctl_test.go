package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
)

// herdctl runs the built herdctl with a config of its own.
type herdctl struct {
	t      testing.TB
	bin    string
	config string
}

func newHerdctl(t testing.TB) *herdctl {
	return &herdctl{t: t, bin: herdtest.Build(t, "../../cmd/herdctl", "herdctl"), config: filepath.Join(t.TempDir(), "herdctl-config")}
}

// env lets kubectl find this herdctl and its config (exec credentials).
func (h *herdctl) env() []string {
	return []string{"HERDCONFIG=" + h.config, "PATH=" + filepath.Dir(h.bin) + ":" + os.Getenv("PATH")}
}

// run runs herdctl with stdin and returns its standard output; it fails
// the test, with the standard error, when herdctl fails.
func (h *herdctl) run(stdin string, args ...string) string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = append(os.Environ(), "HERDCONFIG="+h.config)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("herdctl %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}
