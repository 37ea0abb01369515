package importmanifest

import (
	"net"
	"path"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"herd.dev/herd/internal/wellknown"
)

// The authorized cluster endpoint: `herd kube-api-auth` runs on every
// control-plane node in the host's network namespace, where the node's
// kube-apiserver asks it on loopback about Herd tokens
// (--authentication-token-webhook-config-file pointing at
// https://127.0.0.1:6440/authenticate). It reads the token copies that
// Herd keeps in their own namespace (wellknown.TokenCopiesNamespace), and nothing
// else: not the agent's credentials in herd-system.
const (
	kubeAPIAuthName   = "herd-kube-api-auth"
	kubeAPIAuthPort   = wellknown.KubeAPIAuthPort
	kubeAPIAuthDir    = wellknown.KubeAPIAuthCertDir
	kubeAPIAuthVolume = "tls"
)

// kubeAPIAuthRBAC lets kube-api-auth read the token copies, and nothing
// else.
func kubeAPIAuthRBAC() []any {
	role := &rbacv1.Role{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "Role"),
		ObjectMeta: meta(wellknown.TokenCopiesNamespace, kubeAPIAuthName, nil),
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch"},
		}},
	}
	binding := &rbacv1.RoleBinding{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
		ObjectMeta: meta(wellknown.TokenCopiesNamespace, kubeAPIAuthName, nil),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: kubeAPIAuthName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: wellknown.Namespace, Name: kubeAPIAuthName}},
	}
	return []any{role, binding}
}

// kubeAPIAuthDaemonSet runs kube-api-auth on every control-plane node,
// listening on loopback only.
func kubeAPIAuthDaemonSet(p Params) *appsv1.DaemonSet {
	labels := map[string]string{"app": kubeAPIAuthName}
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(kubeAPIAuthPort))
	c := lockedDown("kube-api-auth", p.image(), "kube-api-auth",
		"--cluster", p.ClusterName,
		"--cluster-uid", p.ClusterUID,
		"--listen", listen,
		"--tls-cert", path.Join(kubeAPIAuthDir, "tls.crt"),
		"--tls-key", path.Join(kubeAPIAuthDir, "tls.key"))
	// Declared so that the scheduler keeps a second user of the port off
	// the node; with hostNetwork the host port is the container port.
	c.Ports = []corev1.ContainerPort{{
		Name: "https", ContainerPort: kubeAPIAuthPort, HostPort: kubeAPIAuthPort, Protocol: corev1.ProtocolTCP,
	}}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		// The probe goes to the pod IP unless told otherwise; kube-api-auth
		// listens on loopback only.
		Host: "127.0.0.1", Path: "/healthz", Port: intstr.FromInt32(kubeAPIAuthPort), Scheme: corev1.URISchemeHTTPS,
	}},
		// /healthz passes once the token copies are loaded; an apiserver
		// that is slow to come up must not get kube-api-auth restarted.
		PeriodSeconds: 10, FailureThreshold: 12,
	}
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: kubeAPIAuthVolume, MountPath: kubeAPIAuthDir, ReadOnly: true})
	spec := podSpec(kubeAPIAuthName, c)
	placeOnRealNodes(&spec)
	spec.NodeSelector = map[string]string{"node-role.kubernetes.io/control-plane": ""}
	// Control-plane nodes are tainted by their role (etcd too where a node
	// holds both, as in RKE2); kube-api-auth belongs there whatever the effect.
	for _, role := range []string{"control-plane", "master", "etcd"} {
		spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: "node-role.kubernetes.io/" + role, Operator: corev1.TolerationOpExists})
	}
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: kubeAPIAuthVolume, VolumeSource: corev1.VolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: kubeAPIAuthDir, Type: &dirOrCreate},
	}})
	return &appsv1.DaemonSet{
		TypeMeta:   typeMeta("apps/v1", "DaemonSet"),
		ObjectMeta: meta(wellknown.Namespace, kubeAPIAuthName, labels),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			// The default of one pod at a time and no surge: the old pod must
			// free the port before the new one binds it.
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
			Template:       corev1.PodTemplateSpec{ObjectMeta: meta("", "", labels), Spec: spec},
		},
	}
}
