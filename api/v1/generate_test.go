package v1

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesFresh fails when zz_generated.deepcopy.go or a CRD in
// config/crd differs from what `make generate` makes of the current types.
func TestGeneratedFilesFresh(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("../../hack/generate.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/generate.sh: %v\n%s", err, b)
	}
	compare := func(got, want string) {
		g, err := os.ReadFile(got)
		if err != nil {
			t.Fatal(err)
		}
		w, err := os.ReadFile(want)
		if err != nil {
			t.Errorf("%s is not committed: run `make generate`", want)
			return
		}
		if !bytes.Equal(g, w) {
			t.Errorf("%s is stale: run `make generate`", want)
		}
	}
	compare(filepath.Join(out, "api/v1/zz_generated.deepcopy.go"), "zz_generated.deepcopy.go")
	generated, _ := filepath.Glob(filepath.Join(out, "config/crd/*.yaml"))
	committed, _ := filepath.Glob("../../config/crd/*.yaml")
	if len(generated) == 0 || len(generated) != len(committed) {
		t.Fatalf("generated %d CRDs, committed %d: run `make generate`", len(generated), len(committed))
	}
	for _, g := range generated {
		compare(g, filepath.Join("../../config/crd", filepath.Base(g)))
	}
}
