// Package apitest serves Herd's real REST API (internal/api with the
// identity, clusters, authn and authz packages it calls) over a fake
// management cluster, for unit tests of the API's clients: a client's
// requests are answered by the handlers the server runs, so its tests
// cannot drift from the server. No controller runs: a test puts the
// objects it needs, with their status, and a downstream cluster is a
// client a test gives (Options.Downstream).
package apitest

import (
	"context"
	"crypto/rand"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/api"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/clusters"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/store"
	"herd.dev/herd/internal/wellknown"
)

// Options configure the server. Zero values are documented per field.
type Options struct {
	// Now is the clock of the API and the creationTimestamp of new
	// objects. Nil: time.Now.
	Now func() time.Time
	// Providers build identity providers by type. Nil: none, only local
	// users log in.
	Providers map[string]authn.ProviderFactory
	// Downstream is the client of a connected downstream cluster by name.
	// Nil: no cluster is connected (no agent can connect to this server).
	Downstream func(cluster string) (kubernetes.Interface, error)
	// LoginFailureLimit is the API's (failed logins per username a
	// minute). Zero: the API's default.
	LoginFailureLimit int
	// Logger receives the server's log. Nil: discard.
	Logger *slog.Logger
}

// Request is a request the server answered.
type Request struct {
	Method, URI string
	// Auth is the Authorization header.
	Auth string
	Body string
}

// Server is the API on a TLS port of 127.0.0.1 with its own certificate.
type Server struct {
	*httptest.Server
	// Client reads and writes the fake management cluster.
	Client client.Client
	// Directory is the API's: it makes users and tokens as the API does.
	Directory *identity.Directory

	now      func() time.Time
	mu       sync.Mutex
	requests []Request
}

// New starts the API until the test ends, over a fake management cluster
// holding Herd's built-in roles and role templates.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{now: opts.Now}
	s.Client = s.newClient(t)
	var rest http.Handler = http.NotFoundHandler()
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		rest.ServeHTTP(w, r)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	s.StartTLS()
	t.Cleanup(s.Close)
	rest = s.newAPI(t, opts)
	return s
}

// newClient is the fake management cluster: the cache's indexes, status
// subresources, and a UID and creationTimestamp on what is created, as an
// apiserver sets them.
func (s *Server) newClient(t testing.TB) client.Client {
	t.Helper()
	scheme, err := store.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&v1.User{}, &v1.Token{}, &v1.Cluster{}, &v1.Project{}, &v1.RoleTemplate{},
			&v1.ClusterRoleTemplateBinding{}, &v1.ProjectRoleTemplateBinding{}, &v1.GlobalRole{}, &v1.EtcdSnapshot{}, &v1.EtcdRestore{}).
		WithInterceptorFuncs(interceptor.Funcs{
			Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				s.stamp(obj)
				return c.Create(ctx, obj, opts...)
			},
		})
	for _, ix := range index.All() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	for _, r := range roles.GlobalRoles() {
		b = b.WithObjects(s.stamp(r))
	}
	for _, r := range roles.RoleTemplates() {
		b = b.WithObjects(s.stamp(r))
	}
	return b.Build()
}

// stamp sets a UID and the creationTimestamp of obj if it has none.
func (s *Server) stamp(obj client.Object) client.Object {
	if obj.GetUID() == "" {
		obj.SetUID(types.UID(strings.ToLower(rand.Text())))
	}
	if ts := obj.GetCreationTimestamp(); ts.IsZero() {
		obj.SetCreationTimestamp(metav1.NewTime(s.now().Truncate(time.Second)))
	}
	return obj
}

