package machines_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/machines"
	"herd.dev/herd/internal/store"
)

const regToken = "crt-good:secret"

// newMachines is Machines over a fake management cluster with cluster
// farm, whose registration token is regToken, and at most 3 machines.
func newMachines(t *testing.T) (*machines.Machines, client.Client) {
	t.Helper()
	scheme, err := store.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1.Machine{})
	for _, ix := range index.All() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	farm := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "farm", UID: "uid-farm"}}
	c := b.WithObjects(farm).Build()
	verify := func(_ context.Context, token string) (*v1.ClusterRegistrationToken, *v1.Cluster, error) {
		if token != regToken {
			return nil, nil, errors.New("wrong token")
		}
		return &v1.ClusterRegistrationToken{ObjectMeta: metav1.ObjectMeta{Name: "crt-good"}}, farm, nil
	}
	m, err := machines.New(machines.Config{Client: c, Cache: c, API: c, VerifyRegistrationToken: verify, MaxPerCluster: 3})
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

func reg(host string) herdapi.NodeRegistration {
	return herdapi.NodeRegistration{Roles: []string{"worker", "etcd"}, Hostname: host, Address: "127.0.1.1",
		Labels: map[string]string{"tier": "edge"}, Taints: []string{"dedicated=infra:NoSchedule"}}
}

func TestRegister(t *testing.T) {
	m, c := newMachines(t)
	ctx := context.Background()
	with := func(mod func(*herdapi.NodeRegistration)) herdapi.NodeRegistration {
		r := reg("node-x")
		mod(&r)
		return r
	}
	for _, tt := range []struct {
		name  string
		token string
		req   herdapi.NodeRegistration
		want  error
	}{
		{"wrong token", "crt-good:wrong", reg("node-a"), machines.ErrUnauthorized},
		{"no roles", regToken, with(func(r *herdapi.NodeRegistration) { r.Roles = nil }), machines.ErrInvalid},
		{"unknown role", regToken, with(func(r *herdapi.NodeRegistration) { r.Roles = []string{"master"} }), machines.ErrInvalid},
		{"a role twice", regToken, with(func(r *herdapi.NodeRegistration) { r.Roles = []string{"etcd", "etcd"} }), machines.ErrInvalid},
		{"bad hostname", regToken, with(func(r *herdapi.NodeRegistration) { r.Hostname = "Node_1" }), machines.ErrInvalid},
		{"bad address", regToken, with(func(r *herdapi.NodeRegistration) { r.Address = "10.0.0" }), machines.ErrInvalid},
		{"bad label", regToken, with(func(r *herdapi.NodeRegistration) { r.Labels = map[string]string{"a b": "c"} }), machines.ErrInvalid},
		{"bad taint", regToken, with(func(r *herdapi.NodeRegistration) { r.Taints = []string{"x=y:Sometimes"} }), machines.ErrInvalid},
		{"first", regToken, reg("node-a"), nil},
		{"hostname taken", regToken, reg("node-a"), machines.ErrExists},
		{"second", regToken, reg("node-b"), nil},
		{"third", regToken, reg("node-c"), nil},
		{"one too many", regToken, reg("node-d"), machines.ErrTooMany},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := m.Register(ctx, tt.token, tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Register: %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			var machine v1.Machine
			if err := c.Get(ctx, client.ObjectKey{Name: out.MachineName}, &machine); err != nil {
				t.Fatal(err)
			}
			if machine.Spec.ClusterName != "farm" || machine.Spec.Hostname != tt.req.Hostname || strings.Join(machine.Spec.Roles, ",") != "etcd,worker" ||
				machine.OwnerReferences[0].UID != "uid-farm" {
				t.Errorf("machine: %+v", machine.Spec)
			}
			if strings.Contains(machine.Spec.CredentialHash, strings.SplitN(out.Credential, ":", 2)[1]) {
				t.Error("the credential is stored as it is, not hashed")
			}
		})
	}
}

func TestPlanIsTheMachinesOwn(t *testing.T) {
	m, c := newMachines(t)
	ctx := context.Background()
	a, err := m.Register(ctx, regToken, reg("node-a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Register(ctx, regToken, reg("node-b"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := m.Plan(ctx, a.Credential); err != nil || p != nil {
		t.Fatalf("plan before any: %+v, %v; want none", p, err)
	}
	var machineA v1.Machine
	if err := c.Get(ctx, client.ObjectKey{Name: a.MachineName}, &machineA); err != nil {
		t.Fatal(err)
	}
	plan := herdapi.Plan{Instructions: []herdapi.PlanInstruction{{Name: "hello", Command: "true"}}}
	rev, err := machines.WritePlan(ctx, c, &machineA, plan)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Plan(ctx, a.Credential)
	if err != nil || got == nil || got.Revision != rev || got.Plan.Instructions[0].Name != "hello" {
		t.Fatalf("A's plan: %+v, %v; want revision %s", got, err, rev)
	}
	if got, err := m.Plan(ctx, b.Credential); err != nil || got != nil {
		t.Errorf("B reads %+v, %v; want no plan (A's is A's alone)", got, err)
	}
	secretOfA := strings.SplitN(a.Credential, ":", 2)[1]
	for _, forged := range []string{b.MachineName + ":" + secretOfA, a.MachineName + ":wrong", regToken, "", "m-x"} {
		if _, err := m.Plan(ctx, forged); !errors.Is(err, machines.ErrUnauthorized) {
			t.Errorf("plan with %q: %v, want ErrUnauthorized", forged, err)
		}
	}

	for _, tt := range []struct {
		name string
		st   herdapi.NodePlanStatus
		want error
	}{
		{"unknown state", herdapi.NodePlanStatus{State: "Done"}, machines.ErrInvalid},
		{"bad revision", herdapi.NodePlanStatus{State: v1.PlanSucceeded, Revision: "abc"}, machines.ErrInvalid},
		{"succeeded", herdapi.NodePlanStatus{State: v1.PlanSucceeded, Revision: rev, Output: strings.Repeat("x", 20000), Probes: map[string]bool{"up": true}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := m.ReportStatus(ctx, a.Credential, tt.st); !errors.Is(err, tt.want) {
				t.Fatalf("ReportStatus: %v, want %v", err, tt.want)
			}
		})
	}
	if err := c.Get(ctx, client.ObjectKey{Name: a.MachineName}, &machineA); err != nil {
		t.Fatal(err)
	}
	st := machineA.Status
	if st.State != v1.PlanSucceeded || st.AppliedRevision != rev || st.PlanRevision != rev || len(st.Output) != 16<<10 || !st.Probes["up"] || st.LastContact == nil {
		t.Errorf("status: state %s, applied %s, plan %s, output %d bytes, probes %v", st.State, st.AppliedRevision, st.PlanRevision, len(st.Output), st.Probes)
	}
}
