package importmanifest

import (
	"bytes"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"herd.dev/herd/internal/wellknown"
)

// Names of the objects in the manifest.
const (
	agentName     = "herd-agent"
	nodeAgentName = "herd-node-agent"
	secretName    = "herd-credentials"
)

// Keys of the credentials Secret.
const (
	keyURL        = "url"
	keyToken      = "token"
	keyCAChecksum = "ca-checksum"
	keyCluster    = "cluster"
)

// Render returns the manifest as multi-document YAML ("---" between
// documents), its objects in apply order.
func Render(p Params) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	objs := []any{
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: meta("", wellknown.Namespace, nil)},
		// Token copies live apart, so that kube-api-auth reads them and
		// not the agent's credentials.
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: meta("", wellknown.TokenCopiesNamespace, nil)},
		serviceAccount(agentName, nil),
		// The node agent does not talk to the Kubernetes API: no token, no RBAC.
		serviceAccount(nodeAgentName, new(false)),
		serviceAccount(kubeAPIAuthName, nil),
		clusterRole(),
		clusterRoleBinding(),
		adminsBinding(),
	}
	objs = append(objs, kubeAPIAuthRBAC()...)
	objs = append(objs, projectLabelsObjects()...)
	objs = append(objs,
		secret(p),
		deployment(p),
		daemonSet(p),
		kubeAPIAuthDaemonSet(p),
	)
	var buf bytes.Buffer
	for i, obj := range objs {
		doc, err := marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("failed to render object %d of the import manifest: %w", i, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
	}
	return buf.Bytes(), nil
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// meta returns object metadata with the managed-by label plus labels.
func meta(namespace, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: wellknown.ManagedLabels(labels)}
}

func serviceAccount(name string, automount *bool) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:                     typeMeta("v1", "ServiceAccount"),
		ObjectMeta:                   meta(wellknown.Namespace, name, nil),
		AutomountServiceAccountToken: automount,
	}
}

// clusterRole grants everything, like Rancher's cattle cluster-admin
// binding: the agent proxies every request of every Herd user, who is then
// limited by impersonation. Herd binds its own role rather than
// cluster-admin so that the grant is visible in the manifest and does not
// change with the downstream cluster's bootstrap policy.
func clusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"),
		ObjectMeta: meta("", agentName, nil),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
			{NonResourceURLs: []string{"*"}, Verbs: []string{"*"}},
		},
	}
}

func clusterRoleBinding() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
		ObjectMeta: meta("", agentName, nil),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: agentName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: wellknown.Namespace, Name: agentName}},
	}
}

// adminsBinding gives Herd administrators cluster-admin.
func adminsBinding() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
		ObjectMeta: meta("", "herd-global-admins", nil),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: wellknown.AdminsGroup}},
	}
}

// secret holds the registration credentials; it is the only object that
// carries the token.
func secret(p Params) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: meta(wellknown.Namespace, secretName, nil),
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{
			keyURL:        p.ServerURL,
			keyToken:      p.Token,
			keyCAChecksum: p.CAChecksum,
			keyCluster:    p.ClusterName,
		},
	}
}

// marshal returns obj as YAML without what the typed structs add that the
// manifest does not set: null fields (creationTimestamp) and status.
func marshal(obj any) ([]byte, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	return yaml.Marshal(dropNulls(m))
}

// dropNulls removes null values from maps, recursively; empty maps stay
// (emptyDir: {} means something).
func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			v[k] = dropNulls(e)
		}
	case []any:
		for i, e := range v {
			v[i] = dropNulls(e)
		}
	}
	return v
}
