// Command herd-image writes Herd's container images into one tar archive
// that `docker load`, `ctr images import` and skopeo (oci-archive: and
// docker-archive:) all read: herd/herd:VERSION, with herd and herdctl, and
// herd/pause:VERSION, the pod sandbox image of local real nodes. The
// binaries must be static Linux executables (`make image` builds them and
// runs this command). The archive is reproducible; its times are
// SOURCE_DATE_EPOCH when that is set, else the Unix epoch.
//
//	herd-image -o _output/herd-image-dev.tar -version dev \
//	    -herd _output/image/herd -herdctl _output/image/herdctl -pause _output/image/herd-pause
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"herd.dev/herd/internal/herdimage"
	"herd.dev/herd/internal/ociimage"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "herd-image:", err)
		os.Exit(1)
	}
}

// options are the command's flags and environment.
type options struct {
	out, version         string
	herd, herdctl, pause string
	created              time.Time
}

func run(args []string, getenv func(string) string, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	a, err := herdimage.Archive(herdimage.Options{Version: o.version, Herd: o.herd, Herdctl: o.herdctl, Pause: o.pause, Created: o.created})
	if err != nil {
		return err
	}
	if err := ociimage.WriteFile(o.out, a); err != nil {
		return fmt.Errorf("failed to write %s: %w", o.out, err)
	}
	return nil
}

// parse reads the flags and SOURCE_DATE_EPOCH; its errors name the flag.
func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("herd-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "o", "", "the archive to write (required)")
	fs.StringVar(&o.version, "version", "dev", "the images' tag and org.opencontainers.image.version")
	fs.StringVar(&o.herd, "herd", "", "the static herd binary (required)")
	fs.StringVar(&o.herdctl, "herdctl", "", "the static herdctl binary (required)")
	fs.StringVar(&o.pause, "pause", "", "the static herd-pause binary (required)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, f := range []struct{ flag, value string }{
		{"-o", o.out}, {"-version", o.version}, {"-herd", o.herd}, {"-herdctl", o.herdctl}, {"-pause", o.pause},
	} {
		if f.value == "" {
			return o, fmt.Errorf("%s is required", f.flag)
		}
	}
	o.created = time.Unix(0, 0)
	if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
		secs, err := strconv.ParseInt(s, 10, 64)
		if err != nil || secs < 0 {
			return o, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
		}
		o.created = time.Unix(secs, 0)
	}
	return o, nil
}
