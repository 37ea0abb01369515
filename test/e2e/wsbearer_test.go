package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWebSocketBearer: a browser, which cannot set headers on a WebSocket,
// authenticates with the bearer subprotocol; the proxy takes the token from
// it and never forwards it.
func TestWebSocketBearer(t *testing.T) {
	e := newEnv(t, "east")
	k := e.kubectl(t, e.admin)
	if _, errOut, err := k.ExecStdin(`apiVersion: v1
kind: Pod
metadata: {name: ws-bearer, namespace: default}
spec: {containers: [{name: c, image: nginx}]}
`, "apply", "-f", "-"); err != nil {
		t.Fatalf("pod: %v %s", err, errOut)
	}
	defer k.Run(t, "delete", "pod", "ws-bearer", "--wait=false")
	k.Run(t, "wait", "--for=condition=Ready", "pod/ws-bearer", "--timeout=60s")

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.s.CABundle())
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 10 * time.Second,
		Subprotocols: []string{"v5.channel.k8s.io", "base64url.bearer.authorization.k8s.io." + base64.RawURLEncoding.EncodeToString([]byte(e.admin))}}
	url := "wss" + strings.TrimPrefix(e.s.URL, "https") + "/k8s/clusters/east/api/v1/namespaces/default/pods/ws-bearer/exec?command=echo&command=hi-bearer&stdout=true"
	conn, resp, err := d.Dial(url, http.Header{}) // no Authorization header
	if err != nil {
		t.Fatalf("exec over WebSocket with the bearer subprotocol: %v (response %v)", err, resp)
	}
	defer conn.Close()
	if got := conn.Subprotocol(); got != "v5.channel.k8s.io" {
		t.Errorf("negotiated subprotocol %q, want v5.channel.k8s.io (the bearer one must never reach the cluster)", got)
	}
	var stdout strings.Builder
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			break
		}
		if len(msg) > 0 && msg[0] == 1 { // the stdout channel
			stdout.Write(msg[1:])
		}
	}
	if strings.TrimSpace(stdout.String()) != "hi-bearer" {
		t.Errorf("exec output %q, want hi-bearer", stdout.String())
	}

	// A wrong token in the subprotocol is refused.
	d.Subprotocols = []string{"v5.channel.k8s.io", "base64url.bearer.authorization.k8s.io." + base64.RawURLEncoding.EncodeToString([]byte("t-wrongtoken:"+strings.Repeat("A", 43)))}
	if _, resp, err := d.Dial(url, http.Header{}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token in the subprotocol: err %v, response %v, want 401", err, resp)
	}
}
