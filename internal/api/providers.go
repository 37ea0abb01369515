package api

import (
	"maps"
	"net/http"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/identity"
)

func (a loginAPI) apiProvider(ac *v1.AuthConfig, secretKeys []string, admin bool) herdapi.Provider {
	out := herdapi.Provider{Type: ac.Name, Enabled: ac.Spec.Enabled, Flow: "password"}
	if authn.IsBrowserProvider(ac.Name) {
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

// handleUpdateProvider configures a provider (identity.ConfigureProvider).
func (a loginAPI) handleUpdateProvider(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var req herdapi.ProviderUpdate
	if !a.decode(w, r, &req) {
		return
	}
	typ := r.PathValue("type")
	ac, secretKeys, err := a.dir.ConfigureProvider(r.Context(), typ,
		identity.ProviderUpdate{Enabled: req.Enabled, Settings: req.Settings, Secrets: req.Secrets}, a.cfg.ServerURL)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.audit.Info("identity provider configured", "actor", id.UserName, "provider", typ, "enabled", ac.Spec.Enabled, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, a.apiProvider(ac, secretKeys, true))
}
