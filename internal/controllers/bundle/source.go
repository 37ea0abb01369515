package bundle

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/bundles"
	"herd.dev/herd/internal/gitsource"
)

// chartLabel marks a content Secret that holds a Helm chart.
const chartLabel = "bundles.herd.dev/chart"

// Git polling bounds.
const (
	defaultPoll = 15 * time.Second
	minPoll     = 5 * time.Second
)

// RefreshAnnotation, set to a time (RFC 3339) later than the last poll,
// makes the Bundle's Git ref be looked at at once.
const RefreshAnnotation = "bundles.herd.dev/refresh"

// content is a bundle's content at one revision, stored in a Secret.
type content struct {
	revision string
	secret   string
	chart    bool
}

func secretName(bundle, revision string) string { return "bundle-" + bundle + "-" + revision }

// pollInterval is the Bundle's Git poll interval, within bounds.
func pollInterval(b *v1.Bundle) time.Duration {
	if b.Spec.Git == nil || b.Spec.Git.PollInterval == nil {
		return defaultPoll
	}
	return max(b.Spec.Git.PollInterval.Duration, minPoll)
}

// pollDue reports whether the Bundle's Git ref should be looked at now,
// last being when it was last looked at (zero: never).
func pollDue(b *v1.Bundle, last, now time.Time) bool {
	if last.IsZero() || b.Status.Revision == "" || now.Sub(last) >= pollInterval(b) {
		return true
	}
	if t, err := time.Parse(time.RFC3339Nano, b.Annotations[RefreshAnnotation]); err == nil && t.After(last) {
		return true
	}
	return false
}

// poll is what this replica last found at a Bundle's Git ref: when, for
// which Bundle and spec, and the content (empty when it failed and
// nothing was found before). Polls that find nothing new write nothing
// to the management cluster, and a cache that lags behind the status
// this controller wrote cannot take a rollout back to an older revision.
type poll struct {
	at         time.Time
	uid        types.UID
	generation int64
	content    content
}

// lastPoll is this replica's last look at the Bundle's ref for its
// current spec, else what its status says.
func (r *Reconciler) lastPoll(b *v1.Bundle) poll {
	if v, ok := r.polls.Load(b.Name); ok {
		if p := v.(poll); p.uid == b.UID && p.generation == b.Generation {
			return p
		}
	}
	if b.Status.LastPolled != nil && b.Status.ObservedGeneration == b.Generation {
		return poll{at: b.Status.LastPolled.Time}
	}
	return poll{}
}

// resolve finds the bundle's content, storing a new revision. polled says
// the Git ref was looked at. On a Git error the last revision found is
// returned with the error.
func (r *Reconciler) resolve(ctx context.Context, b *v1.Bundle) (c content, polled bool, err error) {
	if b.Spec.Git == nil {
		files := map[string][]byte{bundles.ManifestsFile: []byte(b.Spec.Manifests)}
		if _, err := bundles.Manifests(files); err != nil {
			return content{}, false, fmt.Errorf("manifests: %w", err)
		}
		c := content{revision: bundles.Digest(files), chart: false}
		c.secret = secretName(b.Name, c.revision)
		return c, false, r.store(ctx, b, c, files)
	}
	last := r.lastPoll(b)
	previous := func() (content, bool) {
		if last.content.secret != "" {
			return last.content, true
		}
		c, err := r.storedContent(ctx, b, b.Status.Revision)
		return c, err == nil
	}
	if !pollDue(b, last.at, r.now()) {
		if c, ok := previous(); ok {
			return c, false, nil
		}
	}
	c, err = r.fetch(ctx, b)
	if err != nil {
		if prev, ok := previous(); ok {
			c = prev
		}
	}
	r.polls.Store(b.Name, poll{at: r.now(), uid: b.UID, generation: b.Generation, content: c})
	return c, true, err
}

