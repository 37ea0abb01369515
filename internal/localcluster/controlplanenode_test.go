package localcluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"herd.dev/herd/internal/wellknown"
)

// TestControlPlaneSlot: one cluster at a time holds a host's control-plane
// node; the next is told which cluster has it; the holder's certificate is
// where kube-api-auth reads it, owned by the image's user, and gone once
// released.
func TestControlPlaneSlot(t *testing.T) {
	root := t.TempDir()
	slot := cpSlot{claimDir: filepath.Join(root, "claim"), certDir: filepath.Join(root, "etc", "kube-api-auth")}
	files := func(name string) (string, string) {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		crt, key := filepath.Join(dir, "crt"), filepath.Join(dir, "key")
		for _, f := range []string{crt, key} {
			if err := os.WriteFile(f, []byte(name+" "+filepath.Base(f)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return crt, key
	}
	oneCrt, oneKey := files("one")
	twoCrt, twoKey := files("two")

	one, err := slot.claim("/clusters/one", oneCrt, oneKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"tls.crt": "one crt", "tls.key": "one key"} {
		path := filepath.Join(slot.certDir, name)
		data, err := os.ReadFile(path)
		if err != nil || string(data) != want {
			t.Errorf("%s: %q, %v; want %q", name, data, err, want)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != wellknown.ImageUID || fi.Mode().Perm() != 0o400 {
			t.Errorf("%s: owner %d mode %v, want %d and 0400", name, st.Uid, fi.Mode().Perm(), wellknown.ImageUID)
		}
	}

	_, err = slot.claim("/clusters/two", twoCrt, twoKey)
	if !errors.Is(err, ErrControlPlaneNodeTaken) || !strings.Contains(err.Error(), "/clusters/one") {
		t.Fatalf("second claim: %v, want ErrControlPlaneNodeTaken naming /clusters/one", err)
	}
	if data, _ := os.ReadFile(filepath.Join(slot.certDir, "tls.crt")); string(data) != "one crt" {
		t.Errorf("a refused claim changed the certificate: %q", data)
	}

	slot.release(one)
	if _, err := os.Stat(slot.certDir); !os.IsNotExist(err) {
		t.Errorf("the certificate directory is left after release: %v", err)
	}
	two, err := slot.claim("/clusters/two", twoCrt, twoKey)
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	defer slot.release(two)
	if data, _ := os.ReadFile(filepath.Join(slot.certDir, "tls.key")); string(data) != "two key" {
		t.Errorf("tls.key after the second claim: %q", data)
	}
}
