package clusters_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/store"
)

// newManager is a Manager over a fake management cluster holding objs.
func newManager(t *testing.T, objs ...client.Object) (*clusters.Manager, client.Client) {
	t.Helper()
	scheme, err := store.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1.Cluster{})
	for _, ix := range index.All() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	c := b.WithObjects(objs...).Build()
	m, err := clusters.New(clusters.Config{Context: context.Background(), Client: c, Cache: c, API: c, Authz: &authz.Authorizer{Cache: c}})
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

// caPEM is a CA bundle, made once per test.
func caPEM(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := certs.LoadOrCreateCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), name); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(pem)
}

func TestRegister(t *testing.T) {
	ctx := context.Background()
	c1 := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c1", UID: "uid-1"}}
	m, c := newManager(t, c1)
	regTok, _, err := m.Registrar().IssueRegistrationToken(ctx, c1)
	if err != nil {
		t.Fatal(err)
	}
	reg := &herdapi.AgentRegistration{APIEndpoint: "https://10.0.0.1:6443", CACert: caPEM(t, "c1"), Token: "sa-token-1"}

	first, err := m.Registrar().Register(ctx, regTok, reg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := m.Registrar().Register(ctx, regTok, reg)
	if err != nil {
		t.Fatal(err)
	}
	if first.AgentToken == second.AgentToken || !strings.HasPrefix(first.AgentToken, "at-") {
		t.Errorf("two registrations got %q and %q: want two agent tokens", first.AgentToken, second.AgentToken)
	}
	again, err := m.Registrar().Register(ctx, first.AgentToken, reg)
	if err != nil || again.AgentToken != first.AgentToken {
		t.Errorf("registering again with an agent token: got %+v %v, want the same token", again, err)
	}
	var stored v1.ClusterAgentTokenList
	_ = c.List(ctx, &stored)
	for _, at := range stored.Items {
		if !strings.HasPrefix(at.Spec.TokenHash, "sha256:") || strings.Contains(first.AgentToken, at.Spec.TokenHash) {
			t.Errorf("agent token %s stored as %q: want a salted hash", at.Name, at.Spec.TokenHash)
		}
	}

	for _, tt := range []struct {
		name   string
		bearer string
		reg    herdapi.AgentRegistration
		want   error
	}{
		{"an unknown token", "at-nosuchthing:" + strings.Repeat("A", 43), *reg, clusters.ErrUnauthorized},
		{"a forged agent token", strings.SplitN(first.AgentToken, ":", 2)[0] + ":" + strings.Repeat("B", 43), *reg, clusters.ErrUnauthorized},
		{"another cluster's CA", first.AgentToken, herdapi.AgentRegistration{APIEndpoint: reg.APIEndpoint, CACert: caPEM(t, "other"), Token: "x"}, clusters.ErrOtherCluster},
		{"an http endpoint", first.AgentToken, herdapi.AgentRegistration{APIEndpoint: "http://10.0.0.1", CACert: reg.CACert, Token: "x"}, clusters.ErrInvalid},
		{"a token with a space", first.AgentToken, herdapi.AgentRegistration{APIEndpoint: reg.APIEndpoint, CACert: reg.CACert, Token: "a b"}, clusters.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.Registrar().Register(ctx, tt.bearer, &tt.reg); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("a changed credential waits for verification", func(t *testing.T) {
		changed := *reg
		changed.Token = "sa-token-2"
		out, err := m.Registrar().Register(ctx, first.AgentToken, &changed)
		if err != nil || !out.ChangePending {
			t.Fatalf("got %+v %v, want a pending change", out, err)
		}
	})

	t.Run("a reissued import command ends the older agent tokens", func(t *testing.T) {
		if _, _, err := m.Registrar().RotateRegistrationToken(ctx, c1, -time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Registrar().Register(ctx, first.AgentToken, reg); !errors.Is(err, clusters.ErrUnauthorized) {
			t.Errorf("an agent token of the earlier import command: got %v, want ErrUnauthorized", err)
		}
		if _, err := m.Registrar().Register(ctx, regTok, reg); !errors.Is(err, clusters.ErrUnauthorized) {
			t.Errorf("the earlier registration token: got %v, want ErrUnauthorized", err)
		}
	})
}

// A registration token or agent token of an earlier cluster of the same
// name registers nothing.
func TestRegisterEarlierCluster(t *testing.T) {
	ctx := context.Background()
	old := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c1", UID: "uid-old"}}
	m, c := newManager(t, old)
	regTok, _, err := m.Registrar().IssueRegistrationToken(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	reg := &herdapi.AgentRegistration{APIEndpoint: "https://10.0.0.1:6443", CACert: caPEM(t, "c1"), Token: "sa"}
	out, err := m.Registrar().Register(ctx, regTok, reg)
	if err != nil {
		t.Fatal(err)
	}
	// The cluster is made again under its name (the fake has no garbage
	// collector: the old tokens stay, as they may for a while for real).
	if err := c.Delete(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c1", UID: "uid-new"}}); err != nil {
		t.Fatal(err)
	}
	for name, bearer := range map[string]string{"registration token": regTok, "agent token": out.AgentToken} {
		if _, err := m.Registrar().Register(ctx, bearer, reg); !errors.Is(err, clusters.ErrUnauthorized) {
			t.Errorf("the old cluster's %s: got %v, want ErrUnauthorized", name, err)
		}
	}
}
