package api

import (
	"errors"
	"maps"
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/identity"
	"herd.dev/herd/internal/wellknown"
)

// maxProviderSettings bounds an AuthConfig's settings.
const maxProviderSettings = 64

func (a loginAPI) apiProvider(ac *v1.AuthConfig, secretKeys []string, admin bool) herdapi.Provider {
	out := herdapi.Provider{Type: ac.Name, Enabled: ac.Spec.Enabled, Flow: "password"}
	if ac.Name == authn.ProviderGitHub || ac.Name == authn.ProviderOIDC {
		out.Flow = "redirect"
	}
	if admin {
		out.Settings, out.SecretKeys = ac.Spec.Settings, secretKeys
	}
	return out
}

// handleListProviders lists the providers users can log in with (every
// configured one, with settings, for admins).
func (a loginAPI) handleListProviders(w http.ResponseWriter, r *http.Request) {
	var list v1.AuthConfigList
	if err := a.cache.List(r.Context(), &list); err != nil {
		a.internal(w, r, err)
		return
	}
	out := herdapi.ProviderList{Items: []herdapi.Provider{{Type: authn.ProviderLocal, Enabled: true, Flow: "password"}}}
	for i := range list.Items {
		if list.Items[i].Spec.Enabled && list.Items[i].Name != authn.ProviderLocal {
			out.Items = append(out.Items, a.apiProvider(&list.Items[i], nil, false))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a loginAPI) handleGetProvider(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	typ := r.PathValue("type")
	var ac v1.AuthConfig
	if err := a.cache.Get(r.Context(), client.ObjectKey{Name: typ}, &ac); err != nil {
		a.notFound(w, r, "identity provider "+typ)
		return
	}
	secrets, _, err := a.dir.ProviderSecrets(r.Context(), typ)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.apiProvider(&ac, slices.Sorted(maps.Keys(secrets)), true))
}

// handleUpdateProvider configures a provider. Enabling one builds it
// first (for LDAP: binds the service account), so a bad setting is a 422
// now rather than failed logins later.
func (a loginAPI) handleUpdateProvider(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.ProviderUpdate
	if !a.decode(w, r, &req) {
		return
	}
	typ := r.PathValue("type")
	factory, ok := a.cfg.Providers[typ]
	if !ok {
		a.invalid(w, r, "unknown identity provider "+typ+"; Herd has "+joinSorted(maps.Keys(a.cfg.Providers)))
		return
	}
	if len(req.Settings) > maxProviderSettings || len(req.Secrets) > maxProviderSettings {
		a.invalid(w, r, "too many settings")
		return
	}
	var ac v1.AuthConfig
	err := a.api.Get(r.Context(), client.ObjectKey{Name: typ}, &ac)
	if err != nil && !apierrors.IsNotFound(err) {
		a.internal(w, r, err)
		return
	}
	exists := err == nil
	ac.Name, ac.Spec.Type, ac.Spec.SecretRef = typ, typ, identity.ProviderSecretName(typ)
	if req.Settings != nil {
		ac.Spec.Settings = req.Settings
	}
	if req.Enabled != nil {
		ac.Spec.Enabled = *req.Enabled
	}
	secrets, _, err := a.dir.ProviderSecrets(r.Context(), typ)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	for k, v := range req.Secrets {
		if v == "" {
			delete(secrets, k)
		} else {
			secrets[k] = v
		}
	}
	if err := identity.CheckAccessSettings(ac.Spec.Settings); err != nil {
		a.invalid(w, r, "identity provider "+typ+": "+err.Error())
		return
	}
	if ac.Spec.Enabled {
		p, err := factory(r.Context(), identity.ProviderSettings(ac.Spec.Settings), secrets, a.log.With("provider", typ))
		if err != nil {
			a.fail(w, r, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, "identity provider "+typ+": "+err.Error(), err)
			return
		}
		if _, browser := p.(authn.RedirectProvider); browser && a.cfg.ServerURL == "" {
			a.invalid(w, r, "identity provider "+typ+" logs users in through the browser, which needs the server's public URL: "+
				"start herd server with --server-url https://HOST[:PORT] (the provider sends browsers back to HOST/v1/auth/callback/"+typ+")")
			return
		}
	}
	if err := a.writeProviderSecret(r, typ, secrets); err != nil {
		a.internal(w, r, err)
		return
	}
	if exists {
		err = a.client.Update(r.Context(), &ac)
	} else {
		err = a.client.Create(r.Context(), &ac)
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.awaitCache(r.Context(), &ac, false)
	a.audit.Info("identity provider configured", "actor", id.UserName, "provider", typ, "enabled", ac.Spec.Enabled, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, a.apiProvider(&ac, slices.Sorted(maps.Keys(secrets)), true))
}

func (a loginAPI) writeProviderSecret(r *http.Request, typ string, values map[string]string) error {
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: identity.ProviderSecretName(typ), Namespace: wellknown.Namespace},
		Data:       map[string][]byte{},
	}
	for k, v := range values {
		secret.Data[k] = []byte(v)
	}
	//nolint:staticcheck // server-side apply of a typed object
	err := a.client.Patch(r.Context(), secret, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership)
	if err != nil {
		return errors.Join(errors.New("failed to store the provider's secrets"), err)
	}
	return nil
}

func joinSorted(keys func(func(string) bool)) string {
	list := slices.Sorted(keys)
	out := ""
	for i, k := range list {
		if i > 0 {
			out += ", "
		}
		out += k
	}
	return out
}
