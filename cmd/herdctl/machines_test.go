package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/wellknown"
)

func TestMachinesList(t *testing.T) {
	c := newCLI(t)
	var prod v1.Cluster
	if err := c.srv.Client.Get(context.Background(), client.ObjectKey{Name: "prod"}, &prod); err != nil {
		t.Fatal(err)
	}
	owner := []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: "prod", UID: prod.UID}}
	contact := metav1.NewTime(testNow.Add(-30e9))
	machine := func(name, host, addr string, roles []string, st v1.MachineStatus) *v1.Machine {
		return &v1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owner, CreationTimestamp: metav1.NewTime(testNow),
			Labels: map[string]string{wellknown.ClusterLabel: "prod"}},
			Spec:   v1.MachineSpec{ClusterName: "prod", Hostname: host, Address: addr, Roles: roles, CredentialHash: "x"},
			Status: st}
	}
	c.srv.Put(t,
		machine("m-bbbbbbbbbb", "prod-worker-1", "127.0.3.2", []string{"worker"},
			v1.MachineStatus{State: v1.PlanFailed, Failures: 3, FailedInstruction: "install", LastContact: &contact}),
		machine("m-aaaaaaaaaa", "prod-cp-1", "127.0.3.1", []string{"control-plane", "etcd"},
			v1.MachineStatus{State: v1.PlanSucceeded, Probes: map[string]bool{"apiserver": true, "etcd": false}, LastContact: &contact}),
	)
	c.login("alice", "s3cret")
	c.runTests(t, []cmdTest{
		{name: "a cluster's administrator", args: []string{"machines", "list", "prod"}, stdout: "" +
			"HOSTNAME        ADDRESS     ROLES                PLAN                        PROBES   LAST CONTACT   NAME\n" +
			"prod-cp-1       127.0.3.1   control-plane,etcd   Succeeded                   1/2      30s ago        m-aaaaaaaaaa\n" +
			"prod-worker-1   127.0.3.2   worker               Failed (install, 3 tries)   -        30s ago        m-bbbbbbbbbb\n",
			requests: []string{"GET /v1/clusters/prod/machines"}},
		{name: "no such cluster", args: []string{"machines", "list", "nope"}, wantErr: true, stdout: "cluster nope not found",
			requests: []string{"GET /v1/clusters/nope/machines"}},
	})
	c.login("bob", "hunter2")
	c.runTests(t, []cmdTest{
		{name: "not a member", args: []string{"machines", "list", "prod"}, wantErr: true, stdout: "not found",
			requests: []string{"GET /v1/clusters/prod/machines"}},
	})
}

func TestClustersCreateProvisioned(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	stdout, _, err := c.run("", "clusters", "create", "made", "--provision", "v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "herd node-agent --server "+c.srv.URL) || !strings.Contains(stdout, "--roles etcd,control-plane|worker") ||
		!strings.Contains(stdout, "HERD_TOKEN=crt-") {
		t.Errorf("output:\n%s\nwant the node agent's command with a registration token", stdout)
	}
	var made v1.Cluster
	if err := c.srv.Client.Get(context.Background(), client.ObjectKey{Name: "made"}, &made); err != nil {
		t.Fatal(err)
	}
	if made.Spec.Provisioning == nil || made.Spec.Provisioning.KubernetesVersion != "v1.37.2" {
		t.Errorf("cluster spec: %+v", made.Spec)
	}
	c.fails("cannot be provisioned; supported: v1.36.3, v1.37.2", "", "clusters", "create", "old", "--provision", "v1.20.0")
}

// TestClustersPools: --pool makes a provisioned cluster's machine pools;
// `clusters scale` sets a pool's quantity, or adds none when the pool
// does not exist without roles; bad pools are refused with what to write.
func TestClustersPools(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	stdout, _, err := c.run("", "clusters", "create", "fleet", "--provision", "v1.37.2", "--pool", "cp=3:etcd+control-plane", "--pool", "w=2:worker")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "machine driver creates the pools' machines") || !strings.Contains(stdout, "etcd,control-plane") {
		t.Errorf("output:\n%s\nwant the pools", stdout)
	}
	pools := func() string {
		var fleet v1.Cluster
		if err := c.srv.Client.Get(context.Background(), client.ObjectKey{Name: "fleet"}, &fleet); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range fleet.Spec.Provisioning.MachinePools {
			out = append(out, fmt.Sprintf("%s=%d:%s/%s", p.Name, p.Quantity, strings.Join(p.Roles, "+"), p.Driver))
		}
		return strings.Join(out, " ")
	}
	if got := pools(); got != "cp=3:etcd+control-plane/local w=2:worker/local" {
		t.Errorf("pools %q", got)
	}
	c.ok("", "clusters", "scale", "fleet", "w", "5")
	if got := pools(); got != "cp=3:etcd+control-plane/local w=5:worker/local" {
		t.Errorf("pools after scale %q", got)
	}
	c.fails("needs roles", "", "clusters", "scale", "fleet", "new", "1")
	c.fails("want NAME=QUANTITY:ROLES", "", "clusters", "create", "x", "--provision", "v1.37.2", "--pool", "cp3")
	c.fails("between 0 and 50", "", "clusters", "create", "x", "--provision", "v1.37.2", "--pool", "cp=99:etcd")
	c.fails("give a Kubernetes version", "", "clusters", "create", "x", "--pool", "cp=1:etcd")
	c.fails("imported, not provisioned", "", "clusters", "scale", "prod", "w", "1")
	c.fails("want a number of machines", "", "clusters", "scale", "fleet", "w", "many")
}

