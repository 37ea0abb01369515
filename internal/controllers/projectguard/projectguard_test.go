package projectguard

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"

	"herd.dev/herd/internal/importmanifest"
)

func newController(t *testing.T, served bool) (*Controller, *fake.Clientset) {
	t.Helper()
	kube := fake.NewClientset()
	if served {
		kube.Discovery().(*fakediscovery.FakeDiscovery).Resources = []*metav1.APIResourceList{{
			GroupVersion: admissionv1.SchemeGroupVersion.String(),
			APIResources: []metav1.APIResource{{Name: "validatingadmissionpolicies"}, {Name: "validatingadmissionpolicybindings"}},
		}}
	}
	c, err := New(Config{Cluster: "c1", Kube: kube, Report: func(context.Context, string, bool, string, string) {}})
	if err != nil {
		t.Fatal(err)
	}
	return c, kube
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	t.Run("no admission policies before Kubernetes 1.30", func(t *testing.T) {
		c, _ := newController(t, false)
		if ok, reason, msg := c.Check(ctx); ok || reason != ReasonUnsupported {
			t.Errorf("got %v %s %q, want false %s", ok, reason, msg, ReasonUnsupported)
		}
	})
	t.Run("missing policy is put in place, then left alone", func(t *testing.T) {
		c, kube := newController(t, true)
		if ok, reason, msg := c.Check(ctx); !ok || reason != ReasonEnforced {
			t.Fatalf("got %v %s %q, want true %s", ok, reason, msg, ReasonEnforced)
		}
		p, err := kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, importmanifest.ProjectGuardPolicy, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("policy: %v", err)
		}
		if _, err := kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, importmanifest.ProjectGuardPolicy, metav1.GetOptions{}); err != nil {
			t.Fatalf("binding: %v", err)
		}
		if got := p.Spec.MatchConstraints.ResourceRules[0].Resources; len(got) != 3 {
			t.Errorf("policy matches %v, want namespaces and its status and finalize subresources", got)
		}
		writes := len(kube.Actions())
		c.Check(ctx)
		for _, a := range kube.Actions()[writes:] {
			if a.GetVerb() != "get" {
				t.Errorf("a second check wrote: %s %s", a.GetVerb(), a.GetResource().Resource)
			}
		}
	})
	t.Run("a weakened policy is put back", func(t *testing.T) {
		c, kube := newController(t, true)
		c.Check(ctx)
		api := kube.AdmissionregistrationV1().ValidatingAdmissionPolicies()
		p, _ := api.Get(ctx, importmanifest.ProjectGuardPolicy, metav1.GetOptions{})
		p.Spec.Validations = []admissionv1.Validation{{Expression: "true"}}
		delete(p.Annotations, specAnnotation)
		if _, err := api.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if ok, _, _ := c.Check(ctx); !ok {
			t.Fatal("check failed")
		}
		p, _ = api.Get(ctx, importmanifest.ProjectGuardPolicy, metav1.GetOptions{})
		if len(p.Spec.Validations) != 2 {
			t.Errorf("got validations %+v, want Herd's two back", p.Spec.Validations)
		}
	})
}
