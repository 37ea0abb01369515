package hosted

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/localcluster"
)

// Local makes `herd local-cluster` clusters under Manager's root, with
// real nodes that run Herd's image from Images. Each cluster's folder
// keeps the UID of the Cluster it was made for.
type Local struct {
	Manager *localcluster.Manager
	// Images are the image archives for the real nodes (Herd's own).
	Images []string
	mu     sync.Mutex
}

var _ Provider = (*Local)(nil)

const uidFile = "herd-cluster-uid"

func (l *Local) uidPath(name string) string { return filepath.Join(l.Manager.Root, name, uidFile) }

// Ensure makes or starts the local cluster and returns its kubeconfig.
func (l *Local) Ensure(ctx context.Context, name, uid string, spec v1.ClusterHosted) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if spec.KubernetesVersion != localcluster.KubernetesVersion {
		return nil, fmt.Errorf("%w: local clusters run Kubernetes %s, not %s", ErrUnsupported, localcluster.KubernetesVersion, spec.KubernetesVersion)
	}
	opts := localcluster.Options{Nodes: int(spec.Nodes), RealNodes: int(spec.RealNodes), Images: l.Images}
	infos, err := l.Manager.List()
	if err != nil {
		return nil, err
	}
	var found *localcluster.Info
	for i := range infos {
		if infos[i].Name == name {
			found = &infos[i]
		}
	}
	if found != nil {
		if owner, _ := os.ReadFile(l.uidPath(name)); strings.TrimSpace(string(owner)) != uid {
			// An earlier Cluster's, or someone else's: replaced.
			if err := l.Manager.Delete(ctx, name); err != nil {
				return nil, err
			}
			found = nil
		}
	}
	switch {
	case found == nil:
		if _, err := l.Manager.Create(ctx, name, opts); err != nil {
			_ = l.Manager.Delete(context.WithoutCancel(ctx), name)
			return nil, err
		}
		if err := certs.WriteFileAtomic(l.uidPath(name), []byte(uid+"\n"), 0o600); err != nil {
			return nil, err
		}
	case !found.Running:
		if _, err := l.Manager.Start(ctx, name, opts); err != nil {
			return nil, err
		}
	}
	return l.Manager.Kubeconfig(name)
}

// Upgrade: local clusters have one Kubernetes version.
func (l *Local) Upgrade(_ context.Context, name, version string) error {
	if version == localcluster.KubernetesVersion {
		return nil
	}
	return fmt.Errorf("%w: local cluster %s cannot change to Kubernetes %s: this build has %s only", ErrUnsupported, name, version, localcluster.KubernetesVersion)
}

// Delete deletes the local cluster.
func (l *Local) Delete(ctx context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.Manager.Delete(ctx, name); err != nil && !errors.Is(err, localcluster.ErrNotFound) {
		return err
	}
	return nil
}

// List names the local clusters.
func (l *Local) List(context.Context) ([]string, error) {
	infos, err := l.Manager.List()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, i := range infos {
		names = append(names, i.Name)
	}
	return names, nil
}
