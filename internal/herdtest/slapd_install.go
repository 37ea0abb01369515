package herdtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"herd.dev/herd/internal/certs"
)

// slapdTools are the paths of the OpenLDAP programs the harness runs.
type slapdTools struct {
	slapd, ldapmodify string
	modules, schema   string
}

// findSlapd finds slapd and ldap-utils, running the install script first
// when they are missing (script "" means hack/install-slapd.sh of this
// module, found from the working directory up).
func findSlapd(ctx context.Context, script string) (slapdTools, error) {
	tools, err := lookSlapd()
	if err == nil {
		return tools, nil
	}
	if script == "" {
		root, rerr := slapdModuleRoot()
		if rerr != nil {
			return tools, fmt.Errorf("%v, and no install script: %w", err, rerr)
		}
		script = filepath.Join(root, "hack", "install-slapd.sh")
	}
	out, ierr := exec.CommandContext(ctx, "bash", script).CombinedOutput()
	if ierr != nil {
		return tools, fmt.Errorf("%v; %s failed: %w\n%s", err, script, ierr, out)
	}
	return lookSlapd()
}

func lookSlapd() (slapdTools, error) {
	var t slapdTools
	var missing []string
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
			if p := filepath.Join(dir, name); slapdIsExecutable(p) {
				return p
			}
		}
		missing = append(missing, name)
		return ""
	}
	t.slapd, t.ldapmodify = find("slapd"), find("ldapmodify")
	if len(missing) > 0 {
		return t, fmt.Errorf("%s not found (Debian packages slapd and ldap-utils)", strings.Join(missing, ", "))
	}
	t.modules = slapdFirstDir("back_mdb.la", "/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap", "/usr/local/libexec/openldap")
	t.schema = slapdFirstDir("core.schema", "/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema")
	if t.schema == "" {
		return t, errors.New("OpenLDAP schema folder (core.schema) not found")
	}
	return t, nil
}

// hasModule tells whether slapd can load the named module (overlays such
// as memberof are modules on Debian; builds without modules compile them in
// or lack them, which slapd then reports).
func (t slapdTools) hasModule(name string) bool {
	return t.modules != "" && slapdFileExists(filepath.Join(t.modules, name+".la"))
}

func slapdFirstDir(file string, dirs ...string) string {
	for _, d := range dirs {
		if slapdFileExists(filepath.Join(d, file)) {
			return d
		}
	}
	return ""
}

func slapdModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if slapdFileExists(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

func slapdFileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func slapdIsExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// slapdCerts makes a CA and a server certificate for 127.0.0.1 and
// localhost in dir, and returns the CA's PEM.
func slapdCerts(dir string) ([]byte, error) {
	ca, err := certs.LoadOrCreateCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), "herd-test-slapd-ca")
	if err != nil {
		return nil, fmt.Errorf("failed to create the slapd CA: %w", err)
	}
	err = ca.EnsureLeaf(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), certs.Leaf{
		CommonName: "127.0.0.1",
		Server:     true,
		DNSNames:   []string{"localhost"},
		IPs:        slapdLoopbackIPs(),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to issue the slapd server certificate: %w", err)
	}
	return os.ReadFile(filepath.Join(dir, "ca.crt"))
}
