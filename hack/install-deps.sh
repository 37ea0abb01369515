#!/usr/bin/env bash
# install-deps.sh installs, from Debian's packages, what the tests and the
# local real nodes need beyond Go: skopeo (the tests of cmd/herd-image read
# Herd's image archive with it), containerd, runc and
# containernetworking-plugins (the kubelets of local real nodes), chromium
# (the web console's tests drive it headless), and simplesamlphp, php-cli,
# php-xml and php-mbstring (a real SAML identity provider for the SAML
# tests, served by PHP's own server; the Apache that simplesamlphp pulls in
# is not used or left running), and git (its http-backend serves the
# repositories of the bundle tests). With package names as arguments it
# installs only those (the image tests run
# `install-deps.sh skopeo` when skopeo is missing, as the LDAP tests run
# install-slapd.sh). It is idempotent: it installs only what is missing,
# says what it installs, and returns at once when nothing is. `make deps`
# runs it, and `make test` runs `make deps`.
set -euo pipefail

ALL=(skopeo containerd runc containernetworking-plugins iproute2 chromium simplesamlphp php-cli php-xml php-mbstring git)

fail() {
	echo "install-deps.sh: $*" >&2
	exit 1
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${ALL[@]}")

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

command -v dpkg-query >/dev/null 2>&1 || fail "dpkg-query not found: not a Debian-like system; install ${wanted[*]} by hand"
missing=()
for pkg in "${wanted[@]}"; do
	case " ${ALL[*]} " in
	*" $pkg "*) ;;
	*) fail "unknown package $pkg (this script installs: ${ALL[*]})" ;;
	esac
	installed "$pkg" || missing+=("$pkg")
done
[ ${#missing[@]} -gt 0 ] || exit 0

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: not a Debian-like system; install ${missing[*]} by hand"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || fail "not root and sudo not found; install ${missing[*]} by hand"
	SUDO="sudo -n DEBIAN_FRONTEND=noninteractive"
fi
export DEBIAN_FRONTEND=noninteractive

echo "install-deps.sh: installing ${missing[*]}"
# Wait for a dpkg lock that another install holds, rather than fail.
APT="$SUDO apt-get -o DPkg::Lock::Timeout=300"
log=$(mktemp /tmp/install-deps.XXXXXX)
trap 'rm -f "$log"' EXIT
install() {
	$APT install -y --no-install-recommends "${missing[@]}"
}
if ! install >"$log" 2>&1; then
	# The package lists may be missing or old: update once and try again.
	$APT update >>"$log" 2>&1 || true
	if ! install >>"$log" 2>&1; then
		tail -n 20 "$log" >&2
		fail "apt-get install ${missing[*]} failed (log above)"
	fi
fi

for pkg in "${missing[@]}"; do
	installed "$pkg" || fail "$pkg still not installed after apt-get install"
done
# simplesamlphp depends on apache2, whose package may start it: the tests
# serve SimpleSAMLphp with PHP's own server and want no system web server.
if [[ " ${missing[*]} " == *" simplesamlphp "* ]]; then
	if command -v systemctl >/dev/null 2>&1; then
		$SUDO systemctl disable --now apache2 >/dev/null 2>&1 || true
	fi
	if command -v apache2ctl >/dev/null 2>&1 && pgrep -x apache2 >/dev/null 2>&1; then
		$SUDO apache2ctl stop >/dev/null 2>&1 || true
	fi
fi
echo "install-deps.sh: installed ${missing[*]}"
