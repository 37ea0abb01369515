package localcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"herd.dev/herd/internal/certs"
)

// stateFile marks a directory as a Herd local cluster and records what a
// restart needs to find again.
const stateFile = "herd-local-cluster.json"

const stateKind = "HerdLocalCluster"

type state struct {
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Version    string    `json:"kubernetesVersion"`
	Ports      ports     `json:"ports"`
	CreatedAt  time.Time `json:"createdAt"`
	Kubeconfig string    `json:"kubeconfig"`
	// Subnet is the real-node address block's number; zero: none.
	Subnet int `json:"subnet,omitempty"`
}

// readState returns the state of dir; (nil, nil) when dir is missing or
// empty; ErrForeignDir when dir holds anything else.
func readState(dir string) (*state, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read state directory %s: %w", dir, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is not empty and has no %s: choose another --state-dir, or empty it yourself if you are sure it holds nothing you need", ErrForeignDir, dir, stateFile)
	}
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil || s.Kind != stateKind {
		return nil, fmt.Errorf("%w: %s has an unreadable %s: choose another --state-dir", ErrForeignDir, dir, stateFile)
	}
	return &s, nil
}

func writeState(dir string, s *state) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return certs.WriteFileAtomic(filepath.Join(dir, stateFile), append(data, '\n'), 0o600)
}

// lock takes an exclusive lock on dir, held until the returned file is
// closed or the process ends. It fails at once if another process holds it.
func lock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%w: another process holds %s", ErrRunning, filepath.Join(dir, "lock"))
	}
	return f, nil
}

// locked reports whether some process holds dir's lock, i.e. the cluster runs.
func locked(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// killOrphans kills component processes that a crashed earlier run of this
// cluster left behind. A pid counts only if its command line names dir, so
// a recycled pid of an unrelated process is never touched.
func killOrphans(dir string) []int {
	files, _ := filepath.Glob(filepath.Join(dir, "run", "*.pid"))
	var killed []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err == nil && pid > 1 && processMentions(pid, dir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			killed = append(killed, pid)
		}
		_ = os.Remove(f)
	}
	return killed
}

func processMentions(pid int, s string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(cmdline), s)
}
