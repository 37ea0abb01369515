package api_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/api/apitest"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
	"herd.dev/herd/internal/roles"
)

// statusCode is the HTTP status of a failed call.
func statusCode(err error) int {
	var ae *herdclient.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

func TestClustersAsAdminAndUser(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := apitest.New(t, apitest.Options{Now: func() time.Time { return now }})
	s.AddUser(t, "alice", "Alice", "s3cret", roles.GlobalAdmin)
	s.AddUser(t, "bob", "", "hunter2", roles.GlobalUser)
	prod := &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Spec: v1.ClusterSpec{DisplayName: "Production"},
		Status: v1.ClusterStatus{KubernetesVersion: "v1.37.2", NodeCount: 3, Conditions: []metav1.Condition{
			{Type: v1.ClusterConnected, Status: metav1.ConditionTrue, Reason: "Connected", LastTransitionTime: metav1.NewTime(now)},
		}}}
	s.Put(t, prod)
	alice, bob := s.Login(t, "alice", "s3cret"), s.Login(t, "bob", "hunter2")

	list, err := alice.ListClusters(ctx)
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("alice lists clusters: got %+v, %v, want prod", list, err)
	}
	if got := list.Items[0]; got.Name != "prod" || got.Connected != "True" || got.Ready != "Unknown" || got.Version != "v1.37.2" || !got.CreatedAt.Equal(now) {
		t.Errorf("prod: got %+v", got)
	}
	if list, err := bob.ListClusters(ctx); err != nil || len(list.Items) != 0 {
		t.Errorf("bob, member of no cluster, lists: got %+v, %v, want none", list, err)
	}
	if _, err := bob.GetCluster(ctx, "prod"); statusCode(err) != http.StatusNotFound {
		t.Errorf("bob gets prod: got %v, want 404 (a cluster bob cannot see does not exist for him)", err)
	}
	if _, err := bob.CreateCluster(ctx, herdapi.ClusterCreateRequest{Name: "dev"}); statusCode(err) != http.StatusForbidden {
		t.Errorf("bob creates a cluster: got %v, want 403", err)
	}
	created, err := alice.CreateCluster(ctx, herdapi.ClusterCreateRequest{Name: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Cluster.Name != "dev" || created.Import.URL == "" || created.Import.ExpiresAt.IsZero() {
		t.Errorf("create: got %+v, want dev and how to import it", created)
	}
	if _, err := alice.CreateCluster(ctx, herdapi.ClusterCreateRequest{Name: "dev"}); statusCode(err) != http.StatusConflict {
		t.Errorf("create twice: got %v, want 409", err)
	}
}
