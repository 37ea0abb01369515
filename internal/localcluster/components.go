package localcluster

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// The Service range of clusters without real nodes, and kwok's pod range.
// A cluster with real nodes has a range of its own (see subnet).
const (
	defaultServiceCIDR = "10.96.0.0/16"
	defaultServiceIP   = "10.96.0.1"
	podCIDR            = "10.244.0.0/16"
)

// serviceCIDR returns the cluster's Service range.
func (c *Cluster) serviceCIDR() string {
	if c.subnet.K != 0 {
		return c.subnet.serviceCIDR()
	}
	return defaultServiceCIDR
}

// serviceIP returns the kubernetes Service's address.
func (c *Cluster) serviceIP() string {
	if c.subnet.K != 0 {
		return c.subnet.serviceIP()
	}
	return defaultServiceIP
}

// component is one child process of a cluster, in start order.
type component struct {
	name string
	bin  string
	args []string
}

func (c *Cluster) components(kwokConfig string) []component {
	p, dir := c.pki, c.cfg.Dir
	apiserver := []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(c.ports.EtcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", // loopback may not be an endpoint
		"--secure-port=" + strconv.Itoa(c.ports.APIServer),
		"--tls-cert-file=" + p.crt(certAPIServer),
		"--tls-private-key-file=" + p.key(certAPIServer),
		"--client-ca-file=" + p.crt(certCA),
		"--kubelet-client-certificate=" + p.crt(certKubeletClient),
		"--kubelet-client-key=" + p.key(certKubeletClient),
		"--kubelet-preferred-address-types=InternalIP",
		"--service-account-key-file=" + p.saPub(),
		"--service-account-signing-key-file=" + p.key(keyServiceAccount),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=" + c.serviceCIDR(),
		"--authorization-mode=Node,RBAC",
		"--anonymous-auth=false",
		"--allow-privileged=true",
		"--profiling=false",
		"--cert-dir=" + filepath.Join(dir, "pki", "generated"),
	}
	apiserver = append(apiserver, c.authWebhookFlags()...)
	apiserver = append(apiserver, c.cfg.ExtraAPIServerArgs...)
	controller := append(clientFlags(filepath.Join(dir, "kubeconfigs", "controller-manager.kubeconfig")),
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+p.key(keyServiceAccount),
		"--root-ca-file="+p.crt(certCA),
		"--cluster-signing-cert-file="+p.crt(certCA),
		"--cluster-signing-key-file="+p.key(certCA),
		"--service-cluster-ip-range="+c.serviceCIDR(),
		// Everything but volumes, node IPAM and autoscaling, which kwok nodes
		// cannot serve anyway.
		"--controllers=*,-persistentvolume-attach-detach-controller,-persistentvolume-binder-controller,-persistentvolume-expander-controller,-persistentvolume-protection-controller,-persistentvolumeclaim-protection-controller,-ephemeral-volume-controller,-volumeattributesclass-protection-controller,-node-ipam-controller,-horizontal-pod-autoscaler-controller,-storage-version-migrator-controller",
	)
	scheduler := clientFlags(filepath.Join(dir, "kubeconfigs", "scheduler.kubeconfig"))
	kwok := []string{
		"--kubeconfig=" + c.KubeconfigPath(),
		"--config=" + kwokConfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
		"--node-ip=127.0.0.1",
		"--node-name=" + c.cfg.Name + "-kwok",
		"--node-port=" + strconv.Itoa(c.ports.Kwok),
		"--server-address=127.0.0.1:" + strconv.Itoa(c.ports.Kwok),
		"--tls-cert-file=" + p.crt(certKwok),
		"--tls-private-key-file=" + p.key(certKwok),
		"--node-lease-duration-seconds=40",
		"--cidr=" + podCIDR,
	}
	bin := func(name string) string { return filepath.Join(c.cfg.BinDir, name) }
	return []component{
		{name: "kube-apiserver", bin: bin(binAPIServer), args: apiserver},
		{name: "kube-controller-manager", bin: bin(binController), args: controller},
		{name: "kube-scheduler", bin: bin(binScheduler), args: scheduler},
		{name: "kwok", bin: bin(binKwok), args: kwok},
	}
}

// clientFlags are the flags kube-controller-manager and kube-scheduler share:
// one kubeconfig for everything, no serving port, leader election on.
func clientFlags(kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--secure-port=0",
		"--leader-elect=true",
		"--profiling=false",
	}
}

func (c *Cluster) serverURL() string {
	return fmt.Sprintf("https://127.0.0.1:%d", c.ports.APIServer)
}
