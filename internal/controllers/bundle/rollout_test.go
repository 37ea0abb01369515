package bundle

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
)

// bd is a deployment of cluster at spec hash, with its status.
func bd(cluster, hash, applied string, ready bool, failedHash string) *v1.BundleDeployment {
	return &v1.BundleDeployment{ObjectMeta: metav1.ObjectMeta{Name: "b." + cluster},
		Spec:   v1.BundleDeploymentSpec{ClusterName: cluster, Hash: hash},
		Status: v1.BundleDeploymentStatus{AppliedHash: applied, Ready: ready, FailedHash: failedHash}}
}

func tg(cluster, hash string, connected bool) target {
	return target{cluster: cluster, connected: connected, spec: v1.BundleDeploymentSpec{ClusterName: cluster, Hash: hash}}
}

func staged(p plan) []string {
	var out []string
	for _, s := range p.stage {
		out = append(out, s.ClusterName)
	}
	return out
}

func TestPlanRollout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		targets  []target
		existing []*v1.BundleDeployment
		limit    int32
		cont     bool
		stage    []string
		delete   []string
		paused   bool
		waiting  int
	}{
		{name: "new bundle, no limit", targets: []target{tg("a", "h1", true), tg("b", "h1", true)}, stage: []string{"a", "b"}},
		{name: "new bundle, one at a time", targets: []target{tg("a", "h1", true), tg("b", "h1", true)}, limit: 1, stage: []string{"a"}, waiting: 1},
		{name: "first still changing", targets: []target{tg("a", "h1", true), tg("b", "h1", true)}, limit: 1,
			existing: []*v1.BundleDeployment{bd("a", "h1", "h1", false, "")}, waiting: 1},
		{name: "first ready: the next goes", targets: []target{tg("a", "h1", true), tg("b", "h1", true)}, limit: 1,
			existing: []*v1.BundleDeployment{bd("a", "h1", "h1", true, "")}, stage: []string{"b"}},
		{name: "new revision, one at a time", targets: []target{tg("a", "h2", true), tg("b", "h2", true)}, limit: 1,
			existing: []*v1.BundleDeployment{bd("a", "h1", "h1", true, ""), bd("b", "h1", "h1", true, "")}, stage: []string{"a"}, waiting: 1},
		{name: "a failure pauses", targets: []target{tg("a", "h2", true), tg("b", "h2", true), tg("c", "h2", true)}, limit: 1,
			existing: []*v1.BundleDeployment{bd("a", "h2", "h1", false, "h2"), bd("b", "h1", "h1", true, "")}, paused: true, waiting: 2},
		{name: "a failure with continueOnFailure", targets: []target{tg("a", "h2", true), tg("b", "h2", true)}, limit: 1, cont: true,
			existing: []*v1.BundleDeployment{bd("a", "h2", "h1", false, "h2"), bd("b", "h1", "h1", true, "")}, stage: []string{"b"}},
		{name: "a fix after a failure goes to the failed cluster first", targets: []target{tg("a", "h3", true), tg("b", "h3", true)}, limit: 1,
			existing: []*v1.BundleDeployment{bd("a", "h2", "h1", false, "h2"), bd("b", "h1", "h1", true, "")}, stage: []string{"a"}, waiting: 1},
		{name: "offline clusters do not hold a slot", targets: []target{tg("a", "h2", false), tg("b", "h2", true)}, limit: 1,
			existing: []*v1.BundleDeployment{bd("a", "h1", "h1", true, ""), bd("b", "h1", "h1", true, "")}, stage: []string{"a", "b"}},
		{name: "an offline changing cluster does not block", targets: []target{tg("a", "h2", false), tg("b", "h2", true)}, limit: 1,
			existing: []*v1.BundleDeployment{bd("a", "h2", "h1", false, ""), bd("b", "h1", "h1", true, "")}, stage: []string{"b"}},
		{name: "restaging a changing cluster takes no new slot", targets: []target{tg("a", "h3", true), tg("b", "h3", true)}, limit: 1,
			existing: []*v1.BundleDeployment{bd("a", "h2", "h1", false, ""), bd("b", "h1", "h1", true, "")}, stage: []string{"a"}, waiting: 1},
		{name: "clusters leaving are removed at once", targets: []target{tg("a", "h1", true)},
			existing: []*v1.BundleDeployment{bd("a", "h1", "h1", true, ""), bd("gone", "h1", "h1", true, "")}, delete: []string{"b.gone"}},
		{name: "drift reported counts as settled", targets: []target{tg("a", "h2", true), tg("b", "h2", true)}, limit: 1,
			existing: []*v1.BundleDeployment{func() *v1.BundleDeployment {
				d := bd("a", "h2", "h2", false, "")
				d.Status.State = v1.BundleStateDrifted
				return d
			}(), bd("b", "h1", "h1", true, "")}, stage: []string{"b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			existing := map[string]*v1.BundleDeployment{}
			for _, d := range tc.existing {
				existing[d.Spec.ClusterName] = d
			}
			p := planRollout(tc.targets, existing, tc.limit, tc.cont)
			if got := staged(p); !slices.Equal(got, tc.stage) {
				t.Errorf("staged %v, want %v", got, tc.stage)
			}
			if !slices.Equal(p.delete, tc.delete) {
				t.Errorf("deleted %v, want %v", p.delete, tc.delete)
			}
			if p.paused != tc.paused || p.waiting != tc.waiting {
				t.Errorf("paused %v waiting %d, want %v %d", p.paused, p.waiting, tc.paused, tc.waiting)
			}
		})
	}
}