// TestClustersCreateHosted: --hosted makes a hosted cluster with the
// provider's defaults; a hosted cluster is not provisioned too.
func TestClustersCreateHosted(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	stdout, _, err := c.run("", "clusters", "create", "south", "--hosted", "local", "--nodes", "3")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "The local provider makes the cluster (Kubernetes v1.37.2)") {
		t.Errorf("output:\n%s", stdout)
	}
	var south v1.Cluster
	if err := c.srv.Client.Get(context.Background(), client.ObjectKey{Name: "south"}, &south); err != nil {
		t.Fatal(err)
	}
	if h := south.Spec.Hosted; h == nil || h.Provider != "local" || h.Nodes != 3 || h.RealNodes != 1 || h.KubernetesVersion != "v1.37.2" {
		t.Errorf("hosted spec %+v", south.Spec.Hosted)
	}
	c.fails("not both", "", "clusters", "create", "x", "--hosted", "local", "--provision", "v1.37.2")
	c.fails("one there is: local", "", "clusters", "create", "x", "--hosted", "gke")
}

// madeWithSnapshot logs alice in, provisions cluster "made" and asks for
// a snapshot of it: the output of save, and the snapshot's name.
func madeWithSnapshot(t *testing.T) (*cli, string, string) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.ok("", "clusters", "create", "made", "--provision", "v1.37.2")
	stdout, _, err := c.run("", "etcd", "snapshot", "save", "made")
	if err != nil {
		t.Fatal(err)
	}
	return c, stdout, strings.Fields(strings.TrimPrefix(stdout, "etcd snapshot "))[0]
}

// TestEtcdSnapshotCommands: save asks for a snapshot (Pending until the
// cluster's etcd member takes it), list shows it, delete removes it; an
// imported cluster has no snapshots to take.
func TestEtcdSnapshotCommands(t *testing.T) {
	c, stdout, name := madeWithSnapshot(t)
	if !strings.HasPrefix(name, "made-") || !strings.Contains(stdout, "requested") {
		t.Fatalf("save: %q", stdout)
	}
	list, _, err := c.run("", "etcd", "snapshot", "list", "made")
	if err != nil || !strings.Contains(list, name) || !strings.Contains(list, "Pending") {
		t.Errorf("list: %q %v", list, err)
	}
	out, _, err := c.run("", "etcd", "snapshot", "delete", "made", name)
	if err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("delete: %q %v", out, err)
	}
	if list, _, _ := c.run("", "etcd", "snapshot", "list", "made"); strings.Contains(list, name) {
		t.Errorf("list after delete: %q", list)
	}
	c.fails("not provisioned by Herd", "", "etcd", "snapshot", "save", "prod")
	c.fails("not found", "", "etcd", "snapshot", "delete", "made", "nosuch")
}

