package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// skopeo returns the path of skopeo, installing it with
// hack/install-deps.sh when it is missing (as the LDAP tests do with
// slapd), and fails when that cannot be done.
func skopeo(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("skopeo"); err == nil {
		return p
	}
	script, err := installScript()
	if err != nil {
		t.Fatalf("skopeo not found, and %v; install it with hack/install-deps.sh (make deps)", err)
	}
	if out, err := exec.Command("bash", script, "skopeo").CombinedOutput(); err != nil {
		t.Fatalf("skopeo not found, and %s skopeo failed: %v\n%s", script, err, out)
	}
	p, err := exec.LookPath("skopeo")
	if err != nil {
		t.Fatalf("skopeo still not found after %s skopeo: %v", script, err)
	}
	return p
}

// installScript is hack/install-deps.sh of this module, found from the
// working directory up.
func installScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "hack", "install-deps.sh"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// TestSkopeo reads the archive with skopeo through both of its transports
// and copies images out of it.
func TestSkopeo(t *testing.T) {
	bin := skopeo(t)
	archive := writeArchive(t, nil)
	type inspect struct {
		Architecture, Os string
		Labels           map[string]string
		Layers           []string
	}
	type config struct {
		Architecture string `json:"architecture"`
		Config       struct {
			User       string
			Entrypoint []string
		} `json:"config"`
	}
	checkInspect := func(t *testing.T, out []byte) {
		var got inspect
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if got.Architecture != runtime.GOARCH || got.Os != "linux" || got.Labels["org.opencontainers.image.version"] != "dev" || len(got.Layers) != 1 {
			t.Errorf("skopeo inspect: %+v, want linux/%s, version dev and one layer", got, runtime.GOARCH)
		}
	}
	checkConfig := func(entrypoint, user string) func(*testing.T, []byte) {
		return func(t *testing.T, out []byte) {
			var got config
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			if !slices.Equal(got.Config.Entrypoint, []string{entrypoint}) || got.Config.User != user {
				t.Errorf("config %+v, want entrypoint %s and user %s", got.Config, entrypoint, user)
			}
		}
	}
	checkDir := func(dir string, files ...string) func(*testing.T, []byte) {
		return func(t *testing.T, _ []byte) {
			for _, f := range files {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("the copy lacks %s: %v", f, err)
				}
			}
		}
	}
	dirCopy, ociCopy := t.TempDir(), t.TempDir()
	tests := []struct {
		name  string
		args  []string
		check func(*testing.T, []byte)
	}{
		{"inspect oci-archive", []string{"inspect", "oci-archive:" + archive + ":herd/herd:dev"}, checkInspect},
		{"inspect docker-archive", []string{"inspect", "docker-archive:" + archive + ":herd/herd:dev"}, checkInspect},
		{"inspect config oci-archive", []string{"inspect", "--config", "oci-archive:" + archive + ":herd/pause:dev"}, checkConfig("/pause", "65535:65535")},
		{"inspect config docker-archive", []string{"inspect", "--config", "docker-archive:" + archive + ":herd/herd:dev"}, checkConfig("/usr/local/bin/herd", "65532:65532")},
		{"copy oci-archive to dir", []string{"copy", "--insecure-policy", "oci-archive:" + archive + ":herd/herd:dev", "dir:" + dirCopy},
			checkDir(dirCopy, "manifest.json", "version")},
		{"copy docker-archive to oci", []string{"copy", "--insecure-policy", "docker-archive:" + archive + ":herd/pause:dev", "oci:" + ociCopy + ":pause"},
			checkDir(ociCopy, "index.json", "oci-layout")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
			out, err := cmd.Output()
			if err != nil {
				var stderr []byte
				if ee, ok := errors.AsType[*exec.ExitError](err); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("skopeo %q: %v\n%s", tt.args, err, stderr)
			}
			tt.check(t, out)
		})
	}
}
