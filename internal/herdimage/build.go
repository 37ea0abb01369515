package herdimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"herd.dev/herd/internal/ociimage"
)

// Build builds herd, herdctl and herd-pause static from the module at
// moduleDir into outDir, and the images of them, tagged version, into
// outDir/herd-image-<version>.tar, whose path it returns.
func Build(ctx context.Context, moduleDir, outDir, version string) (string, error) {
	ldflags := "-s -w -X herd.dev/herd/internal/version.Version=" + version
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", outDir+string(filepath.Separator),
		"./cmd/herd", "./cmd/herdctl", "./cmd/herd-pause")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build of the image's binaries: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	a, err := Archive(Options{Version: version, Created: time.Unix(0, 0),
		Herd: filepath.Join(outDir, "herd"), Herdctl: filepath.Join(outDir, "herdctl"), Pause: filepath.Join(outDir, "herd-pause")})
	if err != nil {
		return "", err
	}
	path := filepath.Join(outDir, "herd-image-"+version+".tar")
	return path, ociimage.WriteFile(path, a)
}
