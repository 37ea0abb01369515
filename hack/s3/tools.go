//go:build tools

// Package s3 records the S3 server that the tests of etcd snapshots in
// object storage run: Versity's S3 gateway (Apache 2.0) with its posix
// backend, one process serving the S3 API (SigV4, TLS) over a folder.
package s3

import _ "github.com/versity/versitygw/cmd/versitygw"
