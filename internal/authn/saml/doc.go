// Package saml is Herd's SAML 2.0 service provider: users log in at a SAML
// identity provider (ADFS, Okta, Keycloak, Shibboleth, SimpleSAMLphp, ...)
// through their browser, with the HTTP-Redirect binding for Herd's
// AuthnRequest and the HTTP-POST binding for the IdP's Response.
//
// Responses are checked by github.com/crewjam/saml (XML signatures with
// goxmldsig): the Response or its Assertion must be signed by a key of the
// IdP's metadata; the audience must be Herd's entity id, the recipient
// and destination Herd's callback; NotBefore and NotOnOrAfter hold within
// a bounded clock skew; InResponseTo must name the request of this login,
// whose id is derived from the login's single-use verifier, so a response
// is accepted once and only by the login it answers. Before any of that,
// the XML is bounded in size and depth and may carry no DTD.
//
// Principals are saml_user://<IdP entity id>/<user id> and
// saml_group://<IdP entity id>/<group>. SAML has no refresh: the groups
// of a login are trusted for GroupsMaxAge, after which the user's tokens
// are revoked at the next group refresh and they log in again.
package saml
