package herdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rancher/remotedialer"
	"github.com/sirupsen/logrus"
	"k8s.io/client-go/rest"
)

// RancherDesign is Rancher 2.x's way to a downstream cluster, set up in
// the test process for side-by-side benchmarks with Herd: an HTTPS proxy
// that checks a bearer token and forwards /k8s/clusters/ID/... to the
// cluster's kube-apiserver through a rancher/remotedialer tunnel, with
// credentials of its own and, if asked, impersonation headers (as
// Rancher's cluster proxy does); the agent's end of the tunnel
// (remotedialer.ConnectToProxy, as cattle-cluster-agent runs it) runs in
// this process too.
type RancherDesign struct {
	// URL is https://ADDR/k8s/clusters/ID; Token its bearer token;
	// Client trusts the proxy's certificate (HTTP/1.1 unless the caller
	// sets ForceAttemptHTTP2 on a clone of its transport).
	URL, Token string
	Client     *http.Client
}

// quietLogrus discards remotedialer's logging (logrus is global) for the
// rest of the test binary.
var quietLogrus = sync.OnceFunc(func() { logrus.SetOutput(io.Discard) })

// StartRancherDesign starts it for the cluster that kube (its own
// credentials) reaches, adding impersonate to every forwarded request.
func StartRancherDesign(t testing.TB, id string, kube *rest.Config, impersonate http.Header) *RancherDesign {
	t.Helper()
	quietLogrus()
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	token := hex.EncodeToString(secret)
	tunnel := remotedialer.New(func(r *http.Request) (string, bool, error) {
		return id, r.Header.Get("X-Agent-Token") == token, nil
	}, remotedialer.DefaultErrorWriter)
	api, err := url.Parse(kube.Host)
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(kube)
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return tunnel.Dialer(id)(ctx, network, addr)
	}
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "/k8s/clusters/" + id
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = api.Scheme, api.Host, api.Host
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, prefix)
			pr.Out.URL.RawPath = ""
			pr.Out.Header.Del("Authorization")
			for k, v := range impersonate {
				pr.Out.Header[k] = v
			}
		},
		Transport: transport,
	}
	var handlers sync.WaitGroup
	hijacked := map[net.Conn]bool{}
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("/connect", func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		tunnel.ServeHTTP(w, r)
	})
	mux.HandleFunc(prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	})
	https := httptest.NewUnstartedServer(mux)
	https.EnableHTTP2 = true
	https.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateHijacked {
			mu.Lock()
			hijacked[c] = true
			mu.Unlock()
		}
	}
	https.StartTLS()
	dialer := &websocket.Dialer{TLSClientConfig: https.Client().Transport.(*http.Transport).TLSClientConfig,
		HandshakeTimeout: remotedialer.HandshakeTimeOut}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- remotedialer.ConnectToProxy(ctx, "wss"+strings.TrimPrefix(https.URL, "https")+"/connect",
			http.Header{"X-Agent-Token": {token}}, func(proto, addr string) bool { return proto == "tcp" && addr == api.Host }, dialer, nil)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		handlers.Wait()
		mu.Lock()
		for c := range hijacked {
			_ = c.Close()
		}
		mu.Unlock()
		https.Close()
	})
	Eventually(t, "the remotedialer agent connected", 30*time.Second, func() error {
		if !tunnel.HasSession(id) {
			return errNoSession
		}
		return nil
	})
	client := https.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 100
	return &RancherDesign{URL: https.URL + prefix, Token: token, Client: client}
}

var errNoSession = errors.New("no remotedialer session yet")
