package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/bundles"
	"herd.dev/herd/internal/controllers/bundle"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/wellknown"
)

// maxBundleBody bounds PUT /v1/bundles/NAME (inline manifests up to 512 KiB).
const maxBundleBody = 1 << 20

// bundlesAPI serves /v1/bundles. Any user may make bundles: what a bundle
// holds is applied in each cluster with the rights of who last set its
// spec, so it can do nothing there they could not. Users see and change
// their own bundles; the global rights to get, update and delete bundles
// reach everyone's.
type bundlesAPI struct{ *API }

func gitSecretName(bundle string) string { return "bundle-" + bundle + "-git" }

func (a bundlesAPI) mine(id *authn.Identity, b *v1.Bundle) bool {
	return b.Annotations[v1.BundleCreatorAnnotation] == id.UserName
}

// find reads the named Bundle if the caller may see it (answering 404
// otherwise) and, when verb is not "get", change it (403).
func (a bundlesAPI) find(w http.ResponseWriter, r *http.Request, id *authn.Identity, verb string) (*v1.Bundle, bool) {
	var b v1.Bundle
	name := r.PathValue("name")
	err := a.cache.Get(r.Context(), client.ObjectKey{Name: name}, &b)
	visible := err == nil && (a.mine(id, &b) || a.authz.Allowed(r.Context(), id, "get", "bundles"))
	switch {
	case apierrors.IsNotFound(err) || (err == nil && !visible):
		a.notFound(w, r, "bundle "+name)
		return nil, false
	case err != nil:
		a.internal(w, r, err)
		return nil, false
	case verb != "get" && !a.mine(id, &b) && !a.authz.Allowed(r.Context(), id, verb, "bundles"):
		a.forbidden(w, r, id, verb+" bundle "+name+" (it is "+b.Annotations[v1.BundleCreatorAnnotation]+"'s)")
		return nil, false
	}
	return &b, true
}

func (a bundlesAPI) apiBundle(ctx context.Context, b *v1.Bundle) herdapi.Bundle {
	out := herdapi.Bundle{Name: b.Name, Creator: b.Annotations[v1.BundleCreatorAnnotation], CreatedAt: b.CreationTimestamp.Time,
		Spec: b.Spec, Status: b.Status}
	var u v1.User
	if out.Creator != "" && a.cache.Get(ctx, client.ObjectKey{Name: out.Creator}, &u) == nil {
		out.CreatorUsername = u.Spec.Username
	}
	return out
}

func (a bundlesAPI) handleList(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var list v1.BundleList
	if err := a.cache.List(r.Context(), &list); err != nil {
		a.internal(w, r, err)
		return
	}
	all := a.authz.Allowed(r.Context(), id, "list", "bundles")
	out := herdapi.BundleList{Items: []herdapi.Bundle{}}
	for i := range list.Items {
		if all || a.mine(id, &list.Items[i]) {
			out.Items = append(out.Items, a.apiBundle(r.Context(), &list.Items[i]))
		}
	}
	slices.SortFunc(out.Items, func(x, y herdapi.Bundle) int { return strings.Compare(x.Name, y.Name) })
	writeJSON(w, http.StatusOK, out)
}

func (a bundlesAPI) handleGet(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if b, ok := a.find(w, r, id, "get"); ok {
		writeJSON(w, http.StatusOK, a.apiBundle(r.Context(), b))
	}
}

func (a bundlesAPI) handleDelete(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if b, ok := a.find(w, r, id, "delete"); ok {
		a.deleteObject(w, r, id, b, "bundle")
	}
}

