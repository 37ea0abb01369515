// Package ociimage builds container images of a single layer on an empty
// base from a list of files, and writes several of them as one tar archive
// that is at the same time an OCI image layout (oci-layout, index.json,
// blobs/sha256/...) and a docker-archive (manifest.json pointing at the
// same blobs, as `docker save` of Docker 25 and later writes it). `docker
// load`, `ctr images import` and skopeo's oci-archive: and docker-archive:
// transports all read it.
//
// The output is reproducible: the same inputs give the same bytes. Every
// time in it is Archive.Created, entries are sorted, the layer's files
// belong to the owners the File says (root unless set) whatever the host's
// owners and times, and the layer is gzip-compressed by the standard
// library with an empty gzip header.
package ociimage

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// ErrInvalid is the error, wrapped, of Archive.Validate.
var ErrInvalid = errors.New("ociimage: invalid archive")

// Archive is a set of images written together (see Write).
type Archive struct {
	// Images are the images, in the order of index.json and manifest.json.
	Images []Image
	// Created is the creation time of every image and the modification
	// time of every tar entry, in whole seconds. Zero: the Unix epoch
	// (reproducible builds pass SOURCE_DATE_EPOCH).
	Created time.Time
}

// Image is one image: a single layer of Files and its Config.
type Image struct {
	// Name is the image's reference with a tag, such as "herd/herd:dev"
	// or "registry.example/herd/herd:v1". index.json names it by Name
	// (org.opencontainers.image.ref.name) and by its fully qualified form
	// (io.containerd.image.name, FullName of it, which is how
	// containerd's CRI looks images up); manifest.json's RepoTags has Name.
	Name string
	// OS and Architecture are the platform of the files. Empty OS:
	// "linux". Architecture is required (GOARCH values: amd64, arm64...).
	OS, Architecture string
	// Files are the layer's files and directories; missing parent
	// directories are added as root's with mode 0755.
	Files []File
	// Config is how the image runs.
	Config Config
}

// File is a regular file or a directory of a layer.
type File struct {
	// Path is the absolute, clean path in the image, such as
	// "/usr/local/bin/herd".
	Path string
	// Mode is the permission bits, with fs.ModeSetuid, fs.ModeSetgid and
	// fs.ModeSticky as needed, plus fs.ModeDir for a directory. It is used
	// as given: the host file's mode plays no part.
	Mode fs.FileMode
	// Source is the host file whose content a regular file gets. Empty:
	// Content.
	Source string
	// Content is the content of a regular file without Source.
	Content []byte
	// UID and GID own the file. Zero: root.
	UID, GID int
}

// Config is the run configuration of an image.
type Config struct {
	// Entrypoint and Cmd are the command the image runs; Entrypoint is
	// required.
	Entrypoint, Cmd []string
	// User is the numeric user, "UID" or "UID:GID", never root: a numeric
	// user lets the kubelet enforce runAsNonRoot.
	User string
	// Env are "NAME=value" variables.
	Env []string
	// WorkingDir is the absolute working directory. Empty: "/".
	WorkingDir string
	// Labels are the image's labels, such as org.opencontainers.image.version.
	Labels map[string]string
}

// Validate reports the first problem of a, wrapping ErrInvalid.
func (a Archive) Validate() error {
	if len(a.Images) == 0 {
		return fmt.Errorf("%w: no images", ErrInvalid)
	}
	names := map[string]bool{}
	for i, img := range a.Images {
		if err := img.validate(); err != nil {
			return fmt.Errorf("%w: image %d (%s): %v", ErrInvalid, i, img.Name, err)
		}
		if names[img.Name] {
			return fmt.Errorf("%w: image name %s given twice", ErrInvalid, img.Name)
		}
		names[img.Name] = true
	}
	return nil
}

func (img Image) validate() error {
	if tag, err := name.NewTag(img.Name); err != nil || !strings.HasSuffix(img.Name, ":"+tag.TagStr()) {
		return fmt.Errorf("name %q is not a reference with a tag", img.Name)
	}
	if img.Architecture == "" {
		return errors.New("no architecture")
	}
	if len(img.Config.Entrypoint) == 0 {
		return errors.New("no entrypoint")
	}
	if err := checkUser(img.Config.User); err != nil {
		return err
	}
	if wd := img.Config.WorkingDir; wd != "" && !path.IsAbs(wd) {
		return fmt.Errorf("working directory %q is not absolute", wd)
	}
	for _, e := range img.Config.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("environment variable %q is not NAME=value", e)
		}
	}
	paths := map[string]bool{}
	for _, f := range img.Files {
		if err := f.validate(); err != nil {
			return fmt.Errorf("file %s: %v", f.Path, err)
		}
		if paths[f.Path] {
			return fmt.Errorf("file %s given twice", f.Path)
		}
		paths[f.Path] = true
	}
	return nil
}

// checkUser accepts a numeric "UID" or "UID:GID" other than root.
func checkUser(user string) error {
	uid, gid, hasGID := strings.Cut(user, ":")
	id, err := strconv.ParseUint(uid, 10, 32)
	if err != nil {
		return fmt.Errorf("user %q must be a numeric UID or UID:GID", user)
	}
	if id == 0 {
		return fmt.Errorf("user %q is root", user)
	}
	if _, err := strconv.ParseUint(gid, 10, 32); hasGID && err != nil {
		return fmt.Errorf("user %q must be a numeric UID or UID:GID", user)
	}
	return nil
}

func (f File) validate() error {
	if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
		return errors.New("path must be absolute, clean and not /")
	}
	if f.Mode&^(fs.ModePerm|fs.ModeDir|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
		return fmt.Errorf("mode %v is neither a regular file nor a directory", f.Mode)
	}
	if f.UID < 0 || f.GID < 0 {
		return errors.New("negative owner")
	}
	if f.Mode.IsDir() && (f.Source != "" || f.Content != nil) {
		return errors.New("a directory has no content")
	}
	if f.Source != "" && f.Content != nil {
		return errors.New("both Source and Content")
	}
	return nil
}
