package localcluster

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestVersions: the versions beside a bin dir are the folders named by a
// release version that hold the control-plane binaries, oldest first.
func TestVersions(t *testing.T) {
	root := t.TempDir()
	for dir, files := range map[string][]string{
		"v1.37.2":      {binAPIServer, binController, binScheduler, binKubectl, binKwok},
		"v1.36.3":      {binAPIServer, binController, binScheduler, binKubectl},
		"v1.9.0":       {binAPIServer, binController, binScheduler, binKubectl},
		"v1.35.0":      {binAPIServer}, // incomplete
		"v1.38.0-rc.1": {binAPIServer, binController, binScheduler, binKubectl},
		"tools":        {binAPIServer, binController, binScheduler, binKubectl},
	} {
		for _, f := range files {
			if err := os.MkdirAll(filepath.Join(root, dir), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, dir, f), []byte("#!/bin/sh\n"), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := Versions(filepath.Join(root, "v1.37.2")); !slices.Equal(got, []string{"v1.9.0", "v1.36.3", "v1.37.2"}) {
		t.Errorf("Versions = %v", got)
	}
	if got := Versions(filepath.Join(t.TempDir(), "missing", "v1.37.2")); len(got) != 0 {
		t.Errorf("Versions of a missing folder = %v", got)
	}
}
