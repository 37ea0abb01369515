package herdtest

import (
	"os"
	"path/filepath"
)

// removeStaleSlapdDirs removes the folders that harnesses killed with
// their test binary left in parent: those whose slapd once ran (it wrote
// its pid file) and that no process mentions any more. A harness being
// started has no pid file yet, one running has its slapd, so neither is
// touched.
func removeStaleSlapdDirs(parent string) {
	if parent == "" {
		parent = os.TempDir()
	}
	dirs, _ := filepath.Glob(filepath.Join(parent, "herd-slapd-*"))
	for _, dir := range dirs {
		if !slapdFileExists(filepath.Join(dir, "slapd.pid")) || len(ProcessesMentioning(dir)) > 0 {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}
