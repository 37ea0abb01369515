package importmanifest

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"herd.dev/herd/internal/version"
)

// DefaultImage is the agent image used when Params.Image is empty: Herd's
// image of this very build's version, as `make image` tags it.
func DefaultImage() string { return "herd/herd:" + version.Version }

// MaxTokenLen bounds Params.Token in bytes.
const MaxTokenLen = 512

// ErrInvalid is wrapped by every error that Params.Validate returns.
var ErrInvalid = errors.New("importmanifest: invalid parameters")

// Params are what the manifest is rendered from. Zero values are documented
// per field.
type Params struct {
	// ServerURL is the https URL of the Herd server that agents dial, for
	// example https://10.0.0.1:8443. Required: https, with a host and no
	// user info.
	ServerURL string
	// Token is the cluster registration token "<name>:<secret>": printable
	// ASCII without spaces, at most MaxTokenLen bytes. Required.
	Token string
	// CAChecksum is the sha256 of the server's CA bundle (/cacerts) as 64
	// lowercase hex digits; agents pin it. Required.
	CAChecksum string
	// ClusterName is the name of the Herd Cluster object, a DNS label.
	// Required.
	ClusterName string
	// ClusterUID is the Herd Cluster object's UID: kube-api-auth accepts
	// only the token copies of this very cluster. Required.
	ClusterUID string
	// Image is the agent image. Empty: DefaultImage().
	Image string
}

// Validate checks the parameters; errors wrap ErrInvalid and name the field
// at fault. They never include the token.
func (p Params) Validate() error {
	if err := validateServerURL(p.ServerURL); err != nil {
		return err
	}
	if err := validateToken(p.Token); err != nil {
		return err
	}
	if !isSHA256Hex(p.CAChecksum) {
		return fmt.Errorf("%w: CAChecksum must be a sha256 as 64 lowercase hex digits", ErrInvalid)
	}
	if errs := validation.IsDNS1123Label(p.ClusterName); len(errs) > 0 {
		return fmt.Errorf("%w: ClusterName %q: %s", ErrInvalid, p.ClusterName, strings.Join(errs, "; "))
	}
	if errs := validation.IsValidLabelValue(p.ClusterUID); p.ClusterUID == "" || len(errs) > 0 {
		return fmt.Errorf("%w: ClusterUID %q must be the Cluster's UID", ErrInvalid, p.ClusterUID)
	}
	if strings.ContainsFunc(p.Image, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return fmt.Errorf("%w: Image %q must be printable ASCII without spaces", ErrInvalid, p.Image)
	}
	return nil
}

func validateServerURL(s string) error {
	if s == "" {
		return fmt.Errorf("%w: ServerURL is required", ErrInvalid)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return fmt.Errorf("%w: ServerURL must be an https URL with a host", ErrInvalid)
	}
	if u.User != nil {
		return fmt.Errorf("%w: ServerURL must not hold user info", ErrInvalid)
	}
	return nil
}

func validateToken(tok string) error {
	switch name, secret, ok := strings.Cut(tok, ":"); {
	case tok == "":
		return fmt.Errorf("%w: Token is required", ErrInvalid)
	case len(tok) > MaxTokenLen:
		return fmt.Errorf("%w: Token is %d bytes, more than %d", ErrInvalid, len(tok), MaxTokenLen)
	case !ok || name == "" || secret == "":
		return fmt.Errorf("%w: Token must have the form <name>:<secret>", ErrInvalid)
	case strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r > '~' }):
		return fmt.Errorf("%w: Token must be printable ASCII without spaces", ErrInvalid)
	}
	return nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// image returns the image to run.
func (p Params) image() string {
	if p.Image == "" {
		return DefaultImage()
	}
	return p.Image
}
