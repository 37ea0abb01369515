package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// layerTar returns the gzip-compressed tar of files, with parent
// directories added, entries sorted by path (parents first) and mtime for
// every time.
//
// The layer is compressed because the images are mostly Go binaries that
// gzip to less than a third, and the archive is what gets copied and
// pushed; the default level is within 0.5% of the best at a third of the
// time.
// compress/gzip writes no name, no time and a fixed OS byte when the
// header is left empty, and compress/flate is deterministic for a given Go
// version, so the bytes depend only on the inputs (and the Go toolchain,
// which the binaries in the layer depend on anyway).
func layerTar(files []File, mtime time.Time) ([]byte, error) {
	entries, err := withParents(files)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, f := range entries {
		if err := writeEntry(tw, f, mtime); err != nil {
			return nil, fmt.Errorf("failed to add %s to the layer: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// withParents returns files sorted by path with their missing parent
// directories (root's, 0755) added.
func withParents(files []File) ([]File, error) {
	byPath := map[string]File{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	for _, f := range files {
		for dir := path.Dir(f.Path); dir != "/"; dir = path.Dir(dir) {
			parent, ok := byPath[dir]
			if !ok {
				byPath[dir] = File{Path: dir, Mode: fs.ModeDir | 0o755}
			} else if !parent.Mode.IsDir() {
				return nil, fmt.Errorf("%s is under %s, which is not a directory", f.Path, dir)
			}
		}
	}
	out := make([]File, 0, len(byPath))
	for _, f := range byPath {
		out = append(out, f)
	}
	// A path sorts after its parents: they are its prefixes.
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// writeEntry writes one file or directory; a Source is streamed, and must
// keep the size it had when the header was written.
func writeEntry(tw *tar.Writer, f File, mtime time.Time) error {
	hdr := &tar.Header{
		Name:    strings.TrimPrefix(f.Path, "/"),
		Mode:    tarMode(f.Mode),
		Uid:     f.UID,
		Gid:     f.GID,
		ModTime: mtime,
	}
	if f.Mode.IsDir() {
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		return tw.WriteHeader(hdr)
	}
	hdr.Typeflag = tar.TypeReg
	if f.Source == "" {
		hdr.Size = int64(len(f.Content))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(f.Content)
		return err
	}
	src, err := os.Open(f.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("source %s is not a regular file", f.Source)
	}
	hdr.Size = fi.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, src); err != nil {
		return fmt.Errorf("failed to read %s (did it change while being read?): %w", f.Source, err)
	}
	return nil
}

// tarMode is m in the bits of a tar header (c_ISUID and so on).
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}
