package importmanifest_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"herd.dev/herd/internal/importmanifest"
	"herd.dev/herd/internal/wellknown"
)

// typed converts the first object of kind (and name, if given) in p's
// manifest into into.
func typed(t *testing.T, p importmanifest.Params, kind string, into any, name ...string) {
	t.Helper()
	_, objs := render(t, p)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(find(t, objs, kind, name...).Object, into); err != nil {
		t.Fatalf("convert %s: %v", kind, err)
	}
}

func TestDeploymentSpreadsAcrossNodes(t *testing.T) {
	var d appsv1.Deployment
	typed(t, validParams(), "Deployment", &d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas: got %v, want 2", d.Spec.Replicas)
	}
	spread := d.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) != 1 || spread[0].TopologyKey != "kubernetes.io/hostname" || spread[0].MaxSkew != 1 ||
		spread[0].WhenUnsatisfiable != corev1.DoNotSchedule || spread[0].LabelSelector.MatchLabels["app"] != "herd-agent" {
		t.Errorf("topologySpreadConstraints: got %+v, want one on kubernetes.io/hostname, maxSkew 1, DoNotSchedule", spread)
	}
	aff := d.Spec.Template.Spec.Affinity
	if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Errorf("affinity: got %+v, want one preferred pod anti-affinity term", aff)
	}
	if got := d.Spec.Strategy.Type; got != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("strategy: got %q, want RollingUpdate", got)
	}
	spec := d.Spec.Template.Spec
	if spec.ServiceAccountName != "herd-agent" {
		t.Errorf("serviceAccountName: got %q, want herd-agent", spec.ServiceAccountName)
	}
	if len(spec.Tolerations) != 2 || spec.Tolerations[0].Key != "node-role.kubernetes.io/control-plane" || spec.Tolerations[1].Key != wellknown.NoRegistryTaint {
		t.Errorf("tolerations: got %+v, want control-plane and %s", spec.Tolerations, wellknown.NoRegistryTaint)
	}
	wantOnRealNodes(t, spec)
	c := spec.Containers[0]
	sc := c.SecurityContext
	if c.Name != "agent" || strings.Join(c.Args, " ") != "agent --health-addr=$(POD_IP):9445" || sc == nil || !*sc.RunAsNonRoot ||
		!*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container: got %+v, want agent, args [agent --health-addr=$(POD_IP):9445], locked down", c)
	}
	wantProbes(t, c, 9445)
	if c.Resources.Requests.Cpu().String() != "50m" || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources: got %+v, want cpu 50m request and a memory limit", c.Resources)
	}
	wantEnv(t, c.Env, "HERD_SERVER", "url", "HERD_TOKEN", "token", "HERD_CA_CHECKSUM", "ca-checksum", "HERD_CLUSTER", "cluster")
}

func TestDaemonSetRunsEverywhere(t *testing.T) {
	var ds appsv1.DaemonSet
	typed(t, validParams(), "DaemonSet", &ds)
	spec := ds.Spec.Template.Spec
	if len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != corev1.TolerationOpExists || spec.Tolerations[0].Key != "" {
		t.Errorf("tolerations: got %+v, want one that tolerates everything", spec.Tolerations)
	}
	wantOnRealNodes(t, spec)
	c := spec.Containers[0]
	const args = "node-agent --credentials-dir /etc/herd/node --apiserver $(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT) --health-addr=$(POD_IP):9446"
	if strings.Join(c.Args, " ") != args {
		t.Errorf("args: got %v, want %s", c.Args, args)
	}
	// No agent credential (the agent token is the cluster agent's alone):
	// only the node agents' Secret, readable by the image's group.
	var secrets []string
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			secrets = append(secrets, v.Secret.SecretName)
			if v.Secret.Optional == nil || !*v.Secret.Optional || v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o440 {
				t.Errorf("secret volume %+v: want optional, mode 0440", v.Secret)
			}
		}
	}
	if strings.Join(secrets, ",") != "herd-node-credentials" || spec.SecurityContext == nil || spec.SecurityContext.FSGroup == nil || *spec.SecurityContext.FSGroup != 65532 {
		t.Errorf("secret volumes %v, security context %+v: want herd-node-credentials alone, fsGroup 65532", secrets, spec.SecurityContext)
	}
	if len(c.Env) != 2 || c.Env[0].Name != "NODE_NAME" || c.Env[0].ValueFrom.FieldRef.FieldPath != "spec.nodeName" ||
		c.Env[1].Name != "POD_IP" || c.Env[1].ValueFrom.FieldRef.FieldPath != "status.podIP" {
		t.Errorf("env: got %+v, want only NODE_NAME and POD_IP from the pod", c.Env)
	}
	wantProbes(t, c, 9446)
}

