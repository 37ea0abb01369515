package clusters_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/herdapi"
)

// A deleted cluster whose agent registered waits for Herd to clean up in
// it (or for force); one no agent ever registered goes at once.
func TestDelete(t *testing.T) {
	for _, tt := range []struct {
		name       string
		registered bool
		force      bool
		wantGone   bool
	}{
		{"never registered", false, false, true},
		{"registered", true, false, false},
		{"registered, with force", true, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cl := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c1", UID: "uid-1", Finalizers: []string{clusters.CleanupFinalizer}}}
			m, c := newManager(t, cl)
			if tt.registered {
				regTok, _, err := m.Registrar().IssueRegistrationToken(ctx, cl)
				if err != nil {
					t.Fatal(err)
				}
				reg := &herdapi.AgentRegistration{APIEndpoint: "https://10.0.0.1:6443", CACert: caPEM(t, "c1"), Token: "sa"}
				if _, err := m.Registrar().Register(ctx, regTok, reg); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Get(ctx, client.ObjectKeyFromObject(cl), cl); err != nil {
				t.Fatal(err)
			}
			gone, err := m.Delete(ctx, cl, tt.force, 0)
			if err != nil {
				t.Fatal(err)
			}
			var cur v1.Cluster
			stored := c.Get(ctx, client.ObjectKeyFromObject(cl), &cur) == nil
			if gone != tt.wantGone || stored == tt.wantGone {
				t.Errorf("got gone %v (still stored %v), want gone %v", gone, stored, tt.wantGone)
			}
			if stored && cur.DeletionTimestamp.IsZero() {
				t.Error("a cluster kept for cleanup is not marked deleted")
			}
		})
	}
}