// TestSnapshotScheduleFlags: --snapshot-interval and --snapshot-retention
// set a provisioned cluster's schedule; bad ones are refused.
func TestSnapshotScheduleFlags(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.ok("", "clusters", "create", "made", "--provision", "v1.37.2", "--snapshot-interval", "6h", "--snapshot-retention", "5")
	var made v1.Cluster
	if err := c.srv.Client.Get(context.Background(), client.ObjectKey{Name: "made"}, &made); err != nil {
		t.Fatal(err)
	}
	if s := made.Spec.Provisioning.EtcdSnapshots; s == nil || s.Interval.Duration.String() != "6h0m0s" || s.Retention != 5 {
		t.Errorf("schedule %+v", made.Spec.Provisioning.EtcdSnapshots)
	}
	c.fails("at least 1m", "", "clusters", "create", "x", "--provision", "v1.37.2", "--snapshot-interval", "10s", "--snapshot-retention", "5")
	c.fails("between 1 and 100", "", "clusters", "create", "x", "--provision", "v1.37.2", "--snapshot-interval", "1h")
	c.fails("for provisioned clusters", "", "clusters", "create", "x", "--snapshot-interval", "1h", "--snapshot-retention", "2")

	out, _, err := c.run("", "etcd", "snapshot", "schedule", "made", "--interval", "30m", "--retention", "3")
	if err != nil || !strings.Contains(out, "every 30m0s and keeps the newest 3") {
		t.Errorf("schedule: %q %v", out, err)
	}
	out, _, err = c.run("", "etcd", "snapshot", "schedule", "made", "--off")
	if err != nil || !strings.Contains(out, "takes no scheduled snapshots") {
		t.Errorf("schedule --off: %q %v", out, err)
	}
	if err := c.srv.Client.Get(context.Background(), client.ObjectKey{Name: "made"}, &made); err != nil || made.Spec.Provisioning.EtcdSnapshots != nil {
		t.Errorf("schedule after --off: %+v %v", made.Spec.Provisioning.EtcdSnapshots, err)
	}
	c.fails("give --interval and --retention, or --off", "", "etcd", "snapshot", "schedule", "made")
	c.fails("at least 1m", "", "etcd", "snapshot", "schedule", "made", "--interval", "5s", "--retention", "1")
	c.fails("not provisioned by Herd", "", "etcd", "snapshot", "schedule", "prod", "--interval", "1h", "--retention", "1")
}

