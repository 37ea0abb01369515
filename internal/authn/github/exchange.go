package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"herd.dev/herd/internal/authn"
)

// tokenAnswer is the token endpoint's JSON answer; GitHub says errors with
// HTTP 200 and an error field.
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// Exchange redeems a code for an access token and reads the user, their
// orgs and their teams. A code GitHub refuses (wrong, expired, used,
// another redirect URL or PKCE verifier) is authn.ErrFlow.
func (p *Provider) Exchange(ctx context.Context, code, verifier, redirectURL string) (*authn.ExternalIdentity, error) {
	if code == "" {
		return nil, fmt.Errorf("%w: github: missing code", authn.ErrFlow)
	}
	token, err := p.redeem(ctx, code, verifier, redirectURL)
	if err != nil {
		return nil, err
	}
	u, err := p.user(ctx, token)
	if err != nil {
		return nil, err
	}
	groups, err := p.groups(ctx, token)
	if err != nil {
		return nil, err
	}
	id := &authn.ExternalIdentity{
		Provider:      authn.ProviderGitHub,
		UserPrincipal: userPrincipal(u.ID),
		Username:      u.Login,
		DisplayName:   u.Name,
		Groups:        groups,
		RefreshState:  token,
	}
	p.log.Info("GitHub login", "user", id.UserPrincipal, "login", u.Login, "groups", len(groups))
	return id, nil
}

// redeem posts the code to the token endpoint.
func (p *Provider) redeem(ctx context.Context, code, verifier, redirectURL string) (string, error) {
	form := url.Values{
		"client_id":     {p.cfg.ClientID},
		"client_secret": {p.cfg.ClientSecret},
		"code":          {code},
		"redirect_uri":  {redirectURL},
	}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	const path = "/login/oauth/access_token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.BaseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("github: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := p.client.Do(req)
	if err != nil {
		return "", unavailable("POST "+path, err)
	}
	defer resp.Body.Close()
	body, err := readBody("POST "+path, resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", p.statusError(http.MethodPost, path, resp, body)
	}
	var ans tokenAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return "", fmt.Errorf("github: POST %s: bad JSON", path)
	}
	secrets := []string{code, verifier, p.cfg.ClientSecret, ans.AccessToken}
	switch {
	case ans.Error == "incorrect_client_credentials":
		return "", fmt.Errorf("github: the OAuth app's clientID or clientSecret is wrong (%s)", ans.Error)
	case ans.Error != "":
		return "", fmt.Errorf("%w: github: code refused: %s: %s", authn.ErrFlow,
			redact(truncate(ans.Error), secrets...), redact(truncate(ans.ErrorDescription), secrets...))
	case ans.AccessToken == "":
		return "", fmt.Errorf("%w: github: token answer without an access_token", authn.ErrFlow)
	}
	if !hasScope(ans.Scope, scope) {
		p.log.Warn("GitHub granted no read:org: private org and team memberships will be missing", "scope", ans.Scope)
	}
	return ans.AccessToken, nil
}

func hasScope(granted, want string) bool {
	for _, s := range strings.FieldsFunc(granted, func(r rune) bool { return r == ',' || r == ' ' }) {
		if s == want || (want == "read:org" && (s == "write:org" || s == "admin:org")) {
			return true
		}
	}
	return false
}
