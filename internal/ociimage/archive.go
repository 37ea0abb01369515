package ociimage

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of index.json's descriptors.
const (
	// AnnotationRefName is the OCI name of an image in a layout; skopeo's
	// oci-archive:PATH:NAME looks it up.
	AnnotationRefName = "org.opencontainers.image.ref.name"
	// AnnotationImageName is the name containerd imports an image as.
	AnnotationImageName = "io.containerd.image.name"
)

// Write validates a and writes it to w as one tar archive that is both an
// OCI image layout and a docker-archive.
func Write(w io.Writer, a Archive) error {
	if err := a.Validate(); err != nil {
		return err
	}
	created := a.Created.Truncate(time.Second).UTC()
	if a.Created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	blobs := map[v1.Hash][]byte{}
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	var docker tarball.Manifest
	for _, img := range a.Images {
		desc, item, err := build(img, created, blobs)
		if err != nil {
			return fmt.Errorf("failed to build image %s: %w", img.Name, err)
		}
		index.Manifests = append(index.Manifests, desc)
		docker = append(docker, item)
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	dockerJSON, err := json.Marshal(docker)
	if err != nil {
		return err
	}
	return writeTar(w, created, blobs, []metaFile{
		{"index.json", indexJSON},
		{"manifest.json", dockerJSON},
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
	})
}

// WriteFile writes a (see Write) to the file path, replacing it only once
// the archive is complete.
func WriteFile(path string, a Archive) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := Write(bw, a); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// build makes img's layer, config and manifest, adds them to blobs, and
// returns the image's descriptor for index.json and its item of
// manifest.json.
func build(img Image, created time.Time, blobs map[v1.Hash][]byte) (v1.Descriptor, tarball.Descriptor, error) {
	var none tarball.Descriptor
	gz, err := layerTar(img.Files, created)
	if err != nil {
		return v1.Descriptor{}, none, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return v1.Descriptor{}, none, err
	}
	image, err := assemble(img, layer, created)
	if err != nil {
		return v1.Descriptor{}, none, err
	}
	manifest, err := image.RawManifest()
	if err != nil {
		return v1.Descriptor{}, none, err
	}
	config, err := image.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, none, err
	}
	manifestDigest, _, err := v1.SHA256(bytes.NewReader(manifest))
	if err != nil {
		return v1.Descriptor{}, none, err
	}
	configDigest, _, err := v1.SHA256(bytes.NewReader(config))
	if err != nil {
		return v1.Descriptor{}, none, err
	}
	layerDigest, err := layer.Digest()
	if err != nil {
		return v1.Descriptor{}, none, err
	}
	blobs[manifestDigest], blobs[configDigest], blobs[layerDigest] = manifest, config, gz
	fullName, err := FullName(img.Name)
	if err != nil {
		return v1.Descriptor{}, none, err
	}
	desc := v1.Descriptor{
		MediaType: types.OCIManifestSchema1,
		Size:      int64(len(manifest)),
		Digest:    manifestDigest,
		Platform:  &v1.Platform{OS: platformOS(img), Architecture: img.Architecture},
		Annotations: map[string]string{
			AnnotationRefName:   img.Name,
			AnnotationImageName: fullName,
		},
	}
	item := tarball.Descriptor{
		Config:   blobPath(configDigest),
		RepoTags: []string{img.Name},
		Layers:   []string{blobPath(layerDigest)},
	}
	return desc, item, nil
}

// assemble is the OCI image of layer on an empty base, with img's platform
// and run configuration, created at created.
func assemble(img Image, layer v1.Layer, created time.Time) (v1.Image, error) {
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	withLayer, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: created}, CreatedBy: "herd.dev/herd/internal/ociimage",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := withLayer.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	cf.OS, cf.Architecture = platformOS(img), img.Architecture
	c := img.Config
	cf.Config = v1.Config{
		Entrypoint: c.Entrypoint, Cmd: c.Cmd, User: c.User, Env: c.Env, WorkingDir: c.WorkingDir, Labels: c.Labels,
	}
	return mutate.ConfigFile(withLayer, cf)
}

func platformOS(img Image) string {
	if img.OS == "" {
		return "linux"
	}
	return img.OS
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// metaFile is a file of the archive other than a blob.
type metaFile struct {
	name string
	data []byte
}

// writeTar writes the archive: the blob directories and blobs sorted by
// digest, then meta (sorted by name by the caller), all root's and at mtime.
func writeTar(w io.Writer, mtime time.Time, blobs map[v1.Hash][]byte, meta []metaFile) error {
	tw := tar.NewWriter(w)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: mtime}); err != nil {
			return err
		}
	}
	hashes := make([]v1.Hash, 0, len(blobs))
	for h := range blobs {
		hashes = append(hashes, h)
	}
	sort.Slice(hashes, func(i, j int) bool { return hashes[i].Hex < hashes[j].Hex })
	files := make([]metaFile, 0, len(blobs)+len(meta))
	for _, h := range hashes {
		files = append(files, metaFile{blobPath(h), blobs[h]})
	}
	for _, f := range append(files, meta...) {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}
