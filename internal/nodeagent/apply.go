package nodeagent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/herdapi"
)

// progressFile holds, under Root, how far the agent got with a plan.
const progressFile = "plan-progress.json"

// Bounds of running instructions.
const (
	defaultInstructionTimeout = 5 * time.Minute
	maxInstructionTimeout     = time.Hour
	maxOutput                 = 16 << 10
	heartbeat                 = time.Minute
)

// progress is the agent's way through one plan revision.
type progress struct {
	Revision          string   `json:"revision"`
	Done              []string `json:"done,omitempty"`
	Tries             int32    `json:"tries,omitempty"`
	State             string   `json:"state"`
	FailedInstruction string   `json:"failedInstruction,omitempty"`
	Output            string   `json:"output,omitempty"`
}

// agent applies one machine's plans.
type agent struct {
	cfg    Config
	client *client
	cred   *credential
	log    *slog.Logger
	env    []string // of plan commands
	procs  supervisor

	last     herdapi.NodePlanStatus
	lastSent time.Time
	probes   map[string]bool // the last results, reported until the next
}

// loop applies the plan every Poll until ctx ends; then it stops the
// plan's processes.
func (a *agent) loop(ctx context.Context) error {
	a.procs.root, a.procs.versionsDir, a.procs.log, a.procs.env = a.cfg.Root, a.cfg.VersionsDir, a.log, a.env
	defer a.procs.stopAll()
	t := time.NewTicker(a.cfg.Poll)
	defer t.Stop()
	for {
		if err := a.step(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// step reads the plan, applies what is left of it, keeps its processes
// running, checks its probes and reports. Only a refused credential ends
// the agent.
func (a *agent) step(ctx context.Context) error {
	var plan herdapi.NodePlan
	err := a.client.do(ctx, http.MethodGet, "/v1/node/plan", a.cred.Credential, nil, &plan)
	var p permanent
	switch {
	case errors.Is(err, errNoContent):
		a.report(ctx, herdapi.NodePlanStatus{State: v1.PlanPending})
		return nil
	case errors.As(err, &p):
		return fmt.Errorf("Herd refuses machine %s (deleted?): %w; to register it again, remove %s",
			a.cred.MachineName, err, filepath.Join(a.cfg.Root, credentialFile))
	case err != nil:
		a.log.Warn("failed to read the plan; retrying", "err", err, "in", a.cfg.Poll)
		return nil
	}
	pr := a.apply(ctx, &plan)
	if pr.State == v1.PlanSucceeded {
		a.procs.reconcile(plan.Plan.Processes)
	}
	a.probes = a.probe(ctx, plan.Plan.Probes)
	a.report(ctx, herdapi.NodePlanStatus{Revision: pr.Revision, State: pr.State, Failures: pr.Tries,
		FailedInstruction: pr.FailedInstruction, Output: pr.Output, Probes: a.probes})
	return nil
}

// apply goes on with plan from where the agent stopped, and returns how
// far it got.
func (a *agent) apply(ctx context.Context, plan *herdapi.NodePlan) progress {
	pr := a.loadProgress()
	if pr.Revision != plan.Revision {
		pr = progress{Revision: plan.Revision, State: v1.PlanPending}
	}
	if pr.State == v1.PlanSucceeded || pr.State == v1.PlanFailed && int(pr.Tries) >= a.cfg.MaxTries {
		return pr
	}
	fail := func(name string, output string) progress {
		pr.Tries++
		pr.State, pr.FailedInstruction, pr.Output = v1.PlanFailed, name, output
		a.saveProgress(pr)
		a.log.Warn("plan instruction failed", "revision", short(pr.Revision), "instruction", name, "try", pr.Tries, "of", a.cfg.MaxTries,
			"output", output[max(0, len(output)-300):])
		return pr
	}
	if err := writeFiles(a.cfg.Root, plan.Plan.Files); err != nil {
		return fail("files", err.Error())
	}
	for i, in := range plan.Plan.Instructions {
		name := instructionName(in, i)
		if slices.Contains(pr.Done, name) {
			continue
		}
		pr.State = v1.PlanInProgress
		a.saveProgress(pr)
		a.report(ctx, herdapi.NodePlanStatus{Revision: pr.Revision, State: pr.State, Failures: pr.Tries, Probes: a.probes})
		out, err := runInstruction(ctx, a.cfg.Root, a.cfg.VersionsDir, a.env, in)
		if err != nil {
			return fail(name, out+"\n"+err.Error())
		}
		pr.Done, pr.Tries, pr.Output = append(pr.Done, name), 0, out
		a.saveProgress(pr)
	}
	pr.State, pr.FailedInstruction = v1.PlanSucceeded, ""
	a.saveProgress(pr)
	a.log.Info("plan applied", "revision", short(pr.Revision))
	return pr
}

func instructionName(in herdapi.PlanInstruction, i int) string {
	if in.Name != "" {
		return in.Name
	}
	return "#" + strconv.Itoa(i)
}

func short(rev string) string { return rev[:min(len(rev), 12)] }

func (a *agent) loadProgress() progress {
	var pr progress
	data, err := os.ReadFile(filepath.Join(a.cfg.Root, progressFile))
	if err == nil {
		_ = json.Unmarshal(data, &pr)
	}
	return pr
}

func (a *agent) saveProgress(pr progress) {
	data, _ := json.Marshal(pr)
	if err := certs.WriteFileAtomic(filepath.Join(a.cfg.Root, progressFile), data, 0o600); err != nil {
		a.log.Error("failed to keep the plan's progress", "err", err)
	}
}

// report sends st when it differs from the last report, or a minute
// after it (a heartbeat).
func (a *agent) report(ctx context.Context, st herdapi.NodePlanStatus) {
	if equalStatus(st, a.last) && time.Since(a.lastSent) < heartbeat {
		return
	}
	if err := a.client.do(ctx, http.MethodPut, "/v1/node/plan/status", a.cred.Credential, st, nil); err != nil {
		a.log.Warn("failed to report the plan's state", "err", err)
		return
	}
	a.last, a.lastSent = st, time.Now()
}

func equalStatus(x, y herdapi.NodePlanStatus) bool {
	return x.Revision == y.Revision && x.State == y.State && x.Failures == y.Failures &&
		x.FailedInstruction == y.FailedInstruction && x.Output == y.Output && maps.Equal(x.Probes, y.Probes)
}

// writeFiles writes the plan's files under root; a path must stay in it.
func writeFiles(root string, files []herdapi.PlanFile) error {
	for _, f := range files {
		if !filepath.IsLocal(f.Path) {
			return fmt.Errorf("file %q: a plan's file paths are relative to the machine's root and stay in it", f.Path)
		}
		path := filepath.Join(root, f.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		mode := os.FileMode(f.Mode) & 0o777
		if mode == 0 {
			mode = 0o600
		}
		if err := certs.WriteFileAtomic(path, f.Content, mode); err != nil {
			return fmt.Errorf("file %s: %w", f.Path, err)
		}
	}
	return nil
}

// runInstruction runs in in root, bounded by its timeout, and returns
// the end of its output.
func runInstruction(ctx context.Context, root, versionsDir string, env []string, in herdapi.PlanInstruction) (string, error) {
	timeout := defaultInstructionTimeout
	if in.TimeoutSeconds > 0 {
		timeout = min(time.Duration(in.TimeoutSeconds)*time.Second, maxInstructionTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	env, err := commandEnv(env, versionsDir, in.Env)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, lookPath(in.Command, env), in.Args...)
	cmd.Dir = root
	cmd.Env = env
	out := &tailBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("timed out after %s", timeout)
	}
	return out.String(), err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

var versionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)

// commandEnv is a plan command's environment: base with the command's
// own variables, and, when these name a Kubernetes version, that
// version's folder under versionsDir first on the PATH.
func commandEnv(base []string, versionsDir string, own []string) ([]string, error) {
	env := append(slices.Clone(base), own...)
	var version string
	for _, kv := range own {
		if v, ok := strings.CutPrefix(kv, herdapi.KubernetesVersionEnv+"="); ok {
			version = v
		}
	}
	if version == "" {
		return env, nil
	}
	dir := filepath.Join(versionsDir, version)
	if !versionRE.MatchString(version) {
		return nil, fmt.Errorf("%s=%.40q is not a Kubernetes version (vMAJOR.MINOR.PATCH)", herdapi.KubernetesVersionEnv, version)
	}
	if fi, err := os.Stat(filepath.Join(dir, "kube-apiserver")); versionsDir == "" || err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("Kubernetes %s is not on this machine: no binaries in %s (the node agent's --kube-versions-dir)", version, dir)
	}
	for i, kv := range env {
		if path, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + dir + string(os.PathListSeparator) + path
		}
	}
	return env, nil
}

// lookPath finds command on the PATH of env (exec.Command looks on this
// process's PATH).
func lookPath(command string, env []string) string {
	if strings.Contains(command, "/") {
		return command
	}
	for _, kv := range env {
		if path, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(path) {
				if fi, err := os.Stat(filepath.Join(dir, command)); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
					return filepath.Join(dir, command)
				}
			}
		}
	}
	return command
}
