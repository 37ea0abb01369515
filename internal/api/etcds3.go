package api

import (
	"net/http"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/wellknown"
)

// S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens.
var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// checkS3 says what is wrong with an S3 store ("" if nothing).
func checkS3(s herdapi.EtcdS3) string {
	host := s.Endpoint
	for _, scheme := range []string{"https://", "http://"} {
		host = strings.TrimPrefix(host, scheme)
	}
	switch {
	case s.Endpoint == "" || checkHostPort("endpoint", strings.TrimSuffix(host, "/")) != "":
		return "endpoint must be HOST[:PORT] (HTTPS) or an http:// or https:// URL of one"
	case !bucketRE.MatchString(s.Bucket):
		return "bucket must be an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens"
	case len(s.Region) > 64 || strings.ContainsAny(s.Region, " /"):
		return "region must be at most 64 characters, without spaces or slashes"
	case len(s.Folder) > 200 || strings.HasPrefix(s.Folder, "/") || strings.Contains(s.Folder, "..") || strings.ContainsAny(s.Folder, "\\\n"):
		return "folder must be a relative path in the bucket, at most 200 characters, without '..'"
	case s.EndpointCA != "" && (len(s.EndpointCA) > 64<<10 || !parsesAsCerts([]byte(s.EndpointCA))):
		return "endpointCA must be PEM certificates (at most 64 KiB)"
	case s.AccessKey == "" || s.SecretKey == "" || len(s.AccessKey) > 256 || len(s.SecretKey) > 256:
		return "accessKey and secretKey are required (at most 256 characters each)"
	}
	return ""
}

// s3Secret names the Secret, in herd-system, of a cluster's S3 keys.
func s3Secret(cluster string) string { return "etcd-s3-" + cluster }

// handleSetS3 stores a provisioned cluster's snapshots also in S3 (PUT,
// keys kept in a Secret) or no more (DELETE); it answers the cluster.
func (a clustersAPI) handleSetS3(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.EtcdS3
	if r.Method == http.MethodPut {
		if !a.decode(w, r, &req) {
			return
		}
		if msg := checkS3(req); msg != "" {
			a.invalid(w, r, msg)
			return
		}
	}
	c, ok := a.snapshotCluster(w, r, id)
	if !ok {
		return
	}
	var spec *v1.EtcdS3
	if r.Method == http.MethodPut {
		secret := &corev1.Secret{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: s3Secret(c.Name), Namespace: wellknown.Namespace,
				Labels:          wellknown.ManagedLabels(map[string]string{wellknown.ClusterLabel: c.Name}),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Cluster", Name: c.Name, UID: c.UID}}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"accessKey": []byte(req.AccessKey), "secretKey": []byte(req.SecretKey)},
		}
		//nolint:staticcheck // server-side apply of a typed object
		if err := a.client.Patch(r.Context(), secret, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership); err != nil {
			a.internal(w, r, err)
			return
		}
		spec = &v1.EtcdS3{Endpoint: req.Endpoint, Bucket: req.Bucket, Region: req.Region, Folder: req.Folder,
			EndpointCA: req.EndpointCA, SkipTLSVerify: req.SkipTLSVerify, CredentialsSecret: secret.Name}
	}
	c, _, err := a.updateSpec(r.Context(), c.Name, func(cur *v1.Cluster) string {
		cur.Spec.Provisioning.EtcdS3 = spec
		return ""
	})
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if spec == nil {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s3Secret(c.Name), Namespace: wellknown.Namespace}}
		if err := a.client.Delete(r.Context(), secret); client.IgnoreNotFound(err) != nil {
			a.internal(w, r, err)
			return
		}
	}
	a.audit.Info("etcd snapshot S3 store set", "actor", id.UserName, "cluster", c.Name, "endpoint", req.Endpoint, "bucket", req.Bucket, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, apiCluster(c))
}
