// Package v1 holds Herd's resources, the management.herd.dev/v1 API: the
// objects in the management cluster that are all of Herd's state.
//
// +kubebuilder:object:generate=true
// +groupName=management.herd.dev
package v1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is management.herd.dev/v1.
	GroupVersion = schema.GroupVersion{Group: "management.herd.dev", Version: "v1"}

	// SchemeBuilder registers Herd's types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds Herd's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
