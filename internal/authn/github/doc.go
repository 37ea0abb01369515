// Package github logs users in with GitHub's OAuth web flow, on github.com
// or GitHub Enterprise Server: the browser goes to /login/oauth/authorize
// (scope read:org, a state, and a PKCE challenge), the code comes back and
// is redeemed at /login/oauth/access_token, and the REST API says who the
// user is (/user) and in which organizations (/user/orgs) and teams
// (/user/teams) they are. The access token is the identity's RefreshState:
// GitHub OAuth app tokens do not expire, and Refresh reads the orgs and
// teams again with it until the user revokes it or is removed.
//
// Principals are github_user://<id>, github_org://<id> and
// github_team://<id>, with GitHub's numeric ids, which survive renames.
// No code, token or client secret ever appears in an error or a log line.
package github
