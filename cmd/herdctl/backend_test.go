package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/api/apitest"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authn/providers"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/wellknown"
)

// The backend's objects were made at created; herdctl and the server run
// at testNow.
var (
	created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	testNow = created.Add(50 * time.Hour)
)

// backend is Herd's real REST API over a fake management cluster
// (apitest), with:
//   - local users alice (admin, password s3cret) and bob (user, hunter2);
//   - cluster prod (connected and ready, three nodes), whose kube-apiserver
//     is a fake clientset with namespaces default, shop and web-a to web-d;
//   - project web in prod with web-a to web-d, role templates view-pods,
//     web-dev (inherits view-pods) and broken, and two members: alice owns
//     prod, group local://g-devs views pods in web;
//   - identity providers github (enabled, the GitHub stand-in of herdtest,
//     where members of org acme such as octocat may log in) and openldap (configured, disabled;
//     a stand-in where bob logs in with hunter2).
type backend struct {
	*apitest.Server
	github     *herdtest.GitHub
	alice, bob *v1.User
	prod       *kubefake.Clientset
	// crtb and prtb are the two members.
	crtb, prtb string
}

// clock is the backend's clock, which a test may set.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{github: herdtest.StartGitHub(t)}
	factories := providers.Factories()
	factories[authn.ProviderOpenLDAP] = func(context.Context, map[string]string, map[string]string, *slog.Logger) (any, error) {
		return ldapStandIn{}, nil
	}
	clk := &clock{now: created}
	b.Server = apitest.New(t, apitest.Options{Now: clk.Now, Providers: factories,
		Downstream: func(cluster string) (kubernetes.Interface, error) {
			if cluster != "prod" {
				return nil, errors.New("cluster " + cluster + " has no agent connected")
			}
			return b.prod, nil
		}})
	b.alice = b.AddUser(t, "alice", "Alice", "s3cret", roles.GlobalAdmin)
	b.bob = b.AddUser(t, "bob", "", "hunter2", roles.GlobalUser)
	b.Put(t, b.objects()...)
	var web v1.Project
	if err := b.Client.Get(context.Background(), client.ObjectKey{Name: "web"}, &web); err != nil {
		t.Fatal(err)
	}
	b.prod = prodCluster(&web)
	b.crtb, b.prtb = b.addMembers(t)
	clk.Set(testNow)
	return b
}

// prodCluster is cluster prod's kube-apiserver, where web-a to web-d are
// web's, as Herd labels them.
func prodCluster(web *v1.Project) *kubefake.Clientset {
	var objs []runtime.Object
	for _, ns := range []string{"default", "shop", "web-a", "web-b", "web-c", "web-d"} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if strings.HasPrefix(ns, "web-") {
			n.Labels = map[string]string{v1.ProjectNamespaceLabel: web.Name, v1.ProjectUIDLabel: string(web.UID)}
		}
		objs = append(objs, n)
	}
	return kubefake.NewClientset(objs...)
}

func condition(typ string, status metav1.ConditionStatus, message string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: "Test", Message: message, LastTransitionTime: metav1.NewTime(created)}
}

// objects are the backend's cluster, project, role templates and
// identity providers.
func (b *backend) objects() []client.Object {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)}
	}
	ready := []metav1.Condition{condition(v1.ConditionReady, metav1.ConditionTrue, "")}
	pods, deploy := rules()
	objs := []client.Object{
		prodWithNodes(&v1.Cluster{ObjectMeta: meta("prod"), Spec: v1.ClusterSpec{DisplayName: "Production"}}),
		&v1.Project{ObjectMeta: meta("web"), Spec: v1.ProjectSpec{ClusterName: "prod", DisplayName: "Web"},
			Status: v1.ProjectStatus{Namespaces: []string{"web-a", "web-b", "web-c", "web-d"}}},
		&v1.RoleTemplate{ObjectMeta: meta("view-pods"), Spec: v1.RoleTemplateSpec{DisplayName: "View pods", Context: v1.ContextProject,
			Rules: []rbacv1.PolicyRule{pods}}, Status: v1.Status{Conditions: ready}},
		&v1.RoleTemplate{ObjectMeta: meta("web-dev"), Spec: v1.RoleTemplateSpec{Context: v1.ContextProject,
			Rules: []rbacv1.PolicyRule{deploy}, RoleTemplateNames: []string{"view-pods"}}, Status: v1.Status{Conditions: ready}},
		&v1.RoleTemplate{ObjectMeta: meta("broken"), Spec: v1.RoleTemplateSpec{Context: v1.ContextProject, RoleTemplateNames: []string{"gone"}},
			Status: v1.Status{Conditions: []metav1.Condition{condition(v1.ConditionReady, metav1.ConditionFalse, "role template gone does not exist")}}},
	}
	for _, rt := range roles.RoleTemplates() {
		rt.Status.Conditions = ready
		objs = append(objs, rt)
	}
	return append(objs, b.providers()...)
}

