package ociimage

import (
	"fmt"

	"github.com/distribution/reference"
)

// FullName is ref fully qualified the way Docker and containerd's CRI
// normalize it (the default registry and, for one-part names, its library
// namespace added), while a reference that names its registry host stays as
// it is. The kubelet asks the CRI for "herd/herd:dev", which looks up the
// normalized name, so that is the name containerd must import.
func FullName(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("ociimage: image name %q: %w", ref, err)
	}
	return reference.TagNameOnly(named).String(), nil
}
