// Package ldap is Herd's LDAP and Active Directory identity provider. It
// checks a username and password against a directory (authn.PasswordProvider),
// finds users and groups by name so roles can be bound to them before they
// log in (authn.Searcher), and reads a user's groups again for the
// background refresh (authn.Refresher).
//
// A login binds as the service account, searches the user by its login
// attribute (every value in a filter escaped), requires exactly one match,
// refuses disabled Active Directory accounts and empty passwords (an empty
// password is an unauthenticated bind, which some directories accept), binds
// as the user, and reads the user's groups: from memberOf on the user, or by
// searching the groups whose member attribute names the user, with nested
// groups followed to a depth limit and loops cut.
//
// Principal ids: openldap_user://<DN>, activedirectory_user://<objectGUID>
// (a canonical GUID string; the DN when the entry has no objectGUID), and
// openldap_group://<DN>, activedirectory_group://<DN>.
//
// Tests run against a real slapd (internal/herdtest.StartSlapd). Active
// Directory is emulated there: slapd with AD's attributes (sAMAccountName,
// userPrincipalName, objectGUID, userAccountControl, memberOf from the
// memberof overlay) and AD's "group" class. A Samba AD DC was not tried,
// and AD-only features (LDAP_MATCHING_RULE_IN_CHAIN, the global catalog,
// referrals chasing, paged results past the server's size limit) are not
// used.
package ldap
