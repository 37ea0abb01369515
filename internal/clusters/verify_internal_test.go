package clusters

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"herd.dev/herd/internal/tunnel"
)

// A registration change is dropped only on an answer against it; when the
// new endpoint cannot be reached it waits.
func TestRefusesCredential(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://10.0.0.1:6443/apis/authentication.k8s.io/v1/selfsubjectreviews", Err: err}
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"a refused credential", apierrors.NewUnauthorized("Unauthorized"), true},
		{"an anonymous request", apierrors.NewForbidden(schema.GroupResource{Resource: "selfsubjectreviews"}, "", errors.New(`User "system:anonymous"`)), true},
		{"another CA", wrap(x509.UnknownAuthorityError{}), true},
		{"another host name", wrap(x509.HostnameError{Host: "10.0.0.1"}), true},
		{"an address the agent does not serve", wrap(fmt.Errorf("failed to dial: %w", tunnel.ErrNotAllowed)), false},
		{"no tunnel", wrap(errors.New("tunnel: cluster not connected")), false},
		{"a refused connection", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), false},
		{"a timeout", wrap(context.DeadlineExceeded), false},
		{"a kube-apiserver that is starting", apierrors.NewServiceUnavailable("starting"), false},
	} {
		if got := refusesCredential(tt.err); got != tt.want {
			t.Errorf("%s (%v): refuses %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