func (s *Server) newAPI(t testing.TB, opts Options) http.Handler {
	t.Helper()
	c := s.Client
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	az := &authz.Authorizer{Cache: c, Logger: opts.Logger}
	dir, err := identity.New(identity.Config{Client: c, Cache: c, API: c, Providers: opts.Providers,
		Logger: opts.Logger, Audit: opts.Logger, Now: opts.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.Directory = dir
	cm, err := clusters.New(clusters.Config{Context: ctx, Client: c, Cache: c, API: c, Authz: az,
		Logger: opts.Logger, Audit: opts.Logger, Now: opts.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{Client: c, Cache: c, API: c,
		Authn: &authn.Authenticator{Cache: c, Now: opts.Now}, Authz: az, Directory: dir, Clusters: cm, Providers: opts.Providers,
		ServerURL: s.URL, AgentImage: "herd-agent:test", CABundle: s.CAPEM(), EmbedCA: true, KubernetesVersions: []string{"v1.36.3", "v1.37.2"},
		Ready: func() bool { return true }, ManagementReady: func(context.Context) error { return nil },
		LoginFailureLimit: opts.LoginFailureLimit, Logger: opts.Logger, Audit: opts.Logger, Now: opts.Now}
	if opts.Downstream != nil {
		cfg.Downstream = func(_ context.Context, cluster string) (kubernetes.Interface, error) { return opts.Downstream(cluster) }
	}
	a, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// record keeps r with its body, which it leaves for the API to read.
func (s *Server) record(r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, URI: r.URL.RequestURI(), Auth: r.Header.Get("Authorization"), Body: string(body)})
}

// Requests returns the requests answered so far, from the nth on.
func (s *Server) Requests(n int) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests[min(n, len(s.requests)):])
}

// Find returns the requests with method and URI (path and query).
func (s *Server) Find(method, uri string) []Request {
	var out []Request
	for _, r := range s.Requests(0) {
		if r.Method == method && r.URI == uri {
			out = append(out, r)
		}
	}
	return out
}

// CAPEM is the server certificate in PEM, which clients pin.
func (s *Server) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// AddUser makes a local user with a password and global roles, as
// `herdctl users create` does, and returns it.
func (s *Server) AddUser(t testing.TB, username, displayName, password string, globalRoles ...string) *v1.User {
	t.Helper()
	ctx := context.Background()
	u, err := s.Directory.CreateUser(ctx, username, displayName, globalRoles)
	if err != nil {
		t.Fatalf("failed to make user %s: %v", username, err)
	}
	if err := authn.SetPassword(ctx, s.Client, wellknown.Namespace, u, password); err != nil {
		t.Fatalf("failed to set the password of %s: %v", username, err)
	}
	return u
}

// Put stores objs with their status, replacing what has their names.
func (s *Server) Put(t testing.TB, objs ...client.Object) {
	t.Helper()
	ctx := context.Background()
	for _, obj := range objs {
		obj = obj.DeepCopyObject().(client.Object)
		status := obj.DeepCopyObject().(client.Object)
		old := obj.DeepCopyObject().(client.Object)
		err := s.Client.Get(ctx, client.ObjectKeyFromObject(obj), old)
		switch {
		case err == nil:
			obj.SetResourceVersion(old.GetResourceVersion())
			obj.SetUID(old.GetUID())
			err = s.Client.Update(ctx, obj)
		case client.IgnoreNotFound(err) == nil:
			err = s.Client.Create(ctx, obj)
		}
		if err != nil {
			t.Fatalf("failed to store %T %s: %v", obj, obj.GetName(), err)
		}
		// The status subresource is written on its own, as in an apiserver.
		status.SetResourceVersion(obj.GetResourceVersion())
		status.SetUID(obj.GetUID())
		if err := s.Client.Status().Update(ctx, status); err != nil && !strings.Contains(err.Error(), "not found") {
			t.Fatalf("failed to store the status of %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

// Forget drops the requests answered so far, such as those of a test's
// setup.
func (s *Server) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Login logs username in and returns a client with the session token.
func (s *Server) Login(t testing.TB, username, password string) *herdclient.Client {
	t.Helper()
	anon, err := herdclient.New(herdclient.Config{Server: s.URL, CACert: s.CAPEM()})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := anon.Login(context.Background(), herdapi.LoginRequest{Username: username, Password: password, Kind: herdapi.KindSession})
	if err != nil {
		t.Fatalf("login as %s: %v", username, err)
	}
	c, err := herdclient.New(herdclient.Config{Server: s.URL, CACert: s.CAPEM(), Token: resp.Token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
