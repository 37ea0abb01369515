package api

import (
	"context"
	"net/http"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
)

// adminCluster is the cluster of the request's path if the caller
// administers it (what: the action, for a refusal).
func (a clustersAPI) adminCluster(w http.ResponseWriter, r *http.Request, id *authn.Identity, what string) (*v1.Cluster, bool) {
	c, ok := a.visibleCluster(w, r, id)
	if !ok {
		return nil, false
	}
	if !a.authz.IsClusterAdmin(r.Context(), id, c.Name) {
		a.forbidden(w, r, id, what+" of cluster "+c.Name)
		return nil, false
	}
	return c, true
}

// updateSpec changes the current Cluster name with change, tried again on
// a conflict; change returns what is wrong with the request ("" if
// nothing), and then nothing is written.
func (a clustersAPI) updateSpec(ctx context.Context, name string, change func(*v1.Cluster) string) (*v1.Cluster, string, error) {
	var out *v1.Cluster
	var refused string
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		// Read uncached: while controllers write the Cluster often (a
		// restore, an upgrade), the informer cache can stay behind for
		// longer than the retries last, and every Update then conflicts.
		var cur v1.Cluster
		if err := a.api.Get(ctx, client.ObjectKey{Name: name}, &cur); err != nil {
			return err
		}
		if refused = change(&cur); refused != "" {
			return nil
		}
		out = &cur
		return a.client.Update(ctx, &cur)
	})
	return out, refused, err
}
