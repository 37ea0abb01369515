package herdtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Login plays the browser: it follows authURL (from a provider's
// AuthCodeURL) to the provider's login page, posts the username and
// password into its form, and follows the redirects until one goes to
// redirectURL, whose query (code and state, or error) it returns. The
// redirect URL itself is never fetched.
func (p *OIDCProvider) Login(t testing.TB, authURL, redirectURL, username, password string) url.Values {
	t.Helper()
	q, err := p.login(authURL, redirectURL, username, password)
	if err != nil {
		t.Fatalf("OIDC browser login of %s: %v", username, err)
	}
	return q
}

func (p *OIDCProvider) login(authURL, redirectURL, username, password string) (url.Values, error) {
	jar, _ := cookiejar.New(nil)
	var callback *url.URL
	browser := &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirectURL) {
				callback = req.URL
				return http.ErrUseLastResponse
			}
			if len(via) > 10 {
				return fmt.Errorf("more than 10 redirects")
			}
			return nil
		},
	}
	defer browser.CloseIdleConnections()
	resp, err := browser.Get(authURL)
	if err != nil {
		return nil, err
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if callback != nil { // the provider answered at once (an error)
		return callback.Query(), nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("login page: %s: %s", resp.Status, page)
	}
	action, fields, err := parseForm(string(page))
	if err != nil {
		return nil, err
	}
	fields.Set("username", username)
	fields.Set("password", password)
	resp, err = browser.PostForm(resp.Request.URL.ResolveReference(action).String(), fields)
	if err != nil {
		return nil, err
	}
	page, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if callback == nil {
		return nil, fmt.Errorf("login not accepted: %s: %s", resp.Status, page)
	}
	return callback.Query(), nil
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formInput  = regexp.MustCompile(`<input[^>]*>`)
	inputName  = regexp.MustCompile(`\sname="([^"]*)"`)
	inputValue = regexp.MustCompile(`\svalue="([^"]*)"`)
)

// parseForm reads the login page's form: its action and its inputs with
// their values (the hidden auth request id among them).
func parseForm(page string) (*url.URL, url.Values, error) {
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		return nil, nil, fmt.Errorf("no form on the login page:\n%s", page)
	}
	action, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return nil, nil, err
	}
	fields := url.Values{}
	for _, in := range formInput.FindAllString(page, -1) {
		name := inputName.FindStringSubmatch(in)
		if name == nil {
			continue
		}
		var value string
		if v := inputValue.FindStringSubmatch(in); v != nil {
			value = v[1]
		}
		fields.Set(html.UnescapeString(name[1]), html.UnescapeString(value))
	}
	return action, fields, nil
}

// SetGroups changes a user's groups at the provider, as an administrator
// would; tokens issued from now on (refreshes too) carry them.
func (p *OIDCProvider) SetGroups(t testing.TB, username string, groups ...string) {
	t.Helper()
	body, _ := json.Marshal(append([]string{}, groups...))
	p.control(t, http.MethodPut, "/herdtest/users/"+url.PathEscape(username)+"/groups", body)
}

// DeleteUser deletes a user at the provider; its refresh tokens are
// refused with invalid_grant from then on.
func (p *OIDCProvider) DeleteUser(t testing.TB, username string) {
	t.Helper()
	p.control(t, http.MethodDelete, "/herdtest/users/"+url.PathEscape(username), nil)
}

func (p *OIDCProvider) control(t testing.TB, method, path string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, p.Issuer+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
}
