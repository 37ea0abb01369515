// Package bundles is what the Bundle controller and the per-cluster
// bundle controllers share: a bundle's content (files, packed into a
// Secret of the management cluster), reading it as Kubernetes manifests
// or as a Helm chart, values merged per cluster, and the digests that
// tell one revision from another.
package bundles

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
)

// Limits of a bundle's content.
const (
	// MaxPacked is the largest packed content (it must fit in a Secret).
	MaxPacked = 900 << 10
	// MaxUnpacked is the most a packed content may unpack to.
	MaxUnpacked = 8 << 20
	// ContentKey is the Secret key that holds the packed content.
	ContentKey = "content.tar.gz"
	// ManifestsFile is the file inline manifests are kept as.
	ManifestsFile = "manifests.yaml"
)

// ErrTooLarge: the content does not fit.
var ErrTooLarge = errors.New("bundles: the content is too large")

// Pack makes a gzipped tar of files, the same bytes for the same files.
func Pack(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range sortedNames(files) {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[name]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > MaxPacked {
		return nil, fmt.Errorf("%w: %d bytes compressed, at most %d", ErrTooLarge, buf.Len(), MaxPacked)
	}
	return buf.Bytes(), nil
}

// Unpack reads what Pack made.
func Unpack(packed []byte) (map[string][]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(packed))
	if err != nil {
		return nil, fmt.Errorf("bundles: content: %w", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	total := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("bundles: content: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg || !safePath(hdr.Name) {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, int64(MaxUnpacked-total)+1))
		if err != nil {
			return nil, fmt.Errorf("bundles: content: %w", err)
		}
		total += len(b)
		if total > MaxUnpacked {
			return nil, fmt.Errorf("%w: more than %d bytes unpacked", ErrTooLarge, MaxUnpacked)
		}
		files[hdr.Name] = b
	}
}

func safePath(name string) bool {
	return name != "" && !path.IsAbs(name) && !slices.Contains(strings.Split(name, "/"), "..")
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Digest is a short stable digest of files: the revision of content that
// has no commit, such as inline manifests.
func Digest(files map[string][]byte) string {
	h := sha256.New()
	for _, n := range sortedNames(files) {
		fmt.Fprintf(h, "%d:%s%d:", len(n), n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// IsChart reports whether files are a Helm chart.
func IsChart(files map[string][]byte) bool {
	_, ok := files["Chart.yaml"]
	return ok
}

// Chart loads files as a Helm chart.
func Chart(files map[string][]byte) (*chart.Chart, error) {
	buffered := make([]*archive.BufferedFile, 0, len(files))
	for _, n := range sortedNames(files) {
		buffered = append(buffered, &archive.BufferedFile{Name: n, Data: files[n]})
	}
	c, err := loader.LoadFiles(buffered)
	if err != nil {
		return nil, fmt.Errorf("the chart cannot be loaded: %w", err)
	}
	return c, nil
}
