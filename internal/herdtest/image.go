package herdtest

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"herd.dev/herd/internal/herdimage"
	"herd.dev/herd/internal/version"
)

// ImageArchive builds Herd's images (herd/herd and herd/pause, tagged as
// this build's version) from the module under test into a temporary
// folder, as `make image` does, and returns the archive's path.
func ImageArchive(t testing.TB) string {
	t.Helper()
	path, err := BuildImageArchive(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// BuildImageArchive is ImageArchive into dir, for TestMain.
func BuildImageArchive(dir string) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return herdimage.Build(context.Background(), filepath.Dir(strings.TrimSpace(string(gomod))), dir, version.Version)
}