// TestClustersEndpoint: the direct context is switched on and off with
// herdctl; asking for it where there is none says how to turn it on.
func TestClustersEndpoint(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.fails("herdctl clusters endpoint prod --enable", "", "kubeconfig", "prod", "--direct")
	out, _, err := c.run("", "clusters", "endpoint", "prod", "--enable", "--fqdn", "prod.example.com:6443")
	if err != nil || !strings.Contains(out, "prod-direct") {
		t.Fatalf("enable: %q %v", out, err)
	}
	kc, _, err := c.run("", "kubeconfig", "prod", "--direct")
	if err != nil || !strings.Contains(kc, "current-context: prod-direct") || !strings.Contains(kc, "server: https://prod.example.com:6443") {
		t.Errorf("kubeconfig --direct: %v\n%s", err, kc)
	}
	c.ok("", "clusters", "endpoint", "prod", "--disable")
	var prod v1.Cluster
	if err := c.srv.Client.Get(context.Background(), client.ObjectKey{Name: "prod"}, &prod); err != nil || prod.Spec.AuthorizedEndpoint == nil || prod.Spec.AuthorizedEndpoint.Enabled {
		t.Errorf("after --disable: %+v %v", prod.Spec.AuthorizedEndpoint, err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fails("give --enable or --disable", "", "clusters", "endpoint", "prod")
	c.fails("goes with --enable", "", "clusters", "endpoint", "prod", "--disable", "--fqdn", "a.example")
	c.fails("goes with an FQDN", "", "clusters", "endpoint", "prod", "--enable", "--ca-file", ca)
	c.fails("PEM certificates", "", "clusters", "endpoint", "prod", "--enable", "--fqdn", "a.example", "--ca-file", ca)
	c.fails("must be HOST[:PORT]", "", "clusters", "endpoint", "prod", "--enable", "--fqdn", "not a host")
	c.login("bob", "hunter2")
	c.fails("not found", "", "clusters", "endpoint", "prod", "--enable")
}

// TestClustersUpgrade: `herdctl clusters upgrade` sets a provisioned
// cluster's version and worker concurrency; downgrades, skipped minors,
// unknown versions, imported clusters and non-administrators are refused,
// the cluster left as it was.
func TestClustersUpgrade(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.ok("", "clusters", "create", "old", "--provision", "v1.36.3", "--pool", "cp=1:etcd+control-plane")
	spec := func() string {
		var old v1.Cluster
		if err := c.srv.Client.Get(context.Background(), client.ObjectKey{Name: "old"}, &old); err != nil {
			t.Fatal(err)
		}
		out := old.Spec.Provisioning.KubernetesVersion
		if s := old.Spec.Provisioning.UpgradeStrategy; s != nil {
			out += fmt.Sprintf(" workers %d", s.WorkerConcurrency)
		}
		return out
	}
	c.fails("cannot be provisioned; supported: v1.36.3, v1.37.2", "", "clusters", "upgrade", "old", "--kubernetes-version", "v1.38.0")
	c.fails("give --kubernetes-version", "", "clusters", "upgrade", "old")
	c.fails("workerConcurrency must be between 1 and 50", "", "clusters", "upgrade", "old", "--kubernetes-version", "v1.37.2", "--worker-concurrency", "99")
	c.fails("is not provisioned by Herd", "", "clusters", "upgrade", "prod", "--kubernetes-version", "v1.37.2")
	if got := spec(); got != "v1.36.3" {
		t.Errorf("after refusals: %q", got)
	}
	out, _, err := c.run("", "clusters", "upgrade", "old", "--kubernetes-version", "v1.37.2", "--worker-concurrency", "2")
	if err != nil || !strings.Contains(out, "being upgraded to Kubernetes v1.37.2") {
		t.Fatalf("upgrade: %q %v", out, err)
	}
	if got := spec(); got != "v1.37.2 workers 2" {
		t.Errorf("after the upgrade: %q", got)
	}
	c.fails("downgrades are not supported", "", "clusters", "upgrade", "old", "--kubernetes-version", "v1.36.3")
	c.login("bob", "hunter2")
	c.fails("not found", "", "clusters", "upgrade", "old", "--kubernetes-version", "v1.37.2")
}

// TestEtcdRestoreCommands: `herdctl etcd snapshot restore` starts a
// restore of a snapshot that was taken, one at a time; `etcd restore
// list` shows it; --wait gives up with what it waits for. Snapshots that
// are not the cluster's or not taken are refused. (No planner runs here:
// the restore stays Pending; TestUpgrade runs one end to end.)
func TestEtcdRestoreCommands(t *testing.T) {
	c, _, name := madeWithSnapshot(t)
	c.fails("was not taken (phase Pending)", "", "etcd", "snapshot", "restore", "made", name)
	c.fails("has no etcd snapshot", "", "etcd", "snapshot", "restore", "made", "other-snapshot")
	ctx := context.Background()
	var snap v1.EtcdSnapshot
	if err := c.srv.Client.Get(ctx, client.ObjectKey{Name: name}, &snap); err != nil {
		t.Fatal(err)
	}
	snap.Status.Phase = v1.SnapshotSucceeded
	if err := c.srv.Client.Status().Update(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	var made v1.Cluster
	if err := c.srv.Client.Get(ctx, client.ObjectKey{Name: "made"}, &made); err != nil {
		t.Fatal(err)
	}
	upgrading := metav1.Condition{Type: v1.ClusterUpgraded, Status: metav1.ConditionFalse, Reason: "Upgrading", Message: "m", LastTransitionTime: metav1.Now()}
	made.Status.Conditions = append(made.Status.Conditions, upgrading)
	if err := c.srv.Client.Status().Update(ctx, &made); err != nil {
		t.Fatal(err)
	}
	c.fails("is being upgraded to Kubernetes v1.37.2: restore once the upgrade has ended", "", "etcd", "snapshot", "restore", "made", name)
	made.Status.Conditions[len(made.Status.Conditions)-1].Reason = "UpToDate"
	made.Status.Conditions[len(made.Status.Conditions)-1].Status = metav1.ConditionTrue
	if err := c.srv.Client.Status().Update(ctx, &made); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := c.run("", "etcd", "snapshot", "restore", "made", name, "--wait", "3s")
	if err == nil || !strings.Contains(err.Error(), "has not ended after 3s") || !strings.Contains(errOut, "Pending") {
		t.Fatalf("restore --wait: %v, stderr %q", err, errOut)
	}
	c.fails("one restore runs at a time", "", "etcd", "snapshot", "restore", "made", name)
	c.fails("has not ended: upgrade once it has", "", "clusters", "upgrade", "made", "--kubernetes-version", "v1.37.2")
	list, _, err := c.run("", "etcd", "restore", "list", "made")
	if err != nil || !strings.Contains(list, name) || !strings.Contains(list, "Pending") {
		t.Errorf("restore list: %q %v", list, err)
	}
	c.fails("not provisioned by Herd", "", "etcd", "snapshot", "restore", "prod", name)
	c.login("bob", "hunter2")
	c.fails("not found", "", "etcd", "restore", "list", "made")
}

// TestEtcdS3Command: `herdctl etcd s3` sets a provisioned cluster's S3
// store, the keys in a Secret and never answered; bad stores are refused;
// --off removes the store and its Secret.
func TestEtcdS3Command(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.ok("", "clusters", "create", "made", "--provision", "v1.37.2")
	out, _, err := c.run("the-secret-key\n", "etcd", "s3", "made", "--endpoint", "s3.example.com:9000", "--bucket", "snaps", "--folder", "made",
		"--access-key", "AK", "--secret-key-stdin", "-o", "json")
	if err != nil || !strings.Contains(out, `"bucket": "snaps"`) || strings.Contains(out, "the-secret-key") || strings.Contains(out, `"AK"`) {
		t.Fatalf("set: %v\n%s", err, out)
	}
	ctx := context.Background()
	var made v1.Cluster
	if err := c.srv.Client.Get(ctx, client.ObjectKey{Name: "made"}, &made); err != nil || made.Spec.Provisioning.EtcdS3 == nil {
		t.Fatalf("spec: %+v %v", made.Spec.Provisioning, err)
	}
	var secret corev1.Secret
	if err := c.srv.Client.Get(ctx, client.ObjectKey{Namespace: "herd-system", Name: made.Spec.Provisioning.EtcdS3.CredentialsSecret}, &secret); err != nil ||
		string(secret.Data["secretKey"]) != "the-secret-key" || string(secret.Data["accessKey"]) != "AK" {
		t.Errorf("credentials secret: %v %v", secret.Data, err)
	}
	c.fails("bucket must be an S3 bucket name", "k\n", "etcd", "s3", "made", "--endpoint", "s3.example.com", "--bucket", "B", "--access-key", "AK", "--secret-key-stdin")
	c.fails("endpoint must be HOST[:PORT]", "k\n", "etcd", "s3", "made", "--endpoint", "not a host", "--bucket", "snaps", "--access-key", "AK", "--secret-key-stdin")
	c.fails("folder must be a relative path", "k\n", "etcd", "s3", "made", "--endpoint", "s3.example.com", "--bucket", "snaps", "--folder", "../x", "--access-key", "AK", "--secret-key-stdin")
	c.fails("accessKey and secretKey are required", "k\n", "etcd", "s3", "made", "--endpoint", "s3.example.com", "--bucket", "snaps", "--secret-key-stdin")
	c.fails("give --secret-key-stdin", "", "etcd", "s3", "made", "--endpoint", "s3.example.com", "--bucket", "snaps", "--access-key", "AK")
	c.fails("not provisioned by Herd", "k\n", "etcd", "s3", "prod", "--endpoint", "s3.example.com", "--bucket", "snaps", "--access-key", "AK", "--secret-key-stdin")
	out, _, err = c.run("", "etcd", "s3", "made", "--off")
	if err != nil || !strings.Contains(out, "on its etcd machine only") {
		t.Errorf("--off: %q %v", out, err)
	}
	if err := c.srv.Client.Get(ctx, client.ObjectKey{Namespace: "herd-system", Name: secret.Name}, &secret); err == nil {
		t.Errorf("the credentials secret outlived --off")
	}
}
