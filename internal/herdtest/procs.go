package herdtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcessesMentioning lists the pids (other than this process) whose
// command line contains s, such as a cluster's state folder: a test uses it
// to show that nothing it started is left running.
func ProcessesMentioning(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}
