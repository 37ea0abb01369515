// Package projects keeps which Herd project each namespace of a downstream
// cluster belongs to. Herd labels a namespace with its project's name and
// UID (v1.ProjectNamespaceLabel and v1.ProjectUIDLabel); the cluster
// controllers bind the project's members in the namespaces so labelled.
// The operations here move namespaces in and out of projects through the
// downstream kube-apiserver and return sentinel errors.
package projects

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	v1 "herd.dev/herd/api/v1"
)

// Errors of the operations. What follows the package prefix in an error's
// message is safe to show to the caller.
var (
	// ErrInvalid: the namespace name is not valid, or the namespace is
	// the system's or Herd's.
	ErrInvalid = errors.New("projects: invalid namespace")
	// ErrNoNamespace: the namespace does not exist (and was not to be
	// created).
	ErrNoNamespace = errors.New("projects: no such namespace")
	// ErrOtherProject: the namespace belongs to another live project.
	ErrOtherProject = errors.New("projects: namespace in another project")
	// ErrNotInProject: the namespace is not in the project.
	ErrNotInProject = errors.New("projects: namespace not in the project")
)

// Namespaces moves the namespaces of one downstream cluster.
type Namespaces struct {
	// Kube is the cluster's kube-apiserver. Required.
	Kube kubernetes.Interface
	// Live reports whether a project of that name and UID exists: the
	// labels of a deleted project count as none. Required.
	Live func(name, uid string) bool
}

// Add puts namespace into p, creating it with create, and returns p's
// namespaces. A namespace already in p is left as it is.
func (n Namespaces) Add(ctx context.Context, p *v1.Project, namespace string, create bool) ([]string, error) {
	if errs := validation.ValidateNamespaceName(namespace, false); len(errs) > 0 {
		return nil, fmt.Errorf("%w: namespace name %s", ErrInvalid, strings.Join(errs, "; "))
	}
	if v1.ReservedNamespace(namespace) {
		return nil, fmt.Errorf("%w: namespace %s belongs to the system or to Herd and cannot join a project", ErrInvalid, namespace)
	}
	err := n.move(ctx, namespace, nil, p)
	if apierrors.IsNotFound(err) && create {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace,
			Labels: map[string]string{v1.ProjectNamespaceLabel: p.Name, v1.ProjectUIDLabel: string(p.UID)}}}
		_, err = n.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: namespace %s does not exist in cluster %s; add --create to make it", ErrNoNamespace, namespace, p.Spec.ClusterName)
	}
	if err != nil {
		return nil, err
	}
	return n.List(ctx, p)
}

// Remove takes namespace out of p.
func (n Namespaces) Remove(ctx context.Context, p *v1.Project, namespace string) error {
	err := n.move(ctx, namespace, p, nil)
	if apierrors.IsNotFound(err) || errors.Is(err, ErrOtherProject) {
		return fmt.Errorf("%w: namespace %s is not in project %s", ErrNotInProject, namespace, p.Name)
	}
	return err
}

// Release takes every namespace of p out of it, as far as it can, before
// p is deleted. It returns what failed.
func (n Namespaces) Release(ctx context.Context, p *v1.Project) error {
	names, err := n.List(ctx, p)
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range names {
		if err := n.Remove(ctx, p, ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// List returns the namespaces of p, sorted.
func (n Namespaces) List(ctx context.Context, p *v1.Project) ([]string, error) {
	list, err := n.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: v1.ProjectNamespaceLabel + "=" + p.Name})
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, ns := range list.Items {
		if v1.InProject(ns.Labels, p) {
			names = append(names, ns.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// move moves a namespace from project from (nil: none) to project to
// (nil: none). It fails with ErrOtherProject when the namespace is not in
// from, or is in another live project. The write is conditional on the
// namespace's resourceVersion, so a concurrent move cannot be overwritten.
func (n Namespaces) move(ctx context.Context, name string, from, to *v1.Project) error {
	ns, err := n.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	var current *v1.Project
	for _, p := range []*v1.Project{from, to} {
		if p != nil && v1.InProject(ns.Labels, p) {
			current = p
		}
	}
	switch {
	case current == nil && from != nil:
		return fmt.Errorf("%w: namespace %s is not in project %s", ErrOtherProject, name, from.Name)
	case current == to:
		return nil
	case current == nil && n.Live(ns.Labels[v1.ProjectNamespaceLabel], ns.Labels[v1.ProjectUIDLabel]):
		return fmt.Errorf("%w: namespace %s is in project %s; remove it from that project first", ErrOtherProject, name, ns.Labels[v1.ProjectNamespaceLabel])
	}
	labels := map[string]any{v1.ProjectNamespaceLabel: nil, v1.ProjectUIDLabel: nil}
	if to != nil {
		labels = map[string]any{v1.ProjectNamespaceLabel: to.Name, v1.ProjectUIDLabel: string(to.UID)}
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": ns.ResourceVersion, "labels": labels}})
	_, err = n.Kube.CoreV1().Namespaces().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}
