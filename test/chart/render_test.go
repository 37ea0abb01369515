package chart

import (
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// TestLint is `helm lint --strict` with the default values and the HA ones.
func TestLint(t *testing.T) {
	for _, values := range []string{"{}", haValues, privateCAValues} {
		lint := action.NewLint()
		lint.Strict, lint.Namespace = true, "herd"
		res := lint.Run([]string{chartDir(t)}, parseValues(t, values))
		if res.TotalChartsLinted != 1 {
			t.Errorf("values %s: linted %d charts", values, res.TotalChartsLinted)
		}
		for _, m := range res.Messages {
			if m.Severity > support.InfoSev {
				t.Errorf("values %s: %s", values, m)
			}
		}
		for _, err := range res.Errors {
			t.Errorf("values %s: %v", values, err)
		}
	}
}

const haValues = `
hostname: herd.example.com
replicas: 3
antiAffinity: required
auditLog: {level: 2, destination: file, maxSizeMB: 50, maxBackups: 3, volume: {persistentVolumeClaim: {claimName: audit}}}
resources: {requests: {cpu: "1", memory: 1Gi}, limits: {memory: 4Gi}}
agentImage: registry.example.com/herd/herd:v1.2.3
bootstrapPassword: correct-horse-battery
extraArgs: ["--session-ttl=8h"]
`

const privateCAValues = `
hostname: herd.example.com
hostnamePort: 8443
tls: {source: secret, secretName: herd-serving, privateCA: true, caSecretName: herd-ca}
auditLog: {destination: stdout}
`

// TestRender checks what the chart makes of the default, HA and private
// CA values: the server's flags and environment, anti-affinity, the
// disruption budget, TLS and audit volumes.
func TestRender(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		manifest, err := render(t, "herd", "{}")
		if err != nil {
			t.Fatal(err)
		}
		objs := objects(t, manifest)
		for _, want := range []string{"ServiceAccount/herd", "ClusterRoleBinding/herd-herd", "Secret/herd-bootstrap", "Service/herd", "Deployment/herd"} {
			if objs[want] == nil {
				t.Errorf("no %s among %v", want, keys(objs))
			}
		}
		if objs["PodDisruptionBudget/herd"] != nil {
			t.Error("a disruption budget for one replica would block every drain")
		}
		d, c := deploymentOf(t, objs)
		if *d.Spec.Replicas != 1 || d.Spec.Template.Spec.Affinity != nil {
			t.Errorf("replicas %d, affinity %v", *d.Spec.Replicas, d.Spec.Template.Spec.Affinity)
		}
		wantArgs := []string{"server", "--in-cluster", "--listen=:8443", "--data-dir=/var/lib/herd",
			"--replica-id=$(POD_NAME)", "--peer-listen=:9443", "--peer-advertise=$(POD_IP):9443",
			"--agent-image=herd/herd:dev",
			"--tls-san=herd,herd.herd,herd.herd.svc,herd.herd.svc.cluster.local", "--audit-log-level=1"}
		if !slices.Equal(c.Args, wantArgs) {
			t.Errorf("args:\n got %q\nwant %q", c.Args, wantArgs)
		}
		if c.Image != "herd/herd:dev" {
			t.Errorf("image %s", c.Image)
		}
		env := map[string]corev1.EnvVar{}
		for _, e := range c.Env {
			env[e.Name] = e
		}
		if ref := env["HERD_BOOTSTRAP_PASSWORD"].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "herd-bootstrap" {
			t.Errorf("HERD_BOOTSTRAP_PASSWORD: %+v", env["HERD_BOOTSTRAP_PASSWORD"])
		}
		secret := objs["Secret/herd-bootstrap"].(*corev1.Secret)
		if len(secret.Data["password"]) < 12 {
			t.Errorf("generated password of %d characters", len(secret.Data["password"]))
		}
		again, _ := render(t, "herd", "{}")
		if pw := objects(t, again)["Secret/herd-bootstrap"].(*corev1.Secret).Data["password"]; string(pw) == string(secret.Data["password"]) {
			t.Error("two installs generated the same password")
		}
		sc := c.SecurityContext
		if sc == nil || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !*d.Spec.Template.Spec.SecurityContext.RunAsNonRoot {
			t.Errorf("security context: %+v", sc)
		}
		if strings.Contains(manifest, "cluster.local\n") && !strings.Contains(manifest, "--tls-san") {
			t.Error("no --tls-san")
		}
	})
	t.Run("ha", func(t *testing.T) {
		manifest, err := render(t, "herd-system", haValues)
		if err != nil {
			t.Fatal(err)
		}
		objs := objects(t, manifest)
		d, c := deploymentOf(t, objs)
		spec := d.Spec.Template.Spec
		if *d.Spec.Replicas != 3 {
			t.Errorf("replicas %d", *d.Spec.Replicas)
		}
		if a := spec.Affinity; a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 ||
			a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].TopologyKey != "kubernetes.io/hostname" {
			t.Errorf("anti-affinity: %+v", spec.Affinity)
		}
		if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxSurge.IntValue() != 0 || ru.MaxUnavailable.IntValue() != 1 {
			t.Errorf("with required anti-affinity a surge pod finds no node: %+v", ru)
		}
		pdb, ok := objs["PodDisruptionBudget/herd"].(*policyv1.PodDisruptionBudget)
		if !ok || pdb.Spec.MaxUnavailable.IntValue() != 1 {
			t.Errorf("disruption budget: %+v", objs["PodDisruptionBudget/herd"])
		}
		for _, want := range []string{"--server-url=https://herd.example.com", "--agent-image=registry.example.com/herd/herd:v1.2.3",
			"--tls-san=herd,herd.herd-system,herd.herd-system.svc,herd.herd-system.svc.cluster.local",
			"--audit-log-level=2", "--audit-log-path=/var/log/herd/audit.log", "--audit-log-max-size=50", "--audit-log-max-backups=3", "--session-ttl=8h"} {
			if !slices.Contains(c.Args, want) {
				t.Errorf("no %s in %q", want, c.Args)
			}
		}
		if c.Resources.Limits.Memory().String() != "4Gi" || c.Resources.Requests.Cpu().String() != "1" {
			t.Errorf("resources %+v", c.Resources)
		}
		if pw := objs["Secret/herd-bootstrap"].(*corev1.Secret).Data["password"]; string(pw) != "correct-horse-battery" {
			t.Errorf("bootstrap password %q", pw)
		}
		if !hasVolume(spec.Volumes, "audit", func(v corev1.Volume) bool {
			return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "audit" && v.EmptyDir == nil
		}) {
			t.Errorf("audit volume: %+v", spec.Volumes)
		}
	})
	t.Run("audit file on an emptyDir", func(t *testing.T) {
		manifest, err := render(t, "herd", `auditLog: {destination: file}`)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := deploymentOf(t, objects(t, manifest))
		if !hasVolume(d.Spec.Template.Spec.Volumes, "audit", func(v corev1.Volume) bool { return v.EmptyDir != nil }) {
			t.Errorf("volumes: %+v", d.Spec.Template.Spec.Volumes)
		}
	})
	t.Run("private CA", func(t *testing.T) {
		manifest, err := render(t, "herd", privateCAValues)
		if err != nil {
			t.Fatal(err)
		}
		d, c := deploymentOf(t, objects(t, manifest))
		for _, want := range []string{"--server-url=https://herd.example.com:8443", "--tls-cert=/etc/herd/tls/tls.crt",
			"--tls-key=/etc/herd/tls/tls.key", "--tls-ca=/etc/herd/ca/cacerts.pem", "--audit-log-path=-"} {
			if !slices.Contains(c.Args, want) {
				t.Errorf("no %s in %q", want, c.Args)
			}
		}
		for _, a := range c.Args {
			if strings.HasPrefix(a, "--tls-san") {
				t.Errorf("%s with a certificate of one's own", a)
			}
		}
		spec := d.Spec.Template.Spec
		if !hasVolume(spec.Volumes, "tls", func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == "herd-serving" }) ||
			!hasVolume(spec.Volumes, "ca", func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == "herd-ca" }) {
			t.Errorf("volumes: %+v", spec.Volumes)
		}
	})
}

