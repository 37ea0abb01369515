package projects_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/projects"
)

var (
	web  = &v1.Project{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "uid-web"}, Spec: v1.ProjectSpec{ClusterName: "prod"}}
	shop = &v1.Project{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "uid-shop"}, Spec: v1.ProjectSpec{ClusterName: "prod"}}
)

// cluster has namespaces free, web-a (in web), shop-a (in shop), and
// stale (labelled by an earlier project web, since deleted); projects web
// and shop are live.
func cluster() projects.Namespaces {
	ns := func(name string, labels map[string]string) runtime.Object {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	in := func(p *v1.Project) map[string]string {
		return map[string]string{v1.ProjectNamespaceLabel: p.Name, v1.ProjectUIDLabel: string(p.UID)}
	}
	kube := kubefake.NewClientset(ns("free", nil), ns("web-a", in(web)), ns("shop-a", in(shop)),
		ns("stale", map[string]string{v1.ProjectNamespaceLabel: "web", v1.ProjectUIDLabel: "uid-old-web"}))
	live := func(name, uid string) bool {
		return (name == web.Name && uid == string(web.UID)) || (name == shop.Name && uid == string(shop.UID))
	}
	return projects.Namespaces{Kube: kube, Live: live}
}

func TestAdd(t *testing.T) {
	for _, tt := range []struct {
		name      string
		namespace string
		create    bool
		want      []string
		wantErr   error
	}{
		{name: "a free namespace", namespace: "free", want: []string{"free", "web-a"}},
		{name: "one already in the project", namespace: "web-a", want: []string{"web-a"}},
		{name: "one of a deleted project", namespace: "stale", want: []string{"stale", "web-a"}},
		{name: "one of another project", namespace: "shop-a", wantErr: projects.ErrOtherProject},
		{name: "a missing one", namespace: "new", wantErr: projects.ErrNoNamespace},
		{name: "a missing one, created", namespace: "new", create: true, want: []string{"new", "web-a"}},
		{name: "a system namespace", namespace: "kube-system", wantErr: projects.ErrInvalid},
		{name: "Herd's namespace", namespace: "herd-system", create: true, wantErr: projects.ErrInvalid},
		{name: "an invalid name", namespace: "Web_A", create: true, wantErr: projects.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cluster().Add(context.Background(), web, tt.namespace, tt.create)
			if !errors.Is(err, tt.wantErr) || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	for _, tt := range []struct {
		name      string
		namespace string
		wantErr   error
		wantLeft  []string
	}{
		{name: "one in the project", namespace: "web-a", wantLeft: []string{}},
		{name: "a free one", namespace: "free", wantErr: projects.ErrNotInProject, wantLeft: []string{"web-a"}},
		{name: "one of another project", namespace: "shop-a", wantErr: projects.ErrNotInProject, wantLeft: []string{"web-a"}},
		{name: "one of a deleted project of the same name", namespace: "stale", wantErr: projects.ErrNotInProject, wantLeft: []string{"web-a"}},
		{name: "a missing one", namespace: "nope", wantErr: projects.ErrNotInProject, wantLeft: []string{"web-a"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			ns := cluster()
			if err := ns.Remove(ctx, web, tt.namespace); !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
			if left, err := ns.List(ctx, web); err != nil || !slices.Equal(left, tt.wantLeft) {
				t.Errorf("left in web: got %v (%v), want %v", left, err, tt.wantLeft)
			}
			if shopLeft, _ := ns.List(ctx, shop); !slices.Equal(shopLeft, []string{"shop-a"}) {
				t.Errorf("shop's namespaces changed: %v", shopLeft)
			}
		})
	}
}

func TestRelease(t *testing.T) {
	ctx := context.Background()
	ns := cluster()
	if _, err := ns.Add(ctx, web, "free", false); err != nil {
		t.Fatal(err)
	}
	if err := ns.Release(ctx, web); err != nil {
		t.Fatal(err)
	}
	if left, _ := ns.List(ctx, web); len(left) != 0 {
		t.Errorf("web keeps %v after its release", left)
	}
	if left, _ := ns.List(ctx, shop); !slices.Equal(left, []string{"shop-a"}) {
		t.Errorf("shop: got %v, want shop-a kept", left)
	}
}
