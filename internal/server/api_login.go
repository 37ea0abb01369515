package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/herdapi"
)

// handleLogin exchanges a username and password for a token. A wrong
// password, an unknown user and a disabled user get the same 401; too many
// failures per username or source address get 429 with Retry-After.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req herdapi.LoginRequest
	if !s.decode(w, r, &req) {
		return
	}
	userKey, addrKey := "user:"+req.Provider+":"+strings.ToLower(req.Username), "addr:"+sourceAddr(r)
	if wait := max(s.byUser.Blocked(userKey), s.byAddr.Blocked(addrKey)); wait > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		s.fail(w, r, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests,
			fmt.Sprintf("too many failed logins: try again in %d seconds", int(math.Ceil(wait.Seconds()))),
			fmt.Errorf("login of %q from %s is rate limited", req.Username, sourceAddr(r)))
		return
	}
	user, err := s.passwordLogin(r, &req)
	switch {
	case errors.Is(err, errNoProvider):
		s.invalid(w, r, "identity provider "+req.Provider+" is not enabled; see `herdctl auth show`")
		return
	case errors.Is(err, authn.ErrProviderUnavailable):
		s.fail(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"the identity provider does not answer; try again later (local users can still log in)", err)
		return
	}
	if errors.Is(err, authn.ErrBadCredentials) {
		s.byUser.Fail(userKey)
		s.byAddr.Fail(addrKey)
		s.fail(w, r, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "invalid username or password",
			fmt.Errorf("%w (from %s)", err, sourceAddr(r)))
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.byUser.Succeed(userKey)
	s.issueToken(w, r, user, authn.TokenRequest{Kind: req.Kind, TTL: time.Duration(req.TTLSeconds) * time.Second, Description: req.Description})
}

// passwordLogin checks a username and password with the requested provider.
func (s *Server) passwordLogin(r *http.Request, req *herdapi.LoginRequest) (*v1.User, error) {
	if req.Provider == "" || req.Provider == authn.ProviderLocal {
		return s.local.Login(r.Context(), req.Username, req.Password)
	}
	if req.Password == "" {
		return nil, fmt.Errorf("%w: empty password", authn.ErrBadCredentials)
	}
	p, err := s.passwordProvider(r.Context(), req.Provider)
	if err != nil {
		return nil, err
	}
	ident, err := p.Authenticate(r.Context(), req.Username, req.Password)
	if err != nil {
		return nil, err
	}
	return s.externalUser(r.Context(), ident)
}

// issueToken creates a token for user and answers 201 with it.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, user *v1.User, req authn.TokenRequest) {
	if req.TTL < 0 || req.TTL > 10*365*24*time.Hour {
		s.invalid(w, r, "ttlSeconds must be between 0 (the default) and ten years")
		return
	}
	token, tok, err := authn.Issue(r.Context(), s.client, s.cfg.TokenTTLs, s.now(), user, req)
	if errors.Is(err, authn.ErrInvalidRequest) {
		s.invalid(w, r, strings.TrimPrefix(err.Error(), "authn: "))
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.awaitCache(r.Context(), tok, false)
	s.cfg.Logger.Info("token issued", "user", user.Name, "token", tok.Name, "kind", tok.Spec.Kind, "expiresAt", tok.Spec.ExpiresAt.Time)
	writeJSON(w, http.StatusCreated, herdapi.TokenResponse{Token: token, Info: tokenInfo(tok, user.Spec.Username, "", s.now())})
}

// handleLogout deletes the token the request came with.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	tok := &v1.Token{ObjectMeta: metav1.ObjectMeta{Name: id.TokenName}}
	if err := s.client.Delete(r.Context(), tok); client.IgnoreNotFound(err) != nil {
		s.internal(w, r, err)
		return
	}
	s.awaitCache(r.Context(), tok, true)
	s.cfg.Logger.Info("logged out", "user", id.UserName, "token", id.TokenName)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, id *authn.Identity) {
	var user v1.User
	if err := s.cache.Get(r.Context(), client.ObjectKey{Name: id.UserName}, &user); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.apiUser(r.Context(), &user))
}

func tokenInfo(t *v1.Token, username, current string, now time.Time) herdapi.TokenInfo {
	info := herdapi.TokenInfo{
		Name:        t.Name,
		UserName:    t.Spec.UserName,
		Username:    username,
		Kind:        t.Spec.Kind,
		ClusterName: t.Spec.ClusterName,
		Description: t.Spec.Description,
		Enabled:     t.Spec.Enabled,
		Expired:     !now.Before(t.Spec.ExpiresAt.Time),
		ExpiresAt:   t.Spec.ExpiresAt.Time,
		CreatedAt:   t.CreationTimestamp.Time,
		Current:     t.Name == current && current != "",
	}
	if t.Status.LastUsedAt != nil {
		at := t.Status.LastUsedAt.Time
		info.LastUsedAt = &at
	}
	return info
}
