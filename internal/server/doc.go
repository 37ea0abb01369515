// Package server is the composition root of `herd server`: it brings up the
// management cluster (embedded or given), installs Herd's CRDs, and serves
// Herd's HTTPS API. Later parts (auth, proxy, tunnel, controllers) hang off
// the Server here.
package server