// wantOnRealNodes checks that pods of spec use the host's network and
// never go to kwok's simulated nodes.
func wantOnRealNodes(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	if !spec.HostNetwork || spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v, dnsPolicy %q: want the host's network", spec.HostNetwork, spec.DNSPolicy)
	}
	var terms []corev1.NodeSelectorTerm
	if spec.Affinity != nil && spec.Affinity.NodeAffinity != nil && spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		terms = spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	}
	if len(terms) != 1 || len(terms[0].MatchExpressions) != 1 || terms[0].MatchExpressions[0].Key != "type" ||
		terms[0].MatchExpressions[0].Operator != corev1.NodeSelectorOpNotIn || terms[0].MatchExpressions[0].Values[0] != "kwok" {
		t.Errorf("node affinity: got %+v, want required type NotIn [kwok]", terms)
	}
}

// wantProbes checks that c's probes reach /healthz and /readyz on the
// port it serves them on, declared as a host port.
func wantProbes(t *testing.T, c corev1.Container, port int32) {
	t.Helper()
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != port || c.Ports[0].HostPort != port || c.Ports[0].Name != "health" {
		t.Errorf("ports: got %+v, want health %d as a host port", c.Ports, port)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.LivenessProbe.HTTPGet.Port.StrVal != "health" ||
		c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.ReadinessProbe.HTTPGet.Port.StrVal != "health" {
		t.Errorf("probes: got %+v / %+v, want /healthz and /readyz on health", c.LivenessProbe, c.ReadinessProbe)
	}
}

// wantEnv checks that env sets each name (pairs of name, Secret key) from
// the credentials Secret.
func wantEnv(t *testing.T, env []corev1.EnvVar, pairs ...string) {
	t.Helper()
	byName := map[string]corev1.EnvVar{}
	for _, e := range env {
		byName[e.Name] = e
	}
	for i := 0; i < len(pairs); i += 2 {
		e, ok := byName[pairs[i]]
		if !ok || e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
			e.ValueFrom.SecretKeyRef.Name != "herd-credentials" || e.ValueFrom.SecretKeyRef.Key != pairs[i+1] {
			t.Errorf("env %s: got %+v, want secretKeyRef herd-credentials/%s", pairs[i], e, pairs[i+1])
		}
	}
}

func TestTokenOnlyInSecret(t *testing.T) {
	p := validParams()
	var s corev1.Secret
	typed(t, p, "Secret", &s)
	want := map[string]string{"url": p.ServerURL, "token": p.Token, "ca-checksum": p.CAChecksum, "cluster": p.ClusterName}
	for k, v := range want {
		if got := s.StringData[k] + string(s.Data[k]); got != v {
			t.Errorf("Secret key %s: got %q, want %q", k, got, v)
		}
	}
	// The secret half of the token must not show up outside the Secret
	// either (in an annotation, say).
	_, secretPart, _ := strings.Cut(p.Token, ":")
	docs, objs := render(t, p)
	for i, doc := range docs {
		isSecret := objs[i].GetKind() == "Secret"
		if has := strings.Contains(doc, secretPart); has != isSecret {
			t.Errorf("%s %s: holds the token: got %v, want %v", objs[i].GetKind(), objs[i].GetName(), has, isSecret)
		}
	}
}

func TestImage(t *testing.T) {
	for _, tt := range []struct{ name, image, want string }{
		{"default", "", importmanifest.DefaultImage()},
		{"given", "herd/herd:v1.2.3", "herd/herd:v1.2.3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := validParams()
			p.Image = tt.image
			var d appsv1.Deployment
			var ds, auth appsv1.DaemonSet
			typed(t, p, "Deployment", &d)
			typed(t, p, "DaemonSet", &ds)
			typed(t, p, "DaemonSet", &auth, "herd-kube-api-auth")
			for _, got := range []string{d.Spec.Template.Spec.Containers[0].Image, ds.Spec.Template.Spec.Containers[0].Image, auth.Spec.Template.Spec.Containers[0].Image} {
				if got != tt.want {
					t.Errorf("image: got %q, want %q", got, tt.want)
				}
			}
		})
	}
}
