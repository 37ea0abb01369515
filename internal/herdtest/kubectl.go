package herdtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/localcluster"
)

// Kubectl runs the kubectl that `make kube` built against one kubeconfig.
type Kubectl struct {
	// Kubeconfig is passed as --kubeconfig.
	Kubeconfig string
	// Env is added to kubectl's environment ("KEY=value").
	Env []string
}

// Run runs kubectl with args and fails the test if it does not succeed
// within a minute; it returns stdout.
func (k Kubectl) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, errOut, err := k.Exec(args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// Exec runs kubectl with args and returns stdout, stderr and the error.
func (k Kubectl) Exec(args ...string) (stdout, stderr string, err error) {
	return k.ExecStdin("", args...)
}

// ExecStdin is Exec with stdin.
func (k Kubectl) ExecStdin(stdin string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, localcluster.KubectlPath(""), append([]string{"--kubeconfig=" + k.Kubeconfig}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), k.Env...)
	err = cmd.Run()
	return o.String(), e.String(), err
}

// Kubectl is a kubectl that reaches cluster (local: the management
// cluster) through s's proxy with token.
func (s *Server) Kubectl(t testing.TB, cluster, token string) Kubectl {
	t.Helper()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, s.CABundle(), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: " + s.URL + "/k8s/clusters/" + cluster + ", certificate-authority: " + ca + "}}]\n" +
		"users: [{name: u, user: {token: \"" + token + "\"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return Kubectl{Kubeconfig: path}
}
