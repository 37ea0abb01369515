package clusters

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/wellknown"
)

// Token copies carry the groups the proxy would send: no system: group,
// and the admins group only for administrators now, whatever the user's
// groups say; and only tokens scoped to the cluster's current UID.
func TestTokenCopyGroups(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	expires := metav1.NewTime(time.Now().Add(time.Hour))
	objs := []client.Object{
		&v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c1", UID: "uid-now"}},
		&v1.User{ObjectMeta: metav1.ObjectMeta{Name: "u-1"}, Spec: v1.UserSpec{Enabled: true},
			Status: v1.UserStatus{GroupPrincipals: []string{"oidc_group://x/devs", "system:masters", wellknown.AdminsGroup}}},
		&v1.Token{ObjectMeta: metav1.ObjectMeta{Name: "t-now"}, Spec: v1.TokenSpec{UserName: "u-1", ClusterName: "c1", ClusterUID: "uid-now", Enabled: true, ExpiresAt: expires}},
		&v1.Token{ObjectMeta: metav1.ObjectMeta{Name: "t-before"}, Spec: v1.TokenSpec{UserName: "u-1", ClusterName: "c1", ClusterUID: "uid-before", Enabled: true, ExpiresAt: expires}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithIndex(&v1.Token{}, index.TokenCluster, func(o client.Object) []string { return []string{o.(*v1.Token).Spec.ClusterName} }).Build()
	for _, tt := range []struct {
		name  string
		admin bool
		want  string
	}{
		{"not an administrator", false, "oidc_group://x/devs"},
		{"an administrator", true, "oidc_group://x/devs," + wellknown.AdminsGroup},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := &tokenSource{cache: c, owner: func(context.Context, string, []string) bool { return tt.admin }}
			copies, err := src.Copies(context.Background(), "c1")
			if err != nil {
				t.Fatal(err)
			}
			if len(copies) != 1 || copies[0].TokenName != "t-now" || copies[0].ClusterUID != "uid-now" {
				t.Fatalf("got copies %+v, want t-now's only", copies)
			}
			if got := strings.Join(copies[0].Groups, ","); got != tt.want {
				t.Errorf("groups: got %s, want %s", got, tt.want)
			}
		})
	}
}
