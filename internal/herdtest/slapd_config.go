package herdtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// slapdADSchema gives slapd the Active Directory attributes Herd reads,
// with their AD OIDs, on an auxiliary class added to inetOrgPerson users,
// and AD's structural "group" class. memberOf itself comes from the
// memberof overlay, which defines it (with AD's OID) and keeps it up to
// date; defining it here as well would clash with the overlay.
const slapdADSchema = `
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID'
	EQUALITY octetStringMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
	EQUALITY integerMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.1.1 NAME 'herdADAccount'
	DESC 'Active Directory account attributes, emulated for tests'
	SUP top AUXILIARY
	MAY ( sAMAccountName $ userPrincipalName $ objectGUID $ userAccountControl ) )
objectclass ( 1.2.840.113556.1.5.8 NAME 'group'
	DESC 'Active Directory group, emulated for tests'
	SUP top STRUCTURAL MUST cn
	MAY ( member $ sAMAccountName $ objectGUID $ description ) )
`

// slapdDatabase is the part of slapd.conf for one directory tree.
func slapdDatabase(d SlapdDirectory, rootPW, dbDir, groupClass string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\ndatabase mdb\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s\n", d.Suffix, d.RootDN, rootPW, dbDir)
	b.WriteString("maxsize 16777216\nindex objectClass eq\n")
	fmt.Fprintf(&b, "overlay memberof\nmemberof-group-oc %s\nmemberof-member-ad member\nmemberof-memberof-ad memberOf\nmemberof-refint TRUE\n", groupClass)
	// Users may check their own password and read the directory; the
	// service account reads everything but passwords.
	b.WriteString("access to attrs=userPassword by self write by anonymous auth by * none\n")
	b.WriteString("access to * by users read by * none\n")
	return b.String()
}

// writeConfig writes slapd.conf and the AD schema into dir.
func (s *Slapd) writeConfig(t slapdTools, rootPW string) (string, error) {
	schemaPath := filepath.Join(s.Dir, "herd-ad.schema")
	if err := os.WriteFile(schemaPath, []byte(slapdADSchema), 0o644); err != nil {
		return "", err
	}
	if t.modules != "" && !t.hasModule("memberof") {
		return "", fmt.Errorf("slapd's memberof overlay (memberof.la) is not in %s: the LDAP tests need memberOf", t.modules)
	}
	var b strings.Builder
	for _, f := range []string{"core", "cosine", "inetorgperson"} {
		fmt.Fprintf(&b, "include %s\n", filepath.Join(t.schema, f+".schema"))
	}
	fmt.Fprintf(&b, "include %s\n", schemaPath)
	fmt.Fprintf(&b, "pidfile %s\nargsfile %s\n", filepath.Join(s.Dir, "slapd.pid"), filepath.Join(s.Dir, "slapd.args"))
	if t.modules != "" {
		fmt.Fprintf(&b, "modulepath %s\nmoduleload back_mdb\nmoduleload memberof\n", t.modules)
	}
	fmt.Fprintf(&b, "TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n",
		filepath.Join(s.Dir, "ca.crt"), filepath.Join(s.Dir, "server.crt"), filepath.Join(s.Dir, "server.key"))
	// A DN with an empty password is an unauthenticated bind (RFC 4513
	// 5.1.2). Some directories accept it as anonymous; so does this one,
	// so that a client that lets an empty password through is caught.
	b.WriteString("allow bind_anon_dn\nsizelimit 500\n")
	for _, d := range []SlapdDirectory{s.OpenLDAP, s.AD} {
		dbDir := filepath.Join(s.Dir, "db-"+d.Flavor)
		if err := os.MkdirAll(dbDir, 0o700); err != nil {
			return "", err
		}
		b.WriteString(slapdDatabase(d, rootPW, dbDir, slapdGroupClass[d.Flavor]))
	}
	path := filepath.Join(s.Dir, "slapd.conf")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}
