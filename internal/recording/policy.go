package recording

import (
	"context"
	"fmt"
	"strings"

	"herd.dev/herd/internal/authproxy"
)

// Policy says which sessions are recorded (--exec-recording).
type Policy string

// The policies.
const (
	// Off records nothing.
	Off Policy = "off"
	// On records every interactive session; one whose recording cannot
	// begin runs unrecorded, and says so in the log.
	On Policy = "on"
	// Required records every interactive session, and refuses one whose
	// recording cannot begin.
	Required Policy = "required"
)

// ParsePolicy reads --exec-recording.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(s)); p {
	case Off, On, Required:
		return p, nil
	}
	return "", fmt.Errorf("--exec-recording %q: must be off, on or required", s)
}

// ForProxy is what the proxy calls for each interactive session, under
// policy.
func (r *Recorder) ForProxy(policy Policy) authproxy.SessionRecorder {
	return proxyRecorder{r: r, policy: policy}
}

type proxyRecorder struct {
	r      *Recorder
	policy Policy
}

func (p proxyRecorder) Start(ctx context.Context, s authproxy.RecordedSession) (authproxy.Recording, error) {
	if p.policy == Off {
		return nil, nil
	}
	info := Info{User: s.Caller.UserID, ImpersonatedUser: s.AsUser, Cluster: s.Cluster, Namespace: s.Namespace, Pod: s.Pod,
		Container: s.Container, Kind: s.Kind, Command: s.Command, TTY: s.TTY, Stdin: s.Stdin, Source: s.Source}
	sess, err := p.r.Start(ctx, info)
	if err == nil {
		return sess, nil
	}
	if p.policy == Required {
		p.r.refused.Add(1)
		p.r.cfg.Logger.Error("exec session refused: recording is required and the recorder is unavailable",
			"user", info.User, "cluster", info.Cluster, "namespace", info.Namespace, "pod", info.Pod, "err", err)
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	p.r.unrecorded.Add(1)
	p.r.cfg.Logger.Warn("exec session runs unrecorded: the recorder is unavailable",
		"user", info.User, "cluster", info.Cluster, "namespace", info.Namespace, "pod", info.Pod, "err", err)
	return nil, nil
}
