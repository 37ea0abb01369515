//go:build tools

// Package kube records the Kubernetes commands of the previous minor
// version that `make kube` builds beside the current one (hack/kube), so
// that provisioned clusters can be upgraded from it.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
