package server_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"herd.dev/herd/internal/herdtest"
	"herd.dev/herd/internal/server"
)

// TestReplicaLeases: each replica holds a Lease naming its peer address,
// replicas share Herd's CA through the management cluster, a replica's
// peer listener refuses a certificate of that CA that is not a peer
// certificate, and a replica that stops deletes its Lease.
func TestReplicaLeases(t *testing.T) {
	mgmt := herdtest.Kubectl{Kubeconfig: clusters.Get("mgmt").KubeconfigPath()}
	dirA := t.TempDir()
	a := onMgmt(t, func(c *server.Config) { c.ReplicaID, c.DataDir = "lease-a", dirA })
	b := onMgmt(t, func(c *server.Config) { c.ReplicaID = "lease-b" })
	if !bytes.Equal(a.CABundle(), b.CABundle()) {
		t.Errorf("the replicas serve with different CAs: agents pinning one would refuse the other")
	}
	var peerAddr string
	for _, id := range []string{"lease-a", "lease-b"} {
		herdtest.Eventually(t, "the lease of "+id, 10*time.Second, func() error {
			_, _, err := mgmt.Exec("-n", "herd-system", "get", "lease", "herd-replica-"+id)
			return err
		})
		holder := mgmt.Run(t, "-n", "herd-system", "get", "lease", "herd-replica-"+id, "-o", "jsonpath={.spec.holderIdentity}")
		if !strings.HasPrefix(holder, id+"_") {
			t.Errorf("lease of %s held by %q", id, holder)
		}
		addr := mgmt.Run(t, "-n", "herd-system", "get", "lease", "herd-replica-"+id, "-o", `jsonpath={.metadata.annotations.herd\.dev/peer-address}`)
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("peer address of %s: %q", id, addr)
		}
		if id == "lease-a" {
			peerAddr = addr
		}
	}

	// The serving certificate is of Herd's CA, but not a peer's.
	serving, err := tls.LoadX509KeyPair(filepath.Join(dirA, "tls", "serving.crt"), filepath.Join(dirA, "tls", "serving.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(a.CABundle())
	conn, err := tls.Dial("tcp", peerAddr, &tls.Config{Certificates: []tls.Certificate{serving}, RootCAs: pool, InsecureSkipVerify: true})
	if err == nil {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("the peer listener accepted the serving certificate: %v", err)
	}
	herdtest.Eventually(t, "a log line of the refused link", 5*time.Second, func() error {
		if !strings.Contains(a.Logs.String(), "peer link refused") {
			return errors.New("not logged")
		}
		return nil
	})

	b.Stop()
	if _, _, err := mgmt.Exec("-n", "herd-system", "get", "lease", "herd-replica-lease-b"); err == nil {
		t.Errorf("the stopped replica's lease is still there")
	}
}
