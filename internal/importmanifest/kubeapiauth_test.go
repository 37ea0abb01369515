package importmanifest_test

import (
	"fmt"
	"net"
	"path"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const kubeAPIAuth = "herd-kube-api-auth"

func TestKubeAPIAuthDaemonSet(t *testing.T) {
	var ds appsv1.DaemonSet
	typed(t, validParams(), "DaemonSet", &ds, kubeAPIAuth)
	spec := ds.Spec.Template.Spec
	c := spec.Containers[0]
	flags := map[string]string{}
	for i := 1; i+1 < len(c.Args); i += 2 {
		flags[c.Args[i]] = c.Args[i+1]
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || sc.RunAsUser == nil || sc.ReadOnlyRootFilesystem == nil ||
		sc.AllowPrivilegeEscalation == nil || sc.Capabilities == nil {
		t.Fatalf("securityContext: got %+v, want it all set", sc)
	}
	probe := c.LivenessProbe
	if probe == nil || probe.HTTPGet == nil {
		t.Fatalf("livenessProbe: got %+v, want an httpGet", probe)
	}
	get := probe.HTTPGet
	tests := []struct {
		name      string
		got, want any
	}{
		{"serviceAccountName", spec.ServiceAccountName, kubeAPIAuth},
		{"hostNetwork", spec.HostNetwork, true},
		{"nodeSelector", fmt.Sprint(spec.NodeSelector), "map[node-role.kubernetes.io/control-plane:]"},
		{"tolerates control-plane", slices.ContainsFunc(spec.Tolerations, func(tol corev1.Toleration) bool {
			return tol.Key == "node-role.kubernetes.io/control-plane" && tol.Operator == corev1.TolerationOpExists && tol.Effect == ""
		}), true},
		{"args", strings.Join(c.Args, " "), "kube-api-auth --cluster prod-1 --cluster-uid " + validParams().ClusterUID + " --listen 127.0.0.1:6440 " +
			"--tls-cert /etc/herd/kube-api-auth/tls.crt --tls-key /etc/herd/kube-api-auth/tls.key"},
		{"listens on loopback only", isLoopback(flags["--listen"]), true},
		{"no registration credentials", len(c.Env), 0},
		{"runAsNonRoot", *sc.RunAsNonRoot && *sc.RunAsUser != 0, true},
		{"readOnlyRootFilesystem", *sc.ReadOnlyRootFilesystem, true},
		{"allowPrivilegeEscalation", *sc.AllowPrivilegeEscalation, false},
		{"capabilities", fmt.Sprint(sc.Capabilities.Drop, sc.Capabilities.Add), "[ALL] []"},
		{"cpu request", c.Resources.Requests.Cpu().String(), "50m"},
		{"memory request", c.Resources.Requests.Memory().String(), "64Mi"},
		{"memory limit", c.Resources.Limits.Memory().String(), "128Mi"},
		{"liveness probe", fmt.Sprintf("%s://%s:%s%s", strings.ToLower(string(get.Scheme)), get.Host, get.Port.String(), get.Path),
			"https://127.0.0.1:6440/healthz"},
		{"certificate volume", hostPathOf(spec, c, path.Dir(flags["--tls-cert"])), "/etc/herd/kube-api-auth DirectoryOrCreate read-only"},
		{"key in the same volume", path.Dir(flags["--tls-key"]), path.Dir(flags["--tls-cert"])},
		{"update strategy", ds.Spec.UpdateStrategy.Type, appsv1.RollingUpdateDaemonSetStrategyType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// hostPathOf describes the volume that c mounts at dir.
func hostPathOf(spec corev1.PodSpec, c corev1.Container, dir string) string {
	for _, m := range c.VolumeMounts {
		if m.MountPath != dir {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.HostPath != nil && v.HostPath.Type != nil {
				ro := map[bool]string{true: "read-only", false: "writable"}[m.ReadOnly]
				return fmt.Sprintf("%s %s %s", v.HostPath.Path, *v.HostPath.Type, ro)
			}
		}
	}
	return "no hostPath volume at " + dir
}

// TestKubeAPIAuthRBAC checks that kube-api-auth may read Secrets in
// herd-tokens and nothing else.
func TestKubeAPIAuthRBAC(t *testing.T) {
	_, objs := render(t, validParams())
	var role rbacv1.Role
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(find(t, objs, "Role", kubeAPIAuth).Object, &role); err != nil {
		t.Fatal(err)
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"}}}
	if role.Namespace != "herd-tokens" || fmt.Sprint(role.Rules) != fmt.Sprint(want) {
		t.Errorf("role %s/%s: got rules %+v, want %+v in herd-tokens", role.Namespace, role.Name, role.Rules, want)
	}

	// Every binding of its service account, whatever its kind.
	var bindings []string
	for _, o := range objs {
		if o.GetKind() != "RoleBinding" && o.GetKind() != "ClusterRoleBinding" {
			continue
		}
		var b rbacv1.RoleBinding // a ClusterRoleBinding has the same fields
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &b); err != nil {
			t.Fatal(err)
		}
		for _, s := range b.Subjects {
			if s.Name == kubeAPIAuth || s.Kind == rbacv1.GroupKind && strings.HasPrefix(s.Name, "system:serviceaccounts") {
				bindings = append(bindings, fmt.Sprintf("%s %s/%s -> %s %s", o.GetKind(), b.Namespace, b.Name, b.RoleRef.Kind, b.RoleRef.Name))
			}
		}
	}
	wantBindings := []string{"RoleBinding herd-tokens/herd-kube-api-auth -> Role herd-kube-api-auth"}
	if !slices.Equal(bindings, wantBindings) {
		t.Errorf("bindings of %s: got %q, want %q", kubeAPIAuth, bindings, wantBindings)
	}
}
