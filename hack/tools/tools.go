//go:build tools

// Package tools records the generators that `make generate` builds.
package tools

import _ "sigs.k8s.io/controller-tools/cmd/controller-gen"
