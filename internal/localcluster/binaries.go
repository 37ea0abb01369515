package localcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	utilversion "k8s.io/apimachinery/pkg/util/version"

	"herd.dev/herd/internal/version"
)

// KubernetesVersion is the version `make kube` builds (hack/kube/go.mod);
// a test keeps the two in step.
const KubernetesVersion = "v1.37.2"

// KwokVersion is the kwok version `make kube` builds.
const KwokVersion = "v0.8.0"

// Names of the files in BinDir.
const (
	binAPIServer  = "kube-apiserver"
	binController = "kube-controller-manager"
	binScheduler  = "kube-scheduler"
	binKwok       = "kwok"
	binKubectl    = "kubectl"
	kwokStages    = "kwok-stages.yaml"
)

// EnvBinDir names the environment variable that overrides DefaultBinDir.
const EnvBinDir = "HERD_KUBE_BIN_DIR"

// DefaultBinDir is $HERD_KUBE_BIN_DIR if set; else _output/kube/<version>
// of the source tree that holds the running executable or the working
// directory (searched upwards), which is where `make kube` puts them.
func DefaultBinDir() string {
	if d := os.Getenv(EnvBinDir); d != "" {
		return d
	}
	return inSourceTree(filepath.Join("_output", "kube", KubernetesVersion))
}

// DefaultImageArchive is _output/herd-image-<version>.tar of the source
// tree, where `make image` writes Herd's images.
func DefaultImageArchive() string {
	return inSourceTree(filepath.Join("_output", "herd-image-"+version.Version+".tar"))
}

// inSourceTree returns rel under the first folder, from the running
// executable's or the working directory upwards, that has it; else rel.
func inSourceTree(rel string) string {
	var starts []string
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, rel)); err == nil {
				return filepath.Join(d, rel)
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	return rel
}

// KubectlPath returns the kubectl built beside the control-plane binaries.
func KubectlPath(binDir string) string {
	if binDir == "" {
		binDir = DefaultBinDir()
	}
	return filepath.Join(binDir, binKubectl)
}

// CheckBinaries verifies that binDir holds every binary at the pinned
// version. The error says how to fix it.
func CheckBinaries(ctx context.Context, binDir string) error {
	fix := fmt.Sprintf("run `make kube` (or set %s to a folder that `make kube` built)", EnvBinDir)
	if _, err := os.Stat(filepath.Join(binDir, kwokStages)); err != nil {
		return fmt.Errorf("%w: %s not found in %s: %s", ErrBinary, kwokStages, binDir, fix)
	}
	want := map[string]string{
		binAPIServer:  "Kubernetes " + KubernetesVersion,
		binController: "Kubernetes " + KubernetesVersion,
		binScheduler:  "Kubernetes " + KubernetesVersion,
		binKwok:       KwokVersion,
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	for name, version := range want {
		wg.Go(func() {
			if err := checkVersion(ctx, filepath.Join(binDir, name), version); err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("%w: %s: %s", ErrBinary, strings.Join(errs, "; "), fix)
	}
	return nil
}

func checkVersion(ctx context.Context, path, want string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s not found", path)
	}
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s --version failed: %v", path, err)
	}
	got := strings.TrimSpace(string(out))
	if !strings.Contains(got, want) {
		return fmt.Errorf("%s is %q, want %s", path, firstLine(got), want)
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// Versions are the Kubernetes versions whose control-plane binaries sit
// beside binDir (in binDir's parent, one folder per version, as `make
// kube` lays them out), oldest first; binDir's own version is one of them
// when its folder is named by it.
func Versions(binDir string) []string {
	parent := filepath.Dir(filepath.Clean(binDir))
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var out []*utilversion.Version
	for _, e := range entries {
		v, err := utilversion.ParseSemantic(e.Name())
		if err != nil || !e.IsDir() || !strings.HasPrefix(e.Name(), "v") || v.PreRelease() != "" {
			continue
		}
		if hasAll(filepath.Join(parent, e.Name()), binAPIServer, binController, binScheduler, binKubectl) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LessThan(out[j]) })
	names := make([]string, len(out))
	for i, v := range out {
		names[i] = "v" + v.String()
	}
	return names
}

func hasAll(dir string, files ...string) bool {
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}