func hasVolume(vols []corev1.Volume, name string, ok func(corev1.Volume) bool) bool {
	for _, v := range vols {
		if v.Name == name {
			return ok(v)
		}
	}
	return false
}

// TestBadValues: values that cannot work are refused at install time with
// a message that says what to set, by the schema or the chart's checks.
func TestBadValues(t *testing.T) {
	for _, c := range []struct{ values, want string }{
		{`tls: {source: secret}`, "tls.source=secret needs tls.secretName"},
		{`tls: {privateCA: true}`, "set tls.source=secret"},
		{`tls: {source: secret, secretName: x, privateCA: true}`, "needs tls.caSecretName"},
		{`tls: {source: secret, secretName: x, additionalSANs: [a.example.com]}`, "put them into your certificate"},
		{`tls: {source: letsencrypt}`, "/tls/source"},
		{`replicas: 0`, "/replicas"},
		{`bootstrapPassword: short`, "bootstrapPassword"},
		{`hostname: https://herd.example.com`, "hostname"},
		{`auditLog: {level: 7}`, "/auditLog/level"},
		{`auditLog: {destination: syslog}`, "/auditLog/destination"},
		{`replica: 3`, "replica"},
		{`serviceAccount: {create: false}`, "serviceAccount.name"},
	} {
		_, err := render(t, "herd", c.values)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("values %s: got %v, want an error about %q", c.values, err, c.want)
		}
	}
}
