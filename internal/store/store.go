// Package store is Herd's state in the management cluster as the server
// sees it: the scheme of its objects, the ones its informer cache watches,
// and how a writer waits for its own write to show in that cache.
package store

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
)

// Scheme has Kubernetes' built-in types and Herd's.
func Scheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return scheme, nil
}

// Watched are the objects the request path reads from the cache. Secrets
// are not among them: they are read on demand, never held in memory.
func Watched() []client.Object {
	return []client.Object{
		&v1.Token{}, &v1.User{}, &v1.Cluster{}, &v1.ClusterRegistrationToken{}, &v1.ClusterAgentToken{},
		&v1.GlobalRole{}, &v1.GlobalRoleBinding{}, &v1.ClusterRoleTemplateBinding{},
		&v1.RoleTemplate{}, &v1.ProjectRoleTemplateBinding{}, &v1.Project{}, &v1.AuthConfig{}, &v1.Machine{},
	}
}

// Await waits until cache has seen the write that returned obj (or, with
// gone, its deletion), so that the writer's next request sees its own
// change. It gives up after five seconds and says so in log (nil: no log).
func Await(ctx context.Context, cache client.Reader, obj client.Object, gone bool, log *slog.Logger) {
	want, _ := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	cached := obj.DeepCopyObject().(client.Object)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		err := cache.Get(ctx, client.ObjectKeyFromObject(obj), cached)
		if gone && apierrors.IsNotFound(err) {
			return
		}
		if !gone && err == nil {
			if got, _ := strconv.ParseUint(cached.GetResourceVersion(), 10, 64); got >= want {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	if log != nil {
		log.Warn("the cache did not catch up with a write", "object", obj.GetName())
	}
}