// fetch reads the Bundle's Git directory and stores it.
func (r *Reconciler) fetch(ctx context.Context, b *v1.Bundle) (content, error) {
	src, err := r.gitSource(ctx, b)
	if err != nil {
		return content{}, err
	}
	head, ref, err := src.Resolve(ctx)
	if err != nil {
		return content{}, err
	}
	if c, err := r.storedContent(ctx, b, head.String()[:12]); err == nil {
		return c, nil
	}
	files, at, err := src.Files(ctx, ref)
	if err != nil {
		return content{}, err
	}
	c := content{revision: at.String()[:12], chart: bundles.IsChart(files)}
	c.secret = secretName(b.Name, c.revision)
	if !c.chart {
		if _, err := bundles.Manifests(files); err != nil {
			return content{}, fmt.Errorf("commit %s: %w", c.revision, err)
		}
	}
	return c, r.store(ctx, b, c, files)
}

// gitSource is the Bundle's repository with its credentials.
func (r *Reconciler) gitSource(ctx context.Context, b *v1.Bundle) (gitsource.Source, error) {
	g := b.Spec.Git
	src := gitsource.Source{Repo: g.Repo, Ref: g.Ref, Path: g.Path}
	if g.SecretName == "" {
		return src, nil
	}
	var s corev1.Secret
	if err := r.api.Get(ctx, client.ObjectKey{Namespace: r.namespace, Name: g.SecretName}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return src, fmt.Errorf("git.secretName: Secret %s/%s does not exist", r.namespace, g.SecretName)
		}
		return src, fmt.Errorf("git.secretName: %w", err)
	}
	src.Username, src.Password, src.CABundle = string(s.Data["username"]), string(s.Data["password"]), s.Data["caBundle"]
	return src, nil
}

// stored is the content of revision if its Secret exists.
func (r *Reconciler) storedContent(ctx context.Context, b *v1.Bundle, revision string) (content, error) {
	if revision == "" {
		return content{}, errors.New("no revision")
	}
	var s corev1.Secret
	name := secretName(b.Name, revision)
	if err := r.api.Get(ctx, client.ObjectKey{Namespace: r.namespace, Name: name}, &s); err != nil {
		return content{}, err
	}
	return content{revision: revision, secret: name, chart: s.Labels[chartLabel] == "true"}, nil
}

// store writes the content Secret of c unless it exists. It belongs to
// the Bundle, so it goes with it.
func (r *Reconciler) store(ctx context.Context, b *v1.Bundle, c content, files map[string][]byte) error {
	key := string(b.UID) + "/" + c.secret
	if _, ok := r.stored.Load(key); ok {
		return nil
	}
	packed, err := bundles.Pack(files)
	if err != nil {
		return err
	}
	yes := true
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.namespace, Name: c.secret,
			Labels: map[string]string{v1.BundleLabel: b.Name, chartLabel: fmt.Sprint(c.chart)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Bundle", Name: b.Name, UID: b.UID,
				BlockOwnerDeletion: &yes}}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{bundles.ContentKey: packed},
	}
	if err := r.client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to store revision %s: %w", c.revision, err)
	}
	r.stored.Store(key, struct{}{})
	return nil
}

// pruneContent deletes the Bundle's content Secrets that neither the
// current revision nor any deployment uses.
func (r *Reconciler) pruneContent(ctx context.Context, b *v1.Bundle, current string, bds []v1.BundleDeployment) {
	var list corev1.SecretList
	// Content Secrets only (they carry chartLabel): the Git credentials
	// are the bundle's too.
	if err := r.api.List(ctx, &list, client.InNamespace(r.namespace), client.MatchingLabels{v1.BundleLabel: b.Name}, client.HasLabels{chartLabel}); err != nil {
		return
	}
	used := map[string]bool{current: true}
	for _, bd := range bds {
		used[bd.Spec.ContentSecret] = true
	}
	for i := range list.Items {
		s := &list.Items[i]
		if !used[s.Name] {
			r.stored.Delete(string(b.UID) + "/" + s.Name)
			if err := r.client.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
				r.log.Warn("failed to delete an old bundle revision", "bundle", b.Name, "secret", s.Name, "err", err)
			}
		}
	}
}
