package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/wellknown"
)

// The control-plane node. With Config.ControlPlaneNode, real node 0 is
// where the cluster's kube-apiserver "runs", as on a real cluster: it is
// labelled and tainted node-role.kubernetes.io/control-plane, and the
// kube-apiserver asks the authorized cluster endpoint's webhook where a
// control-plane node has it, on 127.0.0.1:wellknown.KubeAPIAuthPort with
// its certificate in wellknown.KubeAPIAuthCertDir. That is what Herd's
// import manifest runs there (`herd kube-api-auth` as a DaemonSet in the
// host's network), so nobody starts it by hand.
//
// Real nodes share this host's network and files, so that port and
// directory exist once per host: one running local cluster at a time has a
// control-plane node. It holds a lock under runRoot for as long as it runs
// (the kernel drops it when the process dies); another gets
// ErrControlPlaneNodeTaken.
const (
	controlPlaneRole  = "node-role.kubernetes.io/control-plane"
	controlPlaneClaim = "control-plane"
	claimOwnerFile    = "owner"
)

// ErrControlPlaneNodeTaken: another running local cluster of this host has
// the control-plane node.
var ErrControlPlaneNodeTaken = errors.New("localcluster: another local cluster has this host's control-plane node")

// cpSlot is where a host keeps its control-plane node: the claim's
// lock and the webhook's certificate directory.
type cpSlot struct{ claimDir, certDir string }

func hostCPSlot() cpSlot {
	return cpSlot{claimDir: filepath.Join(runRoot, controlPlaneClaim), certDir: wellknown.KubeAPIAuthCertDir}
}

// claimControlPlaneNode takes the host's control-plane node for c, or
// says which cluster has it.
func (c *Cluster) claimControlPlaneNode() error {
	if !c.cfg.ControlPlaneNode {
		return nil
	}
	lf, err := hostCPSlot().claim(c.cfg.Dir, c.AuthWebhookCertFile(), c.AuthWebhookKeyFile())
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.cpClaim = lf
	c.mu.Unlock()
	return nil
}

// releaseControlPlaneNode frees the claim, if c holds it.
func (c *Cluster) releaseControlPlaneNode() {
	c.mu.Lock()
	lf := c.cpClaim
	c.cpClaim = nil
	c.mu.Unlock()
	if lf != nil {
		hostCPSlot().release(lf)
	}
}

// claim locks the slot for the cluster in dir and puts the webhook's
// serving certificate and key where the import manifest's kube-api-auth
// reads them, owned by the image's user. The lock lasts as long as the
// returned file is open, or the process lives.
func (s cpSlot) claim(dir, certFile, keyFile string) (*os.File, error) {
	if err := os.MkdirAll(s.claimDir, 0o700); err != nil {
		return nil, err
	}
	lf, err := lock(s.claimDir)
	if errors.Is(err, ErrRunning) {
		owner, _ := os.ReadFile(filepath.Join(s.claimDir, claimOwnerFile))
		return nil, fmt.Errorf("%w: the local cluster in %s holds 127.0.0.1:%d and %s; stop it (herd local-cluster delete) or start this one without --control-plane-node",
			ErrControlPlaneNodeTaken, strings.TrimSpace(string(owner)), wellknown.KubeAPIAuthPort, s.certDir)
	}
	if err != nil {
		return nil, err
	}
	if err := s.install(dir, certFile, keyFile); err != nil {
		s.release(lf)
		return nil, err
	}
	return lf, nil
}

func (s cpSlot) install(dir, certFile, keyFile string) error {
	if err := certs.WriteFileAtomic(filepath.Join(s.claimDir, claimOwnerFile), []byte(dir+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.MkdirAll(s.certDir, 0o755); err != nil {
		return fmt.Errorf("failed to create %s: %w", s.certDir, err)
	}
	for src, dst := range map[string]string{certFile: "tls.crt", keyFile: "tls.key"} {
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		path := filepath.Join(s.certDir, dst)
		if err := certs.WriteFileAtomic(path, data, 0o400); err != nil {
			return err
		}
		if err := os.Chown(path, wellknown.ImageUID, wellknown.ImageUID); err != nil {
			return fmt.Errorf("failed to give %s to the image's user: %w", path, err)
		}
	}
	return nil
}

// release removes the certificate and the owner, and unlocks.
func (s cpSlot) release(lf *os.File) {
	for _, f := range []string{"tls.crt", "tls.key"} {
		_ = os.Remove(filepath.Join(s.certDir, f))
	}
	_ = syscall.Rmdir(s.certDir) // only if empty, as its parent
	_ = syscall.Rmdir(filepath.Dir(s.certDir))
	_ = os.Remove(filepath.Join(s.claimDir, claimOwnerFile))
	_ = lf.Close()
}

// markControlPlaneNode labels real node 0 with its role once it has
// registered (a kubelet may not set node-role labels on itself; it
// registers with the taint, which the kubelet config sets).
func (c *Cluster) markControlPlaneNode(ctx context.Context, client kubernetes.Interface) error {
	if !c.cfg.ControlPlaneNode {
		return nil
	}
	name := c.RealNodeNames()[0]
	patch := []byte(`{"metadata":{"labels":{"` + controlPlaneRole + `":""}}}`)
	return c.poll(ctx, "labelling "+name+" as the control-plane node", func(ctx context.Context) error {
		_, err := client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
}

// registerWithTaints are the taints real node i registers with: every
// real node reaches no registry, and the control-plane node keeps
// workloads that do not tolerate its role away.
func (c *Cluster) registerWithTaints(i int) []corev1.Taint {
	taints := []corev1.Taint{{Key: NoRegistryTaint, Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	if c.cfg.ControlPlaneNode && i == 0 {
		taints = append(taints, corev1.Taint{Key: controlPlaneRole, Effect: corev1.TaintEffectNoSchedule})
	}
	return taints
}
