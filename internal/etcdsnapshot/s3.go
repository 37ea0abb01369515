package etcdsnapshot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Environment variables that carry the S3 credentials to `herd
// etcd-snapshot` (never its arguments, which show in process lists).
const (
	EnvS3AccessKey = "HERD_S3_ACCESS_KEY"
	EnvS3SecretKey = "HERD_S3_SECRET_KEY"
)

// s3Timeout bounds one S3 operation.
const s3Timeout = 5 * time.Minute

// S3 is the S3-compatible object storage that snapshots also go to.
type S3 struct {
	// Endpoint is host[:port] (HTTPS), or an http:// or https:// URL.
	Endpoint string
	Bucket   string
	Region   string
	// Folder, in the bucket, that holds the snapshots ("" the top).
	Folder string
	// CAFile (PEM) the endpoint's certificate is signed by; empty: the
	// system's roots. SkipVerify does not check it at all.
	CAFile     string
	SkipVerify bool
	AccessKey  string
	SecretKey  string
}

// Location is where name is stored: s3://BUCKET/KEY.
func (s *S3) Location(name string) string { return "s3://" + s.Bucket + "/" + s.key(name) }

func (s *S3) key(name string) string {
	return strings.TrimPrefix(path.Join(s.Folder, name+suffix), "/")
}

func (s *S3) client() (*minio.Client, error) {
	host, secure := s.Endpoint, true
	if h, ok := strings.CutPrefix(host, "http://"); ok {
		host, secure = h, false
	} else if h, ok := strings.CutPrefix(host, "https://"); ok {
		host = h
	}
	host = strings.TrimSuffix(host, "/")
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.SkipVerify} //nolint:gosec // the user's choice, per cluster
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the S3 CA %s holds no PEM certificate", s.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConfig
	return minio.New(host, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Secure: secure,
		Region: s.Region, Transport: tr, BucketLookup: minio.BucketLookupPath})
}

// explain turns an S3 failure into what a user can act on.
func (s *S3) explain(op string, err error) error {
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken":
		return fmt.Errorf("S3 at %s refused the credentials (%s) to %s: check the access and secret key", s.Endpoint, resp.Code, op)
	case "NoSuchBucket":
		return fmt.Errorf("S3 at %s has no bucket %s (%s)", s.Endpoint, s.Bucket, op)
	case "":
		return fmt.Errorf("S3 at %s is unreachable or not S3 (%s): %v", s.Endpoint, op, err)
	}
	return fmt.Errorf("S3 at %s: %s: %s %s", s.Endpoint, op, resp.Code, resp.Message)
}

// upload stores the file at local as snapshot name, unless it is there
// with the same size.
func (s *S3) upload(ctx context.Context, c *minio.Client, local, name string) error {
	ctx, cancel := context.WithTimeout(ctx, s3Timeout)
	defer cancel()
	fi, err := os.Stat(local)
	if err != nil {
		return err
	}
	if info, err := c.StatObject(ctx, s.Bucket, s.key(name), minio.StatObjectOptions{}); err == nil && info.Size == fi.Size() {
		return nil
	}
	if _, err := c.FPutObject(ctx, s.Bucket, s.key(name), local, minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
		return s.explain("upload "+name, err)
	}
	return nil
}

// download fetches snapshot name into local (through a temporary file).
func (s *S3) download(ctx context.Context, name, local string) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s3Timeout)
	defer cancel()
	if err := os.MkdirAll(filepath.Dir(local), 0o700); err != nil {
		return err
	}
	tmp := local + ".download"
	defer os.Remove(tmp)
	if err := c.FGetObject(ctx, s.Bucket, s.key(name), tmp, minio.GetObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return fmt.Errorf("snapshot %s is neither on this machine nor in %s", name, s.Location(name))
		}
		return s.explain("download "+name, err)
	}
	return os.Rename(tmp, local)
}

// prune removes, from the folder, the snapshots whose names start with
// prefix (the cluster's) that are not in keep: snapshots of other
// clusters and other objects in the folder stay.
func (s *S3) prune(ctx context.Context, c *minio.Client, prefix string, keep []string) error {
	ctx, cancel := context.WithTimeout(ctx, s3Timeout)
	defer cancel()
	folder := strings.TrimPrefix(path.Join(s.Folder, prefix), "/")
	var errs []error
	for obj := range c.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Prefix: folder}) {
		if obj.Err != nil {
			return s.explain("list the snapshots", obj.Err)
		}
		name, ok := strings.CutSuffix(path.Base(obj.Key), suffix)
		if !ok || path.Dir(obj.Key) != path.Dir(s.key(name)) || !strings.HasPrefix(name, prefix) || slices.Contains(keep, name) {
			continue
		}
		if err := c.RemoveObject(ctx, s.Bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			errs = append(errs, s.explain("remove "+name, err))
		}
	}
	return errors.Join(errs...)
}
