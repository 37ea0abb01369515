package server

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

func (s *Server) apiProvider(ac *v1.AuthConfig, secretKeys []string, admin bool) herdapi.Provider {
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
func (s *Server) handleListProviders(w http.ResponseWriter, r *http.Request) {
	var list v1.AuthConfigList
	if err := s.cache.List(r.Context(), &list); err != nil {
		s.internal(w, r, err)
		return
	}
	out := herdapi.ProviderList{Items: []herdapi.Provider{{Type: authn.ProviderLocal, Enabled: true, Flow: "password"}}}
	for i := range list.Items {
		if list.Items[i].Spec.Enabled && list.Items[i].Name != authn.ProviderLocal {
			out.Items = append(out.Items, s.apiProvider(&list.Items[i], nil, false))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetProvider(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if !s.authz.Allowed(r.Context(), id, "get", "authconfigs") {
		s.forbidden(w, r, id, "see identity provider settings")
		return
	}
	typ := r.PathValue("type")
	var ac v1.AuthConfig
	if err := s.cache.Get(r.Context(), client.ObjectKey{Name: typ}, &ac); err != nil {
		s.notFound(w, r, "identity provider "+typ)
		return
	}
	secrets, _, err := s.dir.ProviderSecrets(r.Context(), typ)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.apiProvider(&ac, slices.Sorted(maps.Keys(secrets)), true))
}

// handleUpdateProvider configures a provider. Enabling one builds it
// first (for LDAP: binds the service account), so a bad setting is a 422
// now rather than failed logins later.
func (s *Server) handleUpdateProvider(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	if !s.authz.Allowed(r.Context(), id, "update", "authconfigs") {
		s.forbidden(w, r, id, "configure identity providers")
		return
	}
	var req herdapi.ProviderUpdate
	if !s.decode(w, r, &req) {
		return
	}
	typ := r.PathValue("type")
	factory, ok := s.cfg.Providers[typ]
	if !ok {
		s.invalid(w, r, "unknown identity provider "+typ+"; Herd has "+joinSorted(maps.Keys(s.cfg.Providers)))
		return
	}
	if len(req.Settings) > maxProviderSettings || len(req.Secrets) > maxProviderSettings {
		s.invalid(w, r, "too many settings")
		return
	}
	var ac v1.AuthConfig
	err := s.api.Get(r.Context(), client.ObjectKey{Name: typ}, &ac)
	if err != nil && !apierrors.IsNotFound(err) {
		s.internal(w, r, err)
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
	secrets, _, err := s.dir.ProviderSecrets(r.Context(), typ)
	if err != nil {
		s.internal(w, r, err)
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
		s.invalid(w, r, "identity provider "+typ+": "+err.Error())
		return
	}
	if ac.Spec.Enabled {
		p, err := factory(r.Context(), identity.ProviderSettings(ac.Spec.Settings), secrets, s.cfg.Logger.With("provider", typ))
		if err != nil {
			s.fail(w, r, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid, "identity provider "+typ+": "+err.Error(), err)
			return
		}
		if _, browser := p.(authn.RedirectProvider); browser && s.cfg.ServerURL == "" {
			s.invalid(w, r, "identity provider "+typ+" logs users in through the browser, which needs the server's public URL: "+
				"start herd server with --server-url https://HOST[:PORT] (the provider sends browsers back to HOST/v1/auth/callback/"+typ+")")
			return
		}
	}
	if err := s.writeProviderSecret(r, typ, secrets); err != nil {
		s.internal(w, r, err)
		return
	}
	if exists {
		err = s.client.Update(r.Context(), &ac)
	} else {
		err = s.client.Create(r.Context(), &ac)
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.awaitCache(r.Context(), &ac, false)
	s.audit.Info("identity provider configured", "actor", id.UserName, "provider", typ, "enabled", ac.Spec.Enabled, "source", sourceAddr(r))
	writeJSON(w, http.StatusOK, s.apiProvider(&ac, slices.Sorted(maps.Keys(secrets)), true))
}

func (s *Server) writeProviderSecret(r *http.Request, typ string, values map[string]string) error {
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: identity.ProviderSecretName(typ), Namespace: wellknown.Namespace},
		Data:       map[string][]byte{},
	}
	for k, v := range values {
		secret.Data[k] = []byte(v)
	}
	//nolint:staticcheck // server-side apply of a typed object
	err := s.client.Patch(r.Context(), secret, client.Apply, client.FieldOwner(wellknown.FieldOwner), client.ForceOwnership)
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
