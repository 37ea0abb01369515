package localcluster

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Config describes one local cluster. Zero values are documented per field.
type Config struct {
	// Name names the cluster: a DNS label (lowercase letters, digits, '-';
	// at most 40 characters). Required.
	Name string
	// Dir holds all of the cluster's state: PKI, etcd data, logs and the
	// admin kubeconfig. It must be empty, missing, or a directory that an
	// earlier run of this cluster left. Required.
	Dir string
	// BinDir holds kube-apiserver, kube-controller-manager, kube-scheduler,
	// kwok and kwok-stages.yaml as `make kube` builds them. Empty: DefaultBinDir().
	BinDir string
	// Nodes lists the fake nodes to register. Empty: DefaultNodes(Name, 1).
	Nodes []NodeSpec
	// RealNodes is how many real nodes (a kubelet with containerd and
	// runc each) to run beside the kwok nodes, at most 8. Zero: none.
	RealNodes int
	// ControlPlaneNode makes real node 0 the cluster's control-plane node,
	// where the kube-apiserver expects the authorized cluster endpoint's
	// webhook as Herd's import manifest runs it (see controlplanenode.go).
	// One running local cluster per host can have it. False: the webhook
	// is expected on a port of the cluster's own (AuthWebhookListen).
	ControlPlaneNode bool
	// Images are image archives (OCI or docker-archive tars) to import
	// into every real node; one must hold SandboxImage(). Real nodes reach
	// no registry: they run only these images.
	Images []string
	// APIServerPort is the kube-apiserver's secure port on 127.0.0.1.
	// Zero: the port of the previous run if it is free, else a free one.
	APIServerPort int
	// ExtraAPIServerArgs are appended to kube-apiserver's command line
	// ("--flag=value"), after Herd's own, so they win.
	ExtraAPIServerArgs []string
	// StartTimeout bounds Start. Zero: 2 minutes.
	StartTimeout time.Duration
	// Logger receives progress and failures. Nil: discard.
	Logger *slog.Logger
}

// NodeSpec describes one fake node that kwok keeps Ready.
type NodeSpec struct {
	// Name of the Node object. Required.
	Name string
	// Roles become node-role.kubernetes.io/<role> labels.
	Roles []string
	// Labels are added to the node.
	Labels map[string]string
	// CPU, Memory and Pods are the node's capacity. Empty: "8", "32Gi", "110".
	CPU, Memory, Pods string
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// Errors that callers can test with errors.Is.
var (
	ErrInvalidConfig = errors.New("localcluster: invalid configuration")
	ErrBinary        = errors.New("localcluster: Kubernetes binaries missing or of the wrong version")
	ErrPortInUse     = errors.New("localcluster: port in use")
	ErrForeignDir    = errors.New("localcluster: state directory is not a Herd local cluster")
	ErrRunning       = errors.New("localcluster: cluster is already running")
	ErrNotFound      = errors.New("localcluster: no such cluster")
	ErrExists        = errors.New("localcluster: cluster already exists")
)

// ValidateName reports whether name can name a local cluster.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: cluster name %q must be 1-40 lowercase letters, digits or '-', starting and ending with a letter or digit", ErrInvalidConfig, name)
	}
	return nil
}

// Validate checks the configuration; errors name the field at fault.
func (c *Config) Validate() error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	if c.Dir == "" {
		return fmt.Errorf("%w: Dir (--state-dir) is required", ErrInvalidConfig)
	}
	if !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("%w: Dir (--state-dir) %q must be an absolute path", ErrInvalidConfig, c.Dir)
	}
	if c.APIServerPort < 0 || c.APIServerPort > 65535 {
		return fmt.Errorf("%w: APIServerPort (--port) %d is not a TCP port", ErrInvalidConfig, c.APIServerPort)
	}
	if c.RealNodes < 0 || c.RealNodes > maxRealNodes {
		return fmt.Errorf("%w: RealNodes (--real-nodes) %d must be between 0 and %d", ErrInvalidConfig, c.RealNodes, maxRealNodes)
	}
	if c.ControlPlaneNode && c.RealNodes == 0 {
		return fmt.Errorf("%w: the control-plane node (--control-plane-node) is a real node: add at least one (--real-nodes)", ErrInvalidConfig)
	}
	if c.RealNodes > 0 && len(c.Images) == 0 {
		return fmt.Errorf("%w: real nodes run only imported images: give at least the archive that holds %s (Images, --image-archive; `make image` builds it)", ErrInvalidConfig, SandboxImage())
	}
	for _, img := range c.Images {
		if fi, err := os.Stat(img); err != nil || !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: image archive %s is not a readable file: build it with `make image`", ErrInvalidConfig, img)
		}
	}
	seen := map[string]bool{}
	for _, n := range c.Nodes {
		if errs := validation.IsDNS1123Subdomain(n.Name); len(errs) > 0 {
			return fmt.Errorf("%w: node name %q: %s", ErrInvalidConfig, n.Name, strings.Join(errs, "; "))
		}
		for field, q := range map[string]string{"CPU": n.CPU, "Memory": n.Memory, "Pods": n.Pods} {
			if _, err := resource.ParseQuantity(q); q != "" && err != nil {
				return fmt.Errorf("%w: node %q: %s %q is not a quantity (like 8, 500m, 32Gi)", ErrInvalidConfig, n.Name, field, q)
			}
		}
		if seen[n.Name] {
			return fmt.Errorf("%w: node %q is listed twice", ErrInvalidConfig, n.Name)
		}
		seen[n.Name] = true
	}
	return nil
}

// withDefaults returns a copy with the documented defaults filled in.
func (c Config) withDefaults() Config {
	if c.BinDir == "" {
		c.BinDir = DefaultBinDir()
	}
	if len(c.Nodes) == 0 {
		c.Nodes = DefaultNodes(c.Name, 1)
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// DefaultNodes returns n nodes named <cluster>-node-<i>; the first one has
// the control-plane and etcd roles, the others the worker role.
func DefaultNodes(cluster string, n int) []NodeSpec {
	nodes := make([]NodeSpec, 0, n)
	for i := range n {
		roles := []string{"worker"}
		if i == 0 {
			roles = []string{"control-plane", "etcd"}
		}
		nodes = append(nodes, NodeSpec{Name: fmt.Sprintf("%s-node-%d", cluster, i), Roles: roles})
	}
	return nodes
}
