package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/crds"
)

// BenchmarkTokenVerify measures authenticating a bearer token from an
// informer cache of the management cluster holding 1,000 tokens, as the
// request path does (parse, cache reads of Token and User, salted hash).
func BenchmarkTokenVerify(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := clusters.Get("mgmt").RESTConfig()
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	if err := crds.Install(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	user := &v1.User{ObjectMeta: metav1.ObjectMeta{GenerateName: "u-bench-"}, Spec: v1.UserSpec{Username: "bench", Enabled: true}}
	if err := c.Create(ctx, user); err != nil {
		b.Fatal(err)
	}
	defer c.Delete(context.Background(), user)
	tokens := issueTokens(b, ctx, c, user, 1000)

	informers, err := cache.New(cfg, cache.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = informers.Start(ctx) }()
	var list v1.TokenList
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if err := informers.List(ctx, &list, client.MatchingLabels{authn.UserLabel: user.Name}); err == nil && len(list.Items) == len(tokens) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the cache has %d of %d tokens", len(list.Items), len(tokens))
		}
	}
	a := &authn.Authenticator{Cache: informers}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := a.Authenticate(ctx, tokens[i%len(tokens)]); err != nil {
			b.Fatal(err)
		}
	}
}

func issueTokens(b *testing.B, ctx context.Context, c client.Client, user *v1.User, n int) []string {
	tokens := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			tokens[i], _, errs[i] = authn.Issue(ctx, c, authn.TTLs{}, time.Now(), user, authn.TokenRequest{Description: fmt.Sprint("bench ", i)})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return tokens
}
