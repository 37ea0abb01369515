// Package herdimage defines Herd's container images: herd/herd:VERSION
// (herd and herdctl, run as 65532) and herd/pause:VERSION (the pod sandbox
// of local real nodes), from static binaries, and builds them from source
// for tests and `make image`.
package herdimage

import (
	"fmt"
	"io/fs"
	"time"

	"herd.dev/herd/internal/ociimage"
	"herd.dev/herd/internal/wellknown"
)

// The users the images run as. 65532 is distroless' "nonroot", which the
// import manifests' pods run as too; 65535 is what Kubernetes' pause
// image uses.
const (
	herdUser  = "65532:65532"
	herdUID   = wellknown.ImageUID
	pauseUser = "65535:65535"
	home      = "/home/nonroot"
)

const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:" + home + ":/sbin/nologin\n"
	group = "root:x:0:\n" +
		"nonroot:x:65532:\n"
)

// Options say what goes into the images.
type Options struct {
	// Version tags both images. Required.
	Version string
	// Herd, Herdctl and Pause are the static binaries. Required.
	Herd, Herdctl, Pause string
	// Created is the images' creation time (and every file's).
	Created time.Time
}

// Archive is the images of o: herd/herd and herd/pause, tagged o.Version,
// for the architecture of the binaries.
func Archive(o Options) (ociimage.Archive, error) {
	arch, err := sameArch(o.Herd, o.Herdctl, o.Pause)
	if err != nil {
		return ociimage.Archive{}, err
	}
	labels := func(title, description string) map[string]string {
		return map[string]string{
			"org.opencontainers.image.title":       title,
			"org.opencontainers.image.description": description,
			"org.opencontainers.image.version":     o.Version,
		}
	}
	herd := ociimage.Image{
		Name:         "herd/herd:" + o.Version,
		Architecture: arch,
		Files: []ociimage.File{
			{Path: "/usr/local/bin/herd", Mode: 0o755, Source: o.Herd},
			{Path: "/usr/local/bin/herdctl", Mode: 0o755, Source: o.Herdctl},
			{Path: "/etc/passwd", Mode: 0o644, Content: []byte(passwd)},
			{Path: "/etc/group", Mode: 0o644, Content: []byte(group)},
			{Path: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
			{Path: home, Mode: fs.ModeDir | 0o700, UID: herdUID, GID: herdUID},
		},
		Config: ociimage.Config{
			Entrypoint: []string{"/usr/local/bin/herd"},
			User:       herdUser,
			Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home},
			WorkingDir: home,
			Labels:     labels("herd", "Herd: the server, the cluster agent and kube-api-auth (herd), and herdctl"),
		},
	}
	pause := ociimage.Image{
		Name:         "herd/pause:" + o.Version,
		Architecture: arch,
		Files:        []ociimage.File{{Path: "/pause", Mode: 0o755, Source: o.Pause}},
		Config: ociimage.Config{
			Entrypoint: []string{"/pause"},
			User:       pauseUser,
			Labels:     labels("herd-pause", "The pod sandbox (pause) image of Herd's local real nodes"),
		},
	}
	a := ociimage.Archive{Images: []ociimage.Image{herd, pause}, Created: o.Created}
	if err := a.Validate(); err != nil {
		return a, fmt.Errorf("invalid images (is -version a valid tag?): %w", err)
	}
	return a, nil
}
