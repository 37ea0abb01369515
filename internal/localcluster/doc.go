// Package localcluster starts and stops real Kubernetes control planes on
// this machine: etcd in-process, and kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (standing in for kubelets) as child processes, all
// on loopback with state under one directory. Herd uses it for its embedded
// management cluster, for `herd local-cluster`, and for every test that needs
// a downstream cluster.
package localcluster
