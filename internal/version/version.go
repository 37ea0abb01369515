// Package version holds the version of Herd's binaries. It is a leaf
// package: the build sets Version with
//
//	-ldflags '-X herd.dev/herd/internal/version.Version=v1.2.3'
//
// (`make image` does, from VERSION) and anything may read it.
package version

// Version is the version of this build; "dev" when the build did not set it.
var Version = "dev"
