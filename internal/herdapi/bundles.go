package herdapi

import (
	"time"

	v1 "herd.dev/herd/api/v1"
)

// Bundle is a Bundle as the API shows it.
type Bundle struct {
	Name string `json:"name"`
	// Creator is the user whose rights apply the bundle: who last set its spec.
	Creator string `json:"creator"`
	// CreatorUsername is the creator's login name, when known.
	CreatorUsername string          `json:"creatorUsername,omitempty"`
	CreatedAt       time.Time       `json:"createdAt"`
	Spec            v1.BundleSpec   `json:"spec"`
	Status          v1.BundleStatus `json:"status"`
}

// BundleList is GET /v1/bundles.
type BundleList struct {
	Items []Bundle `json:"items"`
}

// BundleApply is the body of PUT /v1/bundles/NAME: the Bundle's spec,
// and the Git credentials to keep with it.
type BundleApply struct {
	Spec v1.BundleSpec `json:"spec"`
	// GitCredentials, when set, are stored in a Secret of the Bundle's
	// own; spec.git.secretName may name only that Secret.
	GitCredentials *GitCredentials `json:"gitCredentials,omitempty"`
}

// GitCredentials authenticate to a Git server over HTTP(S).
type GitCredentials struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	CABundle string `json:"caBundle,omitempty"`
}
