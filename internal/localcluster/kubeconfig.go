package localcluster

import (
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"herd.dev/herd/internal/certs"
)

// writeKubeconfig writes a kubeconfig for server that authenticates with
// the client certificate named cert, embedding all data so the file can be
// copied elsewhere.
func writeKubeconfig(path, clusterName, server string, p pki, cert string) error {
	ca, err := os.ReadFile(p.crt(certCA))
	if err != nil {
		return err
	}
	crt, err := os.ReadFile(p.crt(cert))
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.key(cert))
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	user := clusterName + "-" + cert
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: key}
	cfg.Contexts[clusterName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user}
	cfg.CurrentContext = clusterName
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("failed to encode kubeconfig: %w", err)
	}
	return certs.WriteFileAtomic(path, data, 0o600)
}
