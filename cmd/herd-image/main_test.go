package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// pauseBin is herd-pause built static by TestMain: the stand-in for every
// binary of the images, since the command requires static executables.
var pauseBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "herd-image-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pauseBin = filepath.Join(dir, "herd-pause")
	build := exec.Command("go", "build", "-trimpath", "-o", pauseBin, "herd.dev/herd/cmd/herd-pause")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: cannot build herd-pause: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// writeArchive runs the command with the stand-ins and returns the path of
// the archive it wrote.
func writeArchive(t *testing.T, env map[string]string, extra ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "herd-image.tar")
	args := append([]string{"-o", out, "-herd", pauseBin, "-herdctl", pauseBin, "-pause", pauseBin}, extra...)
	var stderr bytes.Buffer
	if err := run(args, func(k string) string { return env[k] }, &stderr); err != nil {
		t.Fatalf("run(%q) = %v\n%s", args, err, stderr.String())
	}
	return out
}

func TestImages(t *testing.T) {
	path := writeArchive(t, nil)
	tests := []struct {
		name       string
		entrypoint []string
		user       string
		files      map[string]string // path in the layer: mode and uid
	}{
		{
			name: "herd/herd:dev", entrypoint: []string{"/usr/local/bin/herd"}, user: "65532:65532",
			files: map[string]string{
				"usr/local/bin/herd": "-rwxr-xr-x 0", "usr/local/bin/herdctl": "-rwxr-xr-x 0",
				"etc/passwd": "-rw-r--r-- 0", "etc/group": "-rw-r--r-- 0",
				"tmp/": "dtrwxrwxrwx 0", "home/nonroot/": "drwx------ 65532",
			},
		},
		{
			name: "herd/pause:dev", entrypoint: []string{"/pause"}, user: "65535:65535",
			files: map[string]string{"pause": "-rwxr-xr-x 0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := dockerImage(t, path, tt.name)
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			c := cf.Config
			if !slices.Equal(c.Entrypoint, tt.entrypoint) || c.User != tt.user || len(c.Cmd) != 0 {
				t.Errorf("entrypoint %q cmd %q user %q, want %q, none and %q", c.Entrypoint, c.Cmd, c.User, tt.entrypoint, tt.user)
			}
			if cf.Architecture != runtime.GOARCH || cf.OS != "linux" {
				t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
			}
			if got := c.Labels["org.opencontainers.image.version"]; got != "dev" {
				t.Errorf("version label %q, want dev", got)
			}
			got := layerEntries(t, img)
			for p, want := range tt.files {
				if got[p].mode != want {
					t.Errorf("%s: %q, want %q", p, got[p].mode, want)
				}
			}
			if passwd, ok := got["etc/passwd"]; ok && !strings.Contains(passwd.data, "nonroot:x:65532:65532:") {
				t.Errorf("/etc/passwd has no nonroot user:\n%s", passwd.data)
			}
			if group, ok := got["etc/group"]; ok && !strings.Contains(group.data, "nonroot:x:65532:") {
				t.Errorf("/etc/group has no nonroot group:\n%s", group.data)
			}
		})
	}
}

// dockerImage reads the image ref from the archive as a docker-archive.
func dockerImage(t *testing.T, path, ref string) v1.Image {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("reading %s from the archive: %v", ref, err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image(%s): %v", ref, err)
	}
	return img
}

type layerEntry struct{ mode, data string }

// layerEntries are the entries of img's single layer: "-rwxr-xr-x 0" (mode
// and uid) and the content.
func layerEntries(t *testing.T, img v1.Image) map[string]layerEntry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]layerEntry{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = layerEntry{fmt.Sprintf("%v %d", hdr.FileInfo().Mode(), hdr.Uid), string(data)}
	}
}

func TestReproducible(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		extra []string
		same  bool
	}{
		{name: "same inputs", same: true},
		{name: "SOURCE_DATE_EPOCH 0 is the default", env: map[string]string{"SOURCE_DATE_EPOCH": "0"}, same: true},
		{name: "another SOURCE_DATE_EPOCH", env: map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, same: false},
		{name: "another version", extra: []string{"-version", "v1.2.3"}, same: false},
	}
	want := sha256File(t, writeArchive(t, nil))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sha256File(t, writeArchive(t, tt.env, tt.extra...))
			if (got == want) != tt.same {
				t.Errorf("sha256 %s, first build %s; want identical: %v", got, want, tt.same)
			}
		})
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

func TestFlagErrors(t *testing.T) {
	text := filepath.Join(t.TempDir(), "not-elf")
	if err := os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.tar")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "no -o", args: []string{"-herd", pauseBin, "-herdctl", pauseBin, "-pause", pauseBin}, wantErr: "-o is required"},
		{name: "no -herd", args: []string{"-o", out, "-herdctl", pauseBin, "-pause", pauseBin}, wantErr: "-herd is required"},
		{name: "no -herdctl", args: []string{"-o", out, "-herd", pauseBin, "-pause", pauseBin}, wantErr: "-herdctl is required"},
		{name: "no -pause", args: []string{"-o", out, "-herd", pauseBin, "-herdctl", pauseBin}, wantErr: "-pause is required"},
		{name: "empty -version", args: []string{"-o", out, "-herd", pauseBin, "-herdctl", pauseBin, "-pause", pauseBin, "-version", ""}, wantErr: "-version is required"},
		{name: "bad -version", args: []string{"-o", out, "-herd", pauseBin, "-herdctl", pauseBin, "-pause", pauseBin, "-version", "a b"}, wantErr: "valid tag"},
		{name: "argument", args: []string{"-o", out, "-herd", pauseBin, "-herdctl", pauseBin, "-pause", pauseBin, "extra"}, wantErr: "unexpected arguments"},
		{name: "unknown flag", args: []string{"-x"}, wantErr: "not defined"},
		{name: "bad SOURCE_DATE_EPOCH", args: []string{"-o", out, "-herd", pauseBin, "-herdctl", pauseBin, "-pause", pauseBin},
			env: map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, wantErr: "SOURCE_DATE_EPOCH"},
		{name: "not an executable", args: []string{"-o", out, "-herd", text, "-herdctl", pauseBin, "-pause", pauseBin}, wantErr: "not a Linux executable"},
		{name: "dynamic executable", args: []string{"-o", out, "-herd", "/bin/true", "-herdctl", pauseBin, "-pause", pauseBin}, wantErr: "dynamically linked"},
		{name: "missing binary", args: []string{"-o", out, "-herd", pauseBin, "-herdctl", "/nonexistent", "-pause", pauseBin}, wantErr: "/nonexistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("run(%q) = %v, want an error with %q", tt.args, err, tt.wantErr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written despite the error", out)
			}
		})
	}
}
