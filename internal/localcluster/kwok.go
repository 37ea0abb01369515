package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"herd.dev/herd/internal/certs"
)

// podLogLine is what `kubectl logs` shows for every container on a kwok
// node; kwok serves the file in the CRI log format.
const podLogLine = "herd local cluster: container started on a kwok node"

// writeKwokConfig writes kwok's configuration: the node and pod stages of
// the pinned kwok version (kwok-stages.yaml from `make kube`), plus
// ClusterLogs and ClusterExec so that `kubectl logs` and `kubectl exec`
// reach every pod. Exec runs the command on this machine in <dir>/exec.
func writeKwokConfig(dir, binDir string) (string, error) {
	stages, err := os.ReadFile(filepath.Join(binDir, kwokStages))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBinary, err)
	}
	logFile := filepath.Join(dir, "kwok", "pod.log")
	execDir := filepath.Join(dir, "kwok", "exec")
	if err := os.MkdirAll(execDir, 0o700); err != nil {
		return "", err
	}
	line := fmt.Sprintf("%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), podLogLine)
	if err := os.WriteFile(logFile, []byte(line), 0o600); err != nil {
		return "", err
	}
	var b strings.Builder
	b.Write(stages)
	fmt.Fprintf(&b, `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: herd-logs
spec:
  logs:
  - logsFile: %q
    follow: true
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata:
  name: herd-exec
spec:
  execs:
  - local:
      workDir: %q
`, logFile, execDir)
	path := filepath.Join(dir, "kwok", "kwok.yaml")
	return path, certs.WriteFileAtomic(path, []byte(b.String()), 0o600)
}
