// Package clustercond sets one condition of a Cluster's status with
// server-side apply, so that each controller owns its own condition and
// none overwrites another's.
package clustercond

import (
	"context"
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// Set applies cond to c's status as owner, unless c has it already; the
// transition time stays while the status does.
func Set(ctx context.Context, cl client.Client, c *v1.Cluster, owner string, cond metav1.Condition) error {
	cond.ObservedGeneration, cond.LastTransitionTime = c.Generation, metav1.Now()
	if old := meta.FindStatusCondition(c.Status.Conditions, cond.Type); old != nil && old.Status == cond.Status {
		if old.Reason == cond.Reason && old.Message == cond.Message {
			return nil
		}
		cond.LastTransitionTime = old.LastTransitionTime
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": v1.GroupVersion.String(), "kind": "Cluster",
		"metadata": map[string]any{"name": c.Name}, "status": map[string]any{"conditions": []metav1.Condition{cond}},
	})
	if err != nil {
		return err
	}
	return cl.Status().Patch(ctx, c, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(owner), client.ForceOwnership)
}