// handleRefresh makes the Bundle's Git ref be looked at now.
func (a bundlesAPI) handleRefresh(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	b, ok := a.find(w, r, id, "update")
	if !ok {
		return
	}
	if b.Spec.Git == nil {
		a.invalid(w, r, "bundle "+b.Name+" has no Git source to refresh")
		return
	}
	patch := client.MergeFrom(b.DeepCopy())
	upd := b.DeepCopy()
	if upd.Annotations == nil {
		upd.Annotations = map[string]string{}
	}
	upd.Annotations[bundle.RefreshAnnotation] = a.now().UTC().Format(time.RFC3339Nano)
	if err := a.client.Patch(r.Context(), upd, patch); err != nil {
		a.internal(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// handleApply creates or replaces a Bundle's spec; the caller becomes the
// user whose rights apply it.
func (a bundlesAPI) handleApply(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	name := r.PathValue("name")
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		a.invalid(w, r, fmt.Sprintf("bundle name %q: %s", name, errs[0]))
		return
	}
	var in herdapi.BundleApply
	if !a.decodeLimit(w, r, &in, maxBundleBody) {
		return
	}
	if err := checkBundleSpec(name, &in); err != nil {
		a.invalid(w, r, err.Error())
		return
	}
	for _, c := range in.Spec.Targets.ClusterNames {
		if _, ok := a.authz.LiveCluster(r.Context(), id, c); !ok {
			a.invalid(w, r, "targets.clusterNames: cluster "+c+" does not exist or you may not reach it")
			return
		}
	}
	var b v1.Bundle
	err := a.api.Get(r.Context(), client.ObjectKey{Name: name}, &b)
	exists := err == nil
	switch {
	case err != nil && !apierrors.IsNotFound(err):
		a.internal(w, r, err)
		return
	case exists && !a.mine(id, &b) && !a.authz.Allowed(r.Context(), id, "update", "bundles"):
		if a.authz.Allowed(r.Context(), id, "get", "bundles") {
			a.forbidden(w, r, id, "update bundle "+name+" (it is "+b.Annotations[v1.BundleCreatorAnnotation]+"'s)")
		} else {
			a.fail(w, r, http.StatusConflict, metav1.StatusReasonAlreadyExists, "bundle "+name+" already exists: choose another name", nil)
		}
		return
	case exists && !b.DeletionTimestamp.IsZero():
		a.fail(w, r, http.StatusConflict, metav1.StatusReasonConflict, "bundle "+name+" is being deleted: try again when it is gone", nil)
		return
	}
	if in.GitCredentials != nil {
		if err := a.storeGitCredentials(r, name, in.GitCredentials); err != nil {
			a.internal(w, r, err)
			return
		}
		in.Spec.Git.SecretName = gitSecretName(name)
	}
	b.Name = name
	if b.Annotations == nil {
		b.Annotations = map[string]string{}
	}
	b.Annotations[v1.BundleCreatorAnnotation] = id.UserName
	b.Spec = in.Spec
	code := http.StatusOK
	if exists {
		err = a.client.Update(r.Context(), &b)
	} else {
		code = http.StatusCreated
		err = a.client.Create(r.Context(), &b)
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		a.fail(w, r, http.StatusConflict, metav1.StatusReasonConflict, "bundle "+name+" changed meanwhile: apply again", err)
		return
	}
	if apierrors.IsInvalid(err) {
		a.invalid(w, r, "the bundle is not valid: "+bundles.TrimMessage(err.Error()))
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if in.GitCredentials != nil {
		a.ownGitCredentials(r, &b)
	}
	a.awaitCache(r.Context(), &b, false)
	a.audit.Info("bundle applied", "bundle", name, "actor", id.UserName, "created", !exists, "source", sourceAddr(r))
	writeJSON(w, code, a.apiBundle(r.Context(), &b))
}

// storeGitCredentials keeps a Bundle's Git credentials in its own Secret.
func (a bundlesAPI) storeGitCredentials(r *http.Request, bundle string, c *herdapi.GitCredentials) error {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: wellknown.Namespace, Name: gitSecretName(bundle), Labels: map[string]string{v1.BundleLabel: bundle}},
		Type:       corev1.SecretTypeBasicAuth,
		Data: map[string][]byte{corev1.BasicAuthUsernameKey: []byte(c.Username), corev1.BasicAuthPasswordKey: []byte(c.Password),
			"caBundle": []byte(c.CABundle)},
	}
	err := a.client.Create(r.Context(), s)
	if apierrors.IsAlreadyExists(err) {
		var cur corev1.Secret
		if err := a.api.Get(r.Context(), client.ObjectKeyFromObject(s), &cur); err != nil {
			return err
		}
		cur.Data = s.Data
		return a.client.Update(r.Context(), &cur)
	}
	return err
}

// ownGitCredentials makes the credentials Secret go with its Bundle.
func (a bundlesAPI) ownGitCredentials(r *http.Request, b *v1.Bundle) {
	var s corev1.Secret
	if err := a.api.Get(r.Context(), client.ObjectKey{Namespace: wellknown.Namespace, Name: gitSecretName(b.Name)}, &s); err != nil {
		return
	}
	s.OwnerReferences = []metav1.OwnerReference{{APIVersion: v1.GroupVersion.String(), Kind: "Bundle", Name: b.Name, UID: b.UID}}
	if err := a.client.Update(r.Context(), &s); err != nil {
		a.log.Warn("failed to tie the Git credentials to their bundle", "bundle", b.Name, "err", err)
	}
}

// checkBundleSpec refuses what the controller could not roll out, with
// what to change.
func checkBundleSpec(name string, in *herdapi.BundleApply) error {
	s := &in.Spec
	if (s.Manifests == "") == (s.Git == nil) {
		return errors.New("set exactly one of spec.manifests (inline YAML) and spec.git (a repository)")
	}
	if s.Manifests != "" {
		if s.Helm != nil {
			return errors.New("spec.helm applies to a chart from spec.git; inline content is manifests only")
		}
		if _, err := bundles.Manifests(map[string][]byte{bundles.ManifestsFile: []byte(s.Manifests)}); err != nil {
			return fmt.Errorf("spec.manifests: %w", err)
		}
	}
	if g := s.Git; g != nil {
		switch {
		case !strings.HasPrefix(g.Repo, "http://") && !strings.HasPrefix(g.Repo, "https://"):
			return fmt.Errorf("spec.git.repo %q: give an http:// or https:// URL", g.Repo)
		case strings.Contains(strings.SplitN(strings.SplitN(g.Repo, "://", 2)[1], "/", 2)[0], "@"):
			return errors.New("spec.git.repo: no credentials in the URL (it is shown in statuses and logs); send them with the bundle (herdctl bundles apply --git-username, --git-password-stdin)")
		case slices.Contains(strings.Split(g.Path, "/"), ".."):
			return fmt.Errorf("spec.git.path %q: \"..\" is not allowed", g.Path)
		case g.SecretName != "" && g.SecretName != gitSecretName(name) && in.GitCredentials == nil:
			return fmt.Errorf("spec.git.secretName may name only the bundle's own credentials (%s): send the credentials with the bundle (herdctl bundles apply --git-username, --git-password-stdin)", gitSecretName(name))
		case g.PollInterval != nil && g.PollInterval.Duration < 5*time.Second:
			return fmt.Errorf("spec.git.pollInterval %s: at least 5s", g.PollInterval.Duration)
		}
	} else if in.GitCredentials != nil {
		return errors.New("gitCredentials need spec.git")
	}
	if s.DriftCorrection != "" && s.DriftCorrection != v1.DriftCorrect && s.DriftCorrection != v1.DriftReport {
		return fmt.Errorf("spec.driftCorrection %q: Correct or Report", s.DriftCorrection)
	}
	if s.Rollout.MaxChanging < 0 {
		return errors.New("spec.rollout.maxChanging: 0 (no limit) or more")
	}
	if s.Namespace != "" {
		if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
			return fmt.Errorf("spec.namespace %q: %s", s.Namespace, errs[0])
		}
	}
	if len(s.Targets.ClusterNames) == 0 && s.Targets.ClusterSelector == nil {
		return errors.New("spec.targets: name clusters (clusterNames) or select them (clusterSelector; {} selects every cluster)")
	}
	if _, err := bundles.Selects(nil, s.Targets.ClusterSelector, "", nil); err != nil {
		return fmt.Errorf("spec.targets.%w", err)
	}
	for i, o := range s.Targets.Overrides {
		if _, err := bundles.Selects(nil, o.ClusterSelector, "", nil); err != nil {
			return fmt.Errorf("spec.targets.overrides[%d].%w", i, err)
		}
		if o.Namespace != "" && len(validation.IsDNS1123Label(o.Namespace)) > 0 {
			return fmt.Errorf("spec.targets.overrides[%d].namespace %q is not a valid namespace name", i, o.Namespace)
		}
	}
	if _, err := bundles.PlacementFor(s, "", nil); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	return nil
}
