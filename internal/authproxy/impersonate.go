package authproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	authzv1 "k8s.io/api/authorization/v1"
)

// requestedImpersonation returns whom the client asks to act as with
// `kubectl --as`/`--as-group` (Impersonate-User and Impersonate-Group, any
// letter case), or nil.
func requestedImpersonation(h http.Header) *Identity {
	var id Identity
	for k, vs := range h {
		switch strings.ToLower(k) {
		case "impersonate-user":
			id.User = vs[0]
		case "impersonate-group":
			id.Groups = append(id.Groups, vs...)
		}
	}
	if id.User == "" {
		return nil
	}
	return &id
}

// mayImpersonate asks the downstream cluster, with SubjectAccessReviews,
// whether caller may impersonate the user and every group of requested.
func mayImpersonate(ctx context.Context, target *Target, caller Identity, requested *Identity) (bool, error) {
	checks := []authzv1.ResourceAttributes{{Verb: "impersonate", Resource: "users", Name: requested.User}}
	for _, g := range requested.Groups {
		checks = append(checks, authzv1.ResourceAttributes{Verb: "impersonate", Resource: "groups", Name: g})
	}
	for _, attrs := range checks {
		ok, err := subjectAccessReview(ctx, target, caller, attrs)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func subjectAccessReview(ctx context.Context, target *Target, caller Identity, attrs authzv1.ResourceAttributes) (bool, error) {
	sar := authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: caller.User, Groups: append(filterGroups(caller.Groups), "system:authenticated"), ResourceAttributes: &attrs,
	}}
	sar.APIVersion, sar.Kind = "authorization.k8s.io/v1", "SubjectAccessReview"
	body, _ := json.Marshal(sar)
	u := *target.URL
	u.Path = strings.TrimSuffix(u.Path, "/") + "/apis/authorization.k8s.io/v1/subjectaccessreviews"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if cred := target.reviewCredential(); cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	resp, err := target.Transport.RoundTrip(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("subjectaccessreview answered %d", resp.StatusCode)
	}
	if err := json.Unmarshal(data, &sar); err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}

// filterGroups drops system: groups, as SetHeaders does.
func filterGroups(groups []string) []string {
	var out []string
	for _, g := range groups {
		if !strings.HasPrefix(g, "system:") {
			out = append(out, g)
		}
	}
	return out
}

func (t *Target) reviewCredential() string {
	if t.ReviewCredential != "" {
		return t.ReviewCredential
	}
	return t.Credential
}