// rules are those of role templates view-pods and web-dev.
func rules() (pods, deploy rbacv1.PolicyRule) {
	return rbacv1.PolicyRule{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}},
		rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"web"}}
}

// prodWithNodes is c connected and ready with three nodes and their
// resources.
func prodWithNodes(c *v1.Cluster) *v1.Cluster {
	c.Status = v1.ClusterStatus{
		Conditions: []metav1.Condition{
			condition(v1.ClusterConnected, metav1.ConditionTrue, ""),
			condition(v1.ClusterReady, metav1.ConditionTrue, ""),
		},
		KubernetesVersion: "v1.37.2", NodeCount: 3, ConnectedAgents: 2,
		Capacity:    resources("9", "48Gi", "330", "300Gi"),
		Allocatable: resources("8500m", "47395988Ki", "330", ""),
		Requested:   resources("2250m", "3Gi", "27", ""),
		Nodes: []v1.ClusterNode{
			{Name: "cp-1", Roles: []string{"control-plane", "etcd"}, KubeletVersion: "v1.37.2", Ready: true},
			{Name: "worker-1", KubeletVersion: "v1.37.2", Ready: true},
			{Name: "worker-2", KubeletVersion: "v1.37.1", Ready: false},
		},
	}
	return c
}

func resources(cpu, memory, pods, storage string) corev1.ResourceList {
	l := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory), corev1.ResourcePods: resource.MustParse(pods)}
	if storage != "" {
		l[corev1.ResourceEphemeralStorage] = resource.MustParse(storage)
	}
	return l
}

// providers are the AuthConfigs and Secrets of github and openldap.
func (b *backend) providers() []client.Object {
	config := func(typ string, enabled bool, settings, secrets map[string]string) []client.Object {
		data := map[string][]byte{}
		for k, v := range secrets {
			data[k] = []byte(v)
		}
		return []client.Object{
			&v1.AuthConfig{ObjectMeta: metav1.ObjectMeta{Name: typ, CreationTimestamp: metav1.NewTime(created)},
				Spec: v1.AuthConfigSpec{Type: typ, Enabled: enabled, Settings: settings, SecretRef: identity.ProviderSecretName(typ)}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: wellknown.Namespace, Name: identity.ProviderSecretName(typ)}, Data: data},
		}
	}
	g := b.github
	return append(
		config(authn.ProviderGitHub, true, map[string]string{"clientID": g.ClientID, "baseURL": g.URL, "certificate": g.CAPEM,
			"allowedPrincipals": "github_org://9001"},
			map[string]string{providers.KeyClientSecret: g.ClientSecret, providers.KeySearchToken: g.SearchToken}),
		config(authn.ProviderOpenLDAP, false, map[string]string{"servers": "ldap.example.com"}, nil)...)
}

// addMembers makes alice owner of prod and group local://g-devs viewer of
// pods in web, ready, as the API names them.
func (b *backend) addMembers(t *testing.T) (crtb, prtb string) {
	t.Helper()
	ctx := context.Background()
	admin := b.Login(t, "alice", "s3cret")
	owner, err := admin.AddMember(ctx, herdapi.MemberRequest{ClusterName: "prod", RoleTemplate: roles.ClusterOwner, Username: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	viewers, err := admin.AddMember(ctx, herdapi.MemberRequest{ProjectName: "web", RoleTemplate: "view-pods", Group: "local://g-devs"})
	if err != nil {
		t.Fatal(err)
	}
	ready := v1.Status{Conditions: []metav1.Condition{condition(v1.ConditionReady, metav1.ConditionTrue, "")}}
	var c v1.ClusterRoleTemplateBinding
	var p v1.ProjectRoleTemplateBinding
	if err := b.Client.Get(ctx, client.ObjectKey{Name: owner.Name}, &c); err != nil {
		t.Fatal(err)
	}
	if err := b.Client.Get(ctx, client.ObjectKey{Name: viewers.Name}, &p); err != nil {
		t.Fatal(err)
	}
	c.Status, p.Status = ready, ready
	if err := b.Client.Status().Update(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if err := b.Client.Status().Update(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if err := admin.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	b.Forget()
	return owner.Name, viewers.Name
}

// ldapStandIn is the openldap provider of the tests: bob logs in with
// hunter2.
type ldapStandIn struct{}

func (ldapStandIn) Authenticate(_ context.Context, username, password string) (*authn.ExternalIdentity, error) {
	if username != "bob" || password != "hunter2" {
		return nil, authn.ErrBadCredentials
	}
	return &authn.ExternalIdentity{Provider: authn.ProviderOpenLDAP, UserPrincipal: "openldap_user://uid=bob,ou=people,dc=example,dc=org",
		Username: "bob", DisplayName: "Bob", Groups: []string{"openldap_group://cn=devs,ou=groups,dc=example,dc=org"}}, nil
}
