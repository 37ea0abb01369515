package localcluster

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"herd.dev/herd/internal/certs"
	"herd.dev/herd/internal/wellknown"
)

// The authorized cluster endpoint: every local cluster's kube-apiserver
// asks `herd kube-api-auth` on 127.0.0.1 about the bearer tokens that its
// own authenticators do not accept (client certificates and service
// account tokens never reach the webhook). With a control-plane node the
// import manifest's kube-api-auth listens there (controlplanenode.go);
// else nothing does until someone starts kube-api-auth with
// AuthWebhookListen, AuthWebhookCertFile and AuthWebhookKeyFile. Until
// then such tokens get 401.
const (
	authWebhookKubeconfig = "auth-webhook.kubeconfig"
	authWebhookPath       = "/authenticate"
	// authWebhookCacheTTL is how long the kube-apiserver keeps an answer of
	// the webhook. It is short so that a token revoked in Herd is refused
	// within about 10 s. In front of every token authenticator the
	// kube-apiserver also keeps each success for 10 s, a cache no flag
	// changes; with a webhook TTL below that, the two do not add up (the
	// inner entry is never newer than the outer one), so a revoked token
	// works for at most 10 s after kube-api-auth starts refusing it. With
	// the default of 2m it would be 2 minutes.
	authWebhookCacheTTL = 2 * time.Second
)

// AuthWebhookListen is the address (127.0.0.1:PORT) where the kube-apiserver
// expects `herd kube-api-auth --listen`: with a control-plane node, where the
// import manifest runs it there; else a port of the cluster's own, the same
// across restarts of the cluster while it is free. Valid after Start.
func (c *Cluster) AuthWebhookListen() string {
	if c.cfg.ControlPlaneNode {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(wellknown.KubeAPIAuthPort))
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ports.AuthWebhook))
}

// AuthWebhookCertFile is the serving certificate for
// `herd kube-api-auth --tls-cert`, for 127.0.0.1 and signed by
// AuthWebhookCAFile, which the kube-apiserver trusts for the webhook only.
func (c *Cluster) AuthWebhookCertFile() string { return c.pki.crt(certAuthWebhook) }

// AuthWebhookKeyFile is the key of AuthWebhookCertFile, for
// `herd kube-api-auth --tls-key`.
func (c *Cluster) AuthWebhookKeyFile() string { return c.pki.key(certAuthWebhook) }

// AuthWebhookCAFile is the CA that the kube-apiserver verifies the webhook
// with, for clients that call kube-api-auth themselves.
func (c *Cluster) AuthWebhookCAFile() string { return c.pki.crt(certAuthWebhookCA) }

// AuthWebhookKubeconfigPath is the kubeconfig that tells the kube-apiserver
// where the webhook is (--authentication-token-webhook-config-file).
func (c *Cluster) AuthWebhookKubeconfigPath() string {
	return filepath.Join(c.cfg.Dir, authWebhookKubeconfig)
}

// authWebhookFlags are the kube-apiserver flags that enable the webhook.
func (c *Cluster) authWebhookFlags() []string {
	return []string{
		"--authentication-token-webhook-config-file=" + c.AuthWebhookKubeconfigPath(),
		"--authentication-token-webhook-version=v1",
		"--authentication-token-webhook-cache-ttl=" + authWebhookCacheTTL.String(),
	}
}

// writeAuthWebhookKubeconfig writes the webhook's kubeconfig for the
// current port. The kube-apiserver presents no client certificate: the
// webhook only answers questions about tokens that the caller already has.
func (c *Cluster) writeAuthWebhookKubeconfig() error {
	const name = "herd-kube-api-auth"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{
		Server:               "https://" + c.AuthWebhookListen() + authWebhookPath,
		CertificateAuthority: c.AuthWebhookCAFile(),
	}
	cfg.AuthInfos["kube-apiserver"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: "kube-apiserver"}
	cfg.CurrentContext = name
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("failed to encode the auth webhook kubeconfig: %w", err)
	}
	return certs.WriteFileAtomic(c.AuthWebhookKubeconfigPath(), data, 0o600)
}
