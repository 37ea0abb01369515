package herdtest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// Build builds the command in pkgDir (relative to the test's package, such
// as ".") into a temporary folder as name and returns the binary's path.
func Build(t testing.TB, pkgDir, name string) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), name)
	out, err := exec.Command("go", "build", "-o", exe, pkgDir).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", pkgDir, err, out)
	}
	return exe
}
