package ociimage_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"herd.dev/herd/internal/ociimage"
)

// testArchive is an archive of two images whose files come from sources
// written into dir, and from Content.
func testArchive(t *testing.T, dir string) ociimage.Archive {
	t.Helper()
	for name, content := range map[string]string{"app": "#!app binary\n", "tool": "tool binary\n", "pause": "pause binary\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return ociimage.Archive{
		Created: time.Unix(1700000000, 0),
		Images: []ociimage.Image{{
			Name:         "example/app:v1",
			Architecture: "amd64",
			Files: []ociimage.File{
				{Path: "/usr/local/bin/app", Mode: 0o755, Source: filepath.Join(dir, "app")},
				{Path: "/usr/local/bin/tool", Mode: 0o755, Source: filepath.Join(dir, "tool")},
				{Path: "/etc/passwd", Mode: 0o644, Content: []byte("nonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n")},
				{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
				{Path: "/home/nonroot", Mode: fs.ModeDir | 0o700, UID: 65532, GID: 65532},
			},
			Config: ociimage.Config{
				Entrypoint: []string{"/usr/local/bin/app"},
				Cmd:        []string{"serve"},
				User:       "65532:65532",
				Env:        []string{"PATH=/usr/local/bin"},
				WorkingDir: "/home/nonroot",
				Labels:     map[string]string{"org.opencontainers.image.version": "v1"},
			},
		}, {
			Name:         "example/pause:v1",
			Architecture: "amd64",
			Files:        []ociimage.File{{Path: "/pause", Mode: 0o755, Source: filepath.Join(dir, "pause")}},
			Config:       ociimage.Config{Entrypoint: []string{"/pause"}, User: "65535"},
		}},
	}
}

func write(t *testing.T, a ociimage.Archive) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ociimage.Write(&buf, a); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func TestWriteIsReproducible(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, a *ociimage.Archive)
		same   bool
	}{
		{name: "same inputs", change: func(*testing.T, *ociimage.Archive) {}, same: true},
		{name: "files in another order", same: true, change: func(_ *testing.T, a *ociimage.Archive) {
			slices.Reverse(a.Images[0].Files)
		}},
		{name: "sources elsewhere with other host modes and times", same: true, change: func(t *testing.T, a *ociimage.Archive) {
			other := testArchive(t, t.TempDir())
			for _, f := range other.Images[0].Files {
				if f.Source == "" {
					continue
				}
				if err := os.Chmod(f.Source, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(f.Source, time.Now(), time.Now().Add(-time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			a.Images = other.Images
		}},
		{name: "another time", same: false, change: func(_ *testing.T, a *ociimage.Archive) {
			a.Created = a.Created.Add(time.Second)
		}},
		{name: "another label", same: false, change: func(_ *testing.T, a *ociimage.Archive) {
			a.Images[0].Config.Labels = map[string]string{"org.opencontainers.image.version": "v2"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := write(t, testArchive(t, t.TempDir()))
			a := testArchive(t, t.TempDir())
			tt.change(t, &a)
			second := write(t, a)
			if got := bytes.Equal(first, second); got != tt.same {
				t.Errorf("identical = %v, want %v (sha256 %x and %x)", got, tt.same, sha256.Sum256(first), sha256.Sum256(second))
			}
		})
	}
}

// entry is a tar entry with its content.
type entry struct {
	hdr  *tar.Header
	data []byte
}

func readTar(t *testing.T, r io.Reader) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading the tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{hdr, data})
	}
}

func TestArchiveEntries(t *testing.T) {
	a := testArchive(t, t.TempDir())
	entries := readTar(t, bytes.NewReader(write(t, a)))
	var names []string
	for _, e := range entries {
		names = append(names, e.hdr.Name)
		if !e.hdr.ModTime.Equal(a.Created) || e.hdr.Uid != 0 || e.hdr.Gid != 0 {
			t.Errorf("%s: mtime %v uid %d gid %d, want %v and root", e.hdr.Name, e.hdr.ModTime, e.hdr.Uid, e.hdr.Gid, a.Created)
		}
		if hexDigest, ok := strings.CutPrefix(e.hdr.Name, "blobs/sha256/"); ok && hexDigest != "" {
			if sum := sha256.Sum256(e.data); hex.EncodeToString(sum[:]) != hexDigest {
				t.Errorf("%s: content has sha256 %x", e.hdr.Name, sum)
			}
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("entries %q are not sorted", names)
	}
	// Two images: a manifest, a config and a layer each.
	want := []string{"blobs/", "blobs/sha256/", "*", "*", "*", "*", "*", "*", "index.json", "manifest.json", "oci-layout"}
	if len(names) != len(want) {
		t.Fatalf("entries %q, want %q", names, want)
	}
	for i, w := range want {
		if w != "*" && names[i] != w {
			t.Errorf("entry %d is %q, want %q", i, names[i], w)
		}
	}
}

// extract writes the archive's regular files and directories into dir.
func extract(t *testing.T, archive []byte, dir string) {
	t.Helper()
	for _, e := range readTar(t, bytes.NewReader(archive)) {
		p := filepath.Join(dir, filepath.FromSlash(e.hdr.Name))
		var err error
		switch e.hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			err = os.WriteFile(p, e.data, 0o644)
		default:
			t.Fatalf("%s: unexpected type %c", e.hdr.Name, e.hdr.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteIsOCILayout(t *testing.T) {
	a := testArchive(t, t.TempDir())
	dir := t.TempDir()
	extract(t, write(t, a), dir)
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("layout.FromPath: %v", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("validate.Index: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, fullName string
		entrypoint     []string
		user           string
		files          map[string]string // path in the layer: mode, uid
	}{
		{
			name: "example/app:v1", fullName: mustFullName(t, "example/app:v1"),
			entrypoint: []string{"/usr/local/bin/app"}, user: "65532:65532",
			files: map[string]string{
				"etc/": "drwxr-xr-x 0", "etc/passwd": "-rw-r--r-- 0", "home/": "drwxr-xr-x 0",
				"home/nonroot/": "drwx------ 65532", "tmp/": "dtrwxrwxrwx 0", "usr/": "drwxr-xr-x 0",
				"usr/local/": "drwxr-xr-x 0", "usr/local/bin/": "drwxr-xr-x 0",
				"usr/local/bin/app": "-rwxr-xr-x 0", "usr/local/bin/tool": "-rwxr-xr-x 0",
			},
		},
		{
			name: "example/pause:v1", fullName: mustFullName(t, "example/pause:v1"),
			entrypoint: []string{"/pause"}, user: "65535",
			files: map[string]string{"pause": "-rwxr-xr-x 0"},
		},
	}
	if len(im.Manifests) != len(tests) {
		t.Fatalf("index.json has %d manifests, want %d", len(im.Manifests), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desc := im.Manifests[i]
			if got := desc.Annotations[ociimage.AnnotationRefName]; got != tt.name {
				t.Errorf("ref name = %q, want %q", got, tt.name)
			}
			if got := desc.Annotations[ociimage.AnnotationImageName]; got != tt.fullName {
				t.Errorf("containerd name = %q, want %q", got, tt.fullName)
			}
			img, err := p.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(img); err != nil {
				t.Fatalf("validate.Image: %v", err)
			}
			checkImage(t, img, a.Created, tt.entrypoint, tt.user, tt.files)
		})
	}
}

// checkImage checks img's config and the modes and owners of its one
// layer's entries ("-rwxr-xr-x 0" is mode and uid).
func checkImage(t *testing.T, img v1.Image, created time.Time, entrypoint []string, user string, files map[string]string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, entrypoint) || cf.Config.User != user {
		t.Errorf("entrypoint %q user %q, want %q and %q", cf.Config.Entrypoint, cf.Config.User, entrypoint, user)
	}
	if strings.HasPrefix(cf.Config.User, "0") || cf.Config.User == "" {
		t.Errorf("user %q is root", cf.Config.User)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Equal(created) {
		t.Errorf("platform %s/%s created %v, want linux/amd64 and %v", cf.OS, cf.Architecture, cf.Created, created)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]string{}
	for _, e := range readTar(t, rc) {
		got[e.hdr.Name] = fmt.Sprintf("%v %d", e.hdr.FileInfo().Mode(), e.hdr.Uid)
		if e.hdr.Uid != e.hdr.Gid || !e.hdr.ModTime.Equal(created) {
			t.Errorf("%s: uid %d gid %d mtime %v", e.hdr.Name, e.hdr.Uid, e.hdr.Gid, e.hdr.ModTime)
		}
	}
	for name, want := range files {
		if got[name] != want {
			t.Errorf("layer entry %s = %q, want %q", name, got[name], want)
		}
	}
	if len(got) != len(files) {
		t.Errorf("layer entries %q, want %q", got, files)
	}
}

func TestWriteIsDockerArchive(t *testing.T) {
	a := testArchive(t, t.TempDir())
	archive := write(t, a)
	dir := t.TempDir()
	extract(t, archive, dir)
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(archive)), nil }
	for i, img := range a.Images {
		t.Run(img.Name, func(t *testing.T) {
			tag, err := name.NewTag(img.Name)
			if err != nil {
				t.Fatal(err)
			}
			docker, err := tarball.Image(opener, &tag)
			if err != nil {
				t.Fatalf("tarball.Image: %v", err)
			}
			if err := validate.Image(docker); err != nil {
				t.Fatalf("validate.Image: %v", err)
			}
			im, err := p.ImageIndex()
			if err != nil {
				t.Fatal(err)
			}
			oci, err := im.Image(mustManifests(t, im)[i].Digest)
			if err != nil {
				t.Fatal(err)
			}
			for _, what := range []struct {
				name string
				get  func(v1.Image) (v1.Hash, error)
			}{{"config", v1.Image.ConfigName}, {"layer", firstLayerDigest}} {
				got, err1 := what.get(docker)
				want, err2 := what.get(oci)
				if err1 != nil || err2 != nil || got != want {
					t.Errorf("%s of the docker-archive = %v (%v), of the OCI layout %v (%v)", what.name, got, err1, want, err2)
				}
			}
		})
	}
}

func mustManifests(t *testing.T, idx v1.ImageIndex) []v1.Descriptor {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return im.Manifests
}

func firstLayerDigest(img v1.Image) (v1.Hash, error) {
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		return v1.Hash{}, fmt.Errorf("layers: %d, %v", len(layers), err)
	}
	return layers[0].Digest()
}

func mustFullName(t *testing.T, ref string) string {
	t.Helper()
	full, err := ociimage.FullName(ref)
	if err != nil {
		t.Fatal(err)
	}
	return full
}
