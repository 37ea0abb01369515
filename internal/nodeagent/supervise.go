package nodeagent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"herd.dev/herd/internal/herdapi"
)

// restartBackoff is how long an exited process waits before it starts
// again.
const restartBackoff = 5 * time.Second

// supervisor keeps a plan's processes running.
type supervisor struct {
	root        string
	versionsDir string
	env         []string
	log         *slog.Logger
	procs       map[string]*proc
}

// proc is one running (or exited) process of the plan.
type proc struct {
	spec    string // the PlanProcess as JSON: a change restarts it
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// reconcile stops the processes that left the plan or changed, and starts
// those missing or exited (after restartBackoff).
func (s *supervisor) reconcile(specs []herdapi.PlanProcess) {
	if s.procs == nil {
		s.procs = map[string]*proc{}
	}
	want := map[string]string{}
	for _, sp := range specs {
		data, _ := json.Marshal(sp)
		want[sp.Name] = string(data)
	}
	for name, p := range s.procs {
		if want[name] != p.spec {
			s.stop(name, p)
		}
	}
	for _, sp := range specs {
		p := s.procs[sp.Name]
		if p != nil && !p.exited() {
			continue
		}
		if p != nil && time.Since(p.started) < restartBackoff {
			continue
		}
		if p != nil {
			s.log.Warn("plan process exited; starting it again", "process", sp.Name, "err", p.cmd.ProcessState)
		}
		if err := s.start(sp, want[sp.Name]); err != nil {
			s.log.Error("failed to start a plan process", "process", sp.Name, "err", err)
		}
	}
}

// start runs sp with its output appended to <root>/logs/<name>.log. It
// dies with the node agent.
func (s *supervisor) start(sp herdapi.PlanProcess, spec string) error {
	if err := os.MkdirAll(filepath.Join(s.root, "logs"), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(s.root, "logs", filepath.Base(sp.Name)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	env, err := commandEnv(s.env, s.versionsDir, sp.Env)
	if err != nil {
		return err
	}
	cmd := exec.Command(lookPath(sp.Command, env), sp.Args...)
	cmd.Dir = s.root
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &proc{spec: spec, cmd: cmd, started: time.Now(), done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	s.procs[sp.Name] = p
	s.log.Info("plan process started", "process", sp.Name, "pid", cmd.Process.Pid)
	return nil
}

// stop ends a process and its group: SIGTERM, SIGKILL after 10 s.
func (s *supervisor) stop(name string, p *proc) {
	delete(s.procs, name)
	if !p.exited() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	s.log.Info("plan process stopped", "process", name)
}

// stopAll stops every process of the plan.
func (s *supervisor) stopAll() {
	for name, p := range s.procs {
		s.stop(name, p)
	}
}

// probe runs the plan's probes and says which pass.
func (a *agent) probe(ctx context.Context, probes []herdapi.PlanProbe) map[string]bool {
	if len(probes) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, p := range probes {
		err := runProbe(ctx, a.cfg.Root, p)
		out[p.Name] = err == nil
		if err != nil {
			a.log.Debug("probe fails", "probe", p.Name, "err", err)
		}
	}
	return out
}

func runProbe(ctx context.Context, root string, p herdapi.PlanProbe) error {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.CACert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(p.CACert)) {
			return fmt.Errorf("probe %s: caCert holds no certificate", p.Name)
		}
		tlsConfig.RootCAs = pool
	}
	if p.ClientCert != "" {
		if !filepath.IsLocal(p.ClientCert) || !filepath.IsLocal(p.ClientKey) {
			return fmt.Errorf("probe %s: client certificate and key paths are relative to the machine's root", p.Name)
		}
		pair, err := tls.LoadX509KeyPair(filepath.Join(root, p.ClientCert), filepath.Join(root, p.ClientKey))
		if err != nil {
			return err
		}
		tlsConfig.Certificates = []tls.Certificate{pair}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return err
	}
	tr := &http.Transport{TLSClientConfig: tlsConfig}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	want := p.ExpectStatus
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return fmt.Errorf("probe %s: %s, want %d", p.Name, resp.Status, want)
	}
	return nil
}
