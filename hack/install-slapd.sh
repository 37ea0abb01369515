#!/usr/bin/env bash
# install-slapd.sh installs OpenLDAP's server (slapd) and client tools
# (ldap-utils) from Debian's packages, for the tests of internal/authn/ldap.
# It is idempotent and returns at once when both are installed already. The
# package's own configuration step (a system-wide directory and service) is
# not used: the tests run slapd themselves with a configuration in a
# temporary folder.
set -euo pipefail

have() {
	command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ]
}

if have && command -v ldapadd >/dev/null 2>&1; then
	exit 0
fi

fail() {
	echo "install-slapd.sh: $*" >&2
	echo "install-slapd.sh: the LDAP tests need slapd and ldap-utils;" \
		"install them with: apt-get install slapd ldap-utils" >&2
	exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: not a Debian-like system"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || fail "not root and sudo not found"
	SUDO="sudo -n"
fi

export DEBIAN_FRONTEND=noninteractive
[ -n "$SUDO" ] && SUDO="$SUDO DEBIAN_FRONTEND=noninteractive"
# No debconf questions, and no configured directory: slapd's postinst is
# told to leave configuration alone.
echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections 2>/dev/null || true

# Wait for a dpkg lock that another install holds, rather than fail.
APT="$SUDO apt-get -o DPkg::Lock::Timeout=300"
install() {
	$APT install -y --no-install-recommends slapd ldap-utils
}
if ! install >/tmp/install-slapd.$$.log 2>&1; then
	# The package lists may be missing or old: update once and try again.
	$APT update >>/tmp/install-slapd.$$.log 2>&1 || true
	if ! install >>/tmp/install-slapd.$$.log 2>&1; then
		tail -n 20 /tmp/install-slapd.$$.log >&2
		rm -f /tmp/install-slapd.$$.log
		fail "apt-get install slapd ldap-utils failed (log above)"
	fi
fi
rm -f /tmp/install-slapd.$$.log

# The package starts a system slapd when it has a configuration; the tests
# do not want it (it would hold port 389 and show up in pgrep).
if command -v systemctl >/dev/null 2>&1; then
	$SUDO systemctl disable --now slapd >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/slapd ] && pgrep -x slapd >/dev/null 2>&1; then
	$SUDO /etc/init.d/slapd stop >/dev/null 2>&1 || true
fi

{ have && command -v ldapmodify >/dev/null 2>&1; } || fail "slapd or ldapmodify still not found after installing the packages"
echo "install-slapd.sh: slapd and ldap-utils installed"
