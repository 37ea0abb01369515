package clusterstatus

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	v1 "herd.dev/herd/api/v1"
)

// Reasons of the Ready condition.
const (
	ReasonAPIServerReady    = "APIServerReady"
	ReasonAPIServerNotReady = "APIServerNotReady"
)

// versionRefresh is how long a known Kubernetes version is trusted; it is
// also fetched again whenever the apiserver becomes ready, as after an
// upgrade.
const versionRefresh = 5 * time.Minute

// maxMessage bounds the Ready condition's message.
const maxMessage = 256

// errNoRESTClient: the clientset's discovery has no REST client (a fake).
var errNoRESTClient = errors.New("clusterstatus: discovery has no REST client")

// probeLoop probes /readyz now and every ReadyzInterval until ctx ends.
func (c *Controller) probeLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.ReadyzInterval)
	defer t.Stop()
	for {
		c.probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe runs one /readyz probe (and a /version fetch if due), records the
// outcome and marks the status dirty if the condition or version changed.
func (c *Controller) probe(ctx context.Context) {
	err := c.get(ctx, readyz)
	if ctx.Err() != nil {
		return // shutting down: the tunnel's end is no verdict on the apiserver
	}
	now := c.cfg.Now()
	c.mu.Lock()
	wasReady := c.ready.Status == metav1.ConditionTrue
	needVersion := c.version == "" || !wasReady || now.Sub(c.versionAt) >= versionRefresh
	c.mu.Unlock()

	var version string
	if err == nil && needVersion {
		verr := c.get(ctx, func(ctx context.Context, kube kubernetes.Interface) error {
			info, err := kube.Discovery().ServerVersionWithContext(ctx)
			if err == nil {
				version = info.GitVersion
			}
			return err
		})
		if verr != nil && ctx.Err() == nil {
			c.log.Warn("failed to get the Kubernetes version", "err", verr)
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if answered(err) {
		c.lastSeen = now
	}
	next := nextReady(c.ready, err, now)
	changed := !c.probed || next != c.ready
	c.probed = true
	if next.Status != c.ready.Status {
		c.log.Info("cluster readiness changed", "ready", next.Status, "message", next.Message)
	}
	c.ready = next
	if version != "" {
		changed = changed || version != c.version
		c.version, c.versionAt = version, now
	}
	if changed {
		c.markDirty()
	}
}

// get calls f with a context that ends after the probe timeout.
func (c *Controller) get(ctx context.Context, f func(context.Context, kubernetes.Interface) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.probeTimeout())
	defer cancel()
	return f(ctx, c.cfg.Kube)
}

// readyz asks the apiserver whether it is ready; nil means it is.
func readyz(ctx context.Context, kube kubernetes.Interface) error {
	rc := kube.Discovery().RESTClient()
	if rc == nil {
		return errNoRESTClient
	}
	return rc.Get().AbsPath("/readyz").Do(ctx).Error()
}

// answered reports whether a probe that ended with err got an HTTP
// response from the downstream apiserver, so the agent was heard from.
func answered(err error) bool {
	var status apierrors.APIStatus
	return err == nil || errors.As(err, &status)
}

// nextReady returns the Ready condition after a probe that ended with err.
// The transition time stays prev's while the status does not change.
func nextReady(prev metav1.Condition, err error, now time.Time) metav1.Condition {
	next := metav1.Condition{Type: v1.ClusterReady, Status: metav1.ConditionTrue,
		Reason: ReasonAPIServerReady, Message: "the kube-apiserver's /readyz passes"}
	if err != nil {
		next.Status, next.Reason = metav1.ConditionFalse, ReasonAPIServerNotReady
		next.Message = shortMessage("/readyz failed: " + err.Error())
	}
	next.LastTransitionTime = prev.LastTransitionTime
	if next.Status != prev.Status {
		next.LastTransitionTime = metav1.NewTime(now)
	}
	return next
}

// shortMessage puts s on one line and cuts it to maxMessage bytes on a
// rune boundary. Error texts of the REST client name the URL (without
// credentials) and the apiserver's short failure body, which withholds
// the failing checks' reasons.
func shortMessage(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
