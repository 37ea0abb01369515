package api

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

// Bounds of a principal search.
const (
	maxPrincipalQuery   = 256
	principalsPerSource = 20
)

// handleSearchPrincipals finds users and groups in every enabled provider
// (local users by username), so roles can be bound to them before they
// log in. A provider that fails is left out and logged.
func (a loginAPI) handleSearchPrincipals(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || len(q) > maxPrincipalQuery {
		a.invalid(w, r, "give a search text of 1 to 256 bytes: ?q=TEXT")
		return
	}
	out := herdapi.PrincipalList{Items: []herdapi.Principal{}}
	var users v1.UserList
	if err := a.cache.List(r.Context(), &users); err != nil {
		a.internal(w, r, err)
		return
	}
	for _, u := range users.Items {
		if u.Spec.PasswordSecretRef != "" && strings.HasPrefix(u.Spec.Username, q) && len(out.Items) < principalsPerSource {
			out.Items = append(out.Items, herdapi.Principal{ID: authn.LocalPrincipal(u.Name), Kind: "user", Provider: authn.ProviderLocal,
				Name: u.Spec.Username, DisplayName: u.Spec.DisplayName})
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(a.cfg.Providers)) {
		p, err := a.dir.Provider(r.Context(), typ)
		if err != nil {
			continue // not enabled
		}
		searcher, ok := p.(authn.Searcher)
		if !ok {
			continue
		}
		found, err := searcher.Search(r.Context(), q, principalsPerSource)
		if err != nil {
			a.log.Warn("principal search failed", "provider", typ, "by", id.UserName, "err", err)
			continue
		}
		for _, p := range found {
			out.Items = append(out.Items, herdapi.Principal(p))
		}
	}
	writeJSON(w, http.StatusOK, out)
}
