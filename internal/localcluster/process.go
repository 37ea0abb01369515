package localcluster

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// process is one child component of a cluster.
type process struct {
	name    string
	cmd     *exec.Cmd
	pidFile string
	logPath string
	done    chan struct{} // closed when the process has exited
	err     error         // why it exited; valid after done
}

// startProcess starts bin with args, its output appended to
// <dir>/logs/<name>.log. The child is in its own process group and is
// killed by the kernel if this process dies, so a crashed test or
// supervisor never leaves it running.
func startProcess(dir, name, bin string, args []string, log *slog.Logger) (*process, error) {
	logPath := filepath.Join(dir, "logs", name+".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if os.Getenv("GOGC") == "" {
		// A tighter heap: about 10% less memory per cluster for little CPU.
		cmd.Env = append(cmd.Env, "GOGC=50")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start %s: %w", name, err)
	}
	p := &process{
		name:    name,
		cmd:     cmd,
		pidFile: filepath.Join(dir, "run", name+".pid"),
		logPath: logPath,
		done:    make(chan struct{}),
	}
	if err := os.WriteFile(p.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		log.Warn("failed to write pid file", "component", name, "err", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	log.Debug("started component", "component", name, "pid", cmd.Process.Pid)
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to grace, then kills the whole process group.
func (p *process) stop(grace time.Duration) {
	defer os.Remove(p.pidFile)
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	// Anything the component itself spawned goes with its group.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}
