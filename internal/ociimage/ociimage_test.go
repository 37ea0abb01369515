package ociimage_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"herd.dev/herd/internal/ociimage"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(a *ociimage.Archive)
		wantErr string // "" for valid
	}{
		{name: "valid", change: func(*ociimage.Archive) {}},
		{name: "uid only", change: func(a *ociimage.Archive) { a.Images[0].Config.User = "1000" }},
		{name: "no images", change: func(a *ociimage.Archive) { a.Images = nil }, wantErr: "no images"},
		{name: "name without tag", change: func(a *ociimage.Archive) { a.Images[0].Name = "example/app" }, wantErr: "not a reference with a tag"},
		{name: "name with digest", change: func(a *ociimage.Archive) {
			a.Images[0].Name = "example/app@sha256:" + strings.Repeat("a", 64)
		}, wantErr: "not a reference with a tag"},
		{name: "upper case name", change: func(a *ociimage.Archive) { a.Images[0].Name = "Example/app:v1" }, wantErr: "not a reference"},
		{name: "same name twice", change: func(a *ociimage.Archive) { a.Images[1].Name = a.Images[0].Name }, wantErr: "given twice"},
		{name: "no architecture", change: func(a *ociimage.Archive) { a.Images[0].Architecture = "" }, wantErr: "no architecture"},
		{name: "no entrypoint", change: func(a *ociimage.Archive) { a.Images[0].Config.Entrypoint = nil }, wantErr: "no entrypoint"},
		{name: "no user", change: func(a *ociimage.Archive) { a.Images[0].Config.User = "" }, wantErr: "numeric"},
		{name: "root", change: func(a *ociimage.Archive) { a.Images[0].Config.User = "0:0" }, wantErr: "is root"},
		{name: "user name", change: func(a *ociimage.Archive) { a.Images[0].Config.User = "nonroot" }, wantErr: "numeric"},
		{name: "group name", change: func(a *ociimage.Archive) { a.Images[0].Config.User = "65532:nonroot" }, wantErr: "numeric"},
		{name: "relative working dir", change: func(a *ociimage.Archive) { a.Images[0].Config.WorkingDir = "home" }, wantErr: "not absolute"},
		{name: "bad env", change: func(a *ociimage.Archive) { a.Images[0].Config.Env = []string{"PATH"} }, wantErr: "NAME=value"},
		{name: "relative path", change: func(a *ociimage.Archive) { a.Images[0].Files[0].Path = "usr/bin/app" }, wantErr: "absolute, clean"},
		{name: "unclean path", change: func(a *ociimage.Archive) { a.Images[0].Files[0].Path = "/usr/../app" }, wantErr: "absolute, clean"},
		{name: "root path", change: func(a *ociimage.Archive) { a.Images[0].Files[0].Path = "/" }, wantErr: "absolute, clean"},
		{name: "same path twice", change: func(a *ociimage.Archive) { a.Images[0].Files[1].Path = a.Images[0].Files[0].Path }, wantErr: "given twice"},
		{name: "symlink", change: func(a *ociimage.Archive) { a.Images[0].Files[0].Mode = fs.ModeSymlink | 0o777 }, wantErr: "neither a regular file"},
		{name: "directory with content", change: func(a *ociimage.Archive) { a.Images[0].Files[3].Content = []byte("x") }, wantErr: "no content"},
		{name: "source and content", change: func(a *ociimage.Archive) { a.Images[0].Files[0].Content = []byte("x") }, wantErr: "both"},
		{name: "negative owner", change: func(a *ociimage.Archive) { a.Images[0].Files[0].UID = -1 }, wantErr: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testArchive(t, t.TempDir())
			tt.change(&a)
			err := a.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (!errors.Is(err, ociimage.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want ErrInvalid with %q", err, tt.wantErr)
			}
		})
	}
}

func TestWriteFails(t *testing.T) {
	tests := []struct {
		name    string
		change  func(a *ociimage.Archive)
		wantErr string
	}{
		{name: "invalid", change: func(a *ociimage.Archive) { a.Images = nil }, wantErr: "no images"},
		{name: "missing source", change: func(a *ociimage.Archive) { a.Images[0].Files[0].Source = "/nonexistent/app" }, wantErr: "no such file"},
		{name: "source is a directory", change: func(a *ociimage.Archive) { a.Images[0].Files[0].Source = "/" }, wantErr: "not a regular file"},
		{name: "file under a file", change: func(a *ociimage.Archive) {
			a.Images[0].Files = append(a.Images[0].Files, ociimage.File{Path: "/etc/passwd/x", Mode: 0o644})
		}, wantErr: "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testArchive(t, t.TempDir())
			tt.change(&a)
			var buf strings.Builder
			if err := ociimage.Write(&buf, a); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Write() = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestFullName(t *testing.T) {
	// The default registry is the library's to know: a name without a host
	// gets one (with a dot), a name with a host keeps it.
	for _, tt := range []struct{ ref, suffix string }{
		{"herd/herd:dev", "/herd/herd:dev"},
		{"pause:1", "/library/pause:1"},
		{"herd/herd", "/herd/herd:latest"},
	} {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := ociimage.FullName(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			host, _, _ := strings.Cut(got, "/")
			if !strings.HasSuffix(got, tt.suffix) || !strings.Contains(host, ".") {
				t.Errorf("FullName(%q) = %q, want a registry host and %q", tt.ref, got, tt.suffix)
			}
			if again, _ := ociimage.FullName(got); again != got {
				t.Errorf("FullName(%q) = %q, not the same again", got, again)
			}
		})
	}
	for _, ref := range []string{"registry.example/herd/herd:v1", "localhost:5000/herd:v1", "localhost/herd:v1"} {
		if got, err := ociimage.FullName(ref); err != nil || got != ref {
			t.Errorf("FullName(%q) = %q, %v; want it unchanged", ref, got, err)
		}
	}
	if _, err := ociimage.FullName("Herd/UPPER:dev"); err == nil {
		t.Error("FullName accepted an invalid name")
	}
}
