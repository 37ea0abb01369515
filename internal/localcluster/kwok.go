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
// ClusterLogs, ClusterExec and ClusterPortForward so that `kubectl logs`,
// `exec` and `port-forward` reach every pod. Exec runs the command on this
// machine in <dir>/exec; every pod port forwards to the cluster's own
// kube-apiserver (127.0.0.1:apiPort), a real server for clients to reach.
func writeKwokConfig(dir, binDir string, apiPort int) (string, error) {
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
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterPortForward
metadata:
  name: herd-port-forward
spec:
  forwards:
  - target:
      address: 127.0.0.1
      port: %d
`, logFile, execDir, apiPort)
	path := filepath.Join(dir, "kwok", "kwok.yaml")
	return path, certs.WriteFileAtomic(path, []byte(b.String()), 0o600)
}
