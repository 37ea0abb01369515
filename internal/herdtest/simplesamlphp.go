package herdtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// simpleSAMLphpWWW is where Debian's simplesamlphp package keeps its web
// root (its configuration comes from SIMPLESAMLPHP_CONFIG_DIR).
const simpleSAMLphpWWW = "/usr/share/simplesamlphp/www"

// SAMLUser is a user of the SimpleSAMLphp identity provider.
type SAMLUser struct {
	Username, Password, DisplayName string
	Groups                          []string
}

// SimpleSAMLphp is a real SAML 2.0 identity provider: Debian's
// simplesamlphp served by PHP's built-in web server on a free loopback
// port, with its configuration, key and sessions in a temporary folder.
// Its users log in with a username and password (exampleauth:UserPass) and
// are sent with the attributes uid, displayName and groups (basic names);
// responses and assertions are signed with RSA-SHA256. It knows one
// service provider, given to StartSimpleSAMLphp.
type SimpleSAMLphp struct {
	// URL is http://127.0.0.1:PORT; MetadataURL serves the IdP's
	// metadata, whose entity id is EntityID.
	URL, MetadataURL, EntityID string
	// Logs holds what PHP printed.
	Logs *SyncBuffer

	dir              string
	spEntity, spACS  string
	cmd              *exec.Cmd
	assertionSeconds int
	spCertData       string // base64 DER; set: AuthnRequests must be signed with its key
}

// StartSimpleSAMLphp starts the identity provider for the service
// provider spEntity, whose assertion consumer service is spACS, with
// users. It installs simplesamlphp and PHP (hack/install-deps.sh) when
// they are missing. It stops when the test ends.
func StartSimpleSAMLphp(t testing.TB, spEntity, spACS string, users ...SAMLUser) *SimpleSAMLphp {
	t.Helper()
	php, err := findSimpleSAMLphp()
	if err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	dir := t.TempDir()
	p := &SimpleSAMLphp{URL: "http://" + addr, Logs: &SyncBuffer{}, dir: dir, spEntity: spEntity, spACS: spACS, assertionSeconds: 300}
	p.MetadataURL = p.URL + "/saml2/idp/metadata.php"
	p.EntityID = p.MetadataURL
	for _, d := range []string{"config", "metadata", "cert", "log", "data", "tmp", "sessions"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	keyPEM, certPEM := samlKeyPair(t, "SimpleSAMLphp test IdP")
	p.write(t, "cert/idp.key", keyPEM)
	p.write(t, "cert/idp.crt", certPEM)
	p.write(t, "config/config.php", p.configPHP(randomHex(t)))
	p.write(t, "config/authsources.php", authsourcesPHP(users))
	p.write(t, "metadata/saml20-idp-hosted.php", `<?php
$metadata['__DYNAMIC:1__'] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'users',
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
];
`)
	p.writeSP(t)
	// No opcache: SetAssertionLifetime rewrites a metadata file that
	// must be read anew at the next request.
	p.cmd = exec.Command(php, "-d", "opcache.enable=0", "-S", addr, "-t", simpleSAMLphpWWW)
	p.cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+filepath.Join(dir, "config"))
	p.cmd.Stdout, p.cmd.Stderr = p.Logs, p.Logs
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start SimpleSAMLphp: %v", err)
	}
	t.Cleanup(p.stop)
	LogOnFailure(t, "SimpleSAMLphp", func() string { return p.Logs.String() + p.phpLog() })
	Eventually(t, "SimpleSAMLphp serves its metadata", 30*time.Second, func() error {
		resp, err := http.Get(p.MetadataURL)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "EntityDescriptor") {
			return fmt.Errorf("metadata: %s %.200s", resp.Status, body)
		}
		return nil
	})
	return p
}

func (p *SimpleSAMLphp) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

func (p *SimpleSAMLphp) phpLog() string {
	data, _ := os.ReadFile(filepath.Join(p.dir, "log", "simplesamlphp.log"))
	return string(data)
}

func (p *SimpleSAMLphp) write(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(p.dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// SetAssertionLifetime sets how long the assertions the IdP makes from now
// on are valid (it reads its metadata files at every request).
func (p *SimpleSAMLphp) SetAssertionLifetime(t testing.TB, d time.Duration) {
	p.assertionSeconds = int(d / time.Second)
	p.writeSP(t)
}

// RequireSignedRequests makes the IdP accept only AuthnRequests signed
// with the key of certPEM (the SP's certificate).
func (p *SimpleSAMLphp) RequireSignedRequests(t testing.TB, certPEM string) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil {
		t.Fatal("RequireSignedRequests: not a PEM certificate")
	}
	p.spCertData = pemBody(block)
	p.writeSP(t)
}

// writeSP writes the metadata of the one service provider.
func (p *SimpleSAMLphp) writeSP(t testing.TB) {
	signed := ""
	if p.spCertData != "" {
		signed = fmt.Sprintf("    'validate.authnrequest' => true,\n    'redirect.validate' => true,\n    'certData' => %s,\n", phpString(p.spCertData))
	}
	p.write(t, "metadata/saml20-sp-remote.php", fmt.Sprintf(`<?php
$metadata[%s] = [
%s
    'AssertionConsumerService' => [['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', 'Location' => %s]],
    'saml20.sign.response' => true,
    'saml20.sign.assertion' => true,
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
    'assertion.lifetime' => %d,
];
`, phpString(p.spEntity), signed, phpString(p.spACS), p.assertionSeconds))
}

func (p *SimpleSAMLphp) configPHP(secret string) string {
	return fmt.Sprintf(`<?php
$config = [
    'baseurlpath' => %s,
    'certdir' => %s,
    'loggingdir' => %s,
    'datadir' => %s,
    'tempdir' => %s,
    'metadatadir' => %s,
    'technicalcontact_name' => 'Herd tests',
    'technicalcontact_email' => 'herd-tests@example.org',
    'timezone' => 'UTC',
    'secretsalt' => %s,
    'auth.adminpassword' => %s,
    'admin.protectindexpage' => true,
    'admin.protectmetadata' => false,
    'logging.level' => SimpleSAML\Logger::DEBUG,
    'logging.handler' => 'file',
    'logging.logfile' => 'simplesamlphp.log',
    'enable.saml20-idp' => true,
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true],
    'store.type' => 'phpsession',
    'session.phpsession.savepath' => %s,
    'session.cookie.secure' => false,
    'language.default' => 'en',
    'production' => false,
];
`, phpString(p.URL+"/"), phpString(filepath.Join(p.dir, "cert")+"/"), phpString(filepath.Join(p.dir, "log")+"/"),
		phpString(filepath.Join(p.dir, "data")+"/"), phpString(filepath.Join(p.dir, "tmp")), phpString(filepath.Join(p.dir, "metadata")),
		phpString(secret), phpString(secret), phpString(filepath.Join(p.dir, "sessions")))
}

func authsourcesPHP(users []SAMLUser) string {
	var b strings.Builder
	b.WriteString("<?php\n$config = [\n    'users' => [\n        'exampleauth:UserPass',\n")
	for _, u := range users {
		groups := make([]string, len(u.Groups))
		for i, g := range u.Groups {
			groups[i] = phpString(g)
		}
		fmt.Fprintf(&b, "        %s => ['uid' => [%s], 'displayName' => [%s], 'groups' => [%s]],\n",
			phpString(u.Username+":"+u.Password), phpString(u.Username), phpString(u.DisplayName), strings.Join(groups, ", "))
	}
	b.WriteString("    ],\n];\n")
	return b.String()
}

// phpString quotes s as a PHP single-quoted string.
func phpString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// findSimpleSAMLphp returns the php binary, installing simplesamlphp and
// php-cli when they are missing.
func findSimpleSAMLphp() (string, error) {
	look := func() (string, error) {
		php, err := exec.LookPath("php")
		if err != nil {
			return "", err
		}
		for _, f := range []string{filepath.Join(simpleSAMLphpWWW, "module.php")} {
			if _, err := os.Stat(f); err != nil {
				return "", err
			}
		}
		// php-xml (DOMDocument) and php-mbstring are separate packages.
		if out, err := exec.Command(php, "-m").Output(); err != nil || !strings.Contains(string(out), "dom") || !strings.Contains(string(out), "mbstring") {
			return "", fmt.Errorf("php lacks the dom or mbstring module (packages php-xml, php-mbstring)")
		}
		return php, nil
	}
	if php, err := look(); err == nil {
		return php, nil
	}
	root, err := slapdModuleRoot()
	if err != nil {
		return "", fmt.Errorf("simplesamlphp not found, and no install script: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "bash", filepath.Join(root, "hack", "install-deps.sh"), "simplesamlphp", "php-cli", "php-xml", "php-mbstring").CombinedOutput(); err != nil {
		return "", fmt.Errorf("simplesamlphp not found; hack/install-deps.sh simplesamlphp php-cli php-xml php-mbstring failed: %w\n%s", err, out)
	}
	return look()
}

// samlKeyPair makes an RSA key and a self-signed certificate, PEM.
func samlKeyPair(t testing.TB, cn string) (keyPEM, certPEM string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// SAMLCertificate is a new self-signed certificate (PEM, base64 DER as
// in metadata): for tests that give Herd a key the IdP does not sign with.
func SAMLCertificate(t testing.TB) string {
	_, certPEM := samlKeyPair(t, "another key")
	block, _ := pem.Decode([]byte(certPEM))
	return pemBody(block)
}

// SAMLKeyPair is a new RSA key and self-signed certificate, PEM: an SP's
// signing key.
func SAMLKeyPair(t testing.TB) (keyPEM, certPEM string) { return samlKeyPair(t, "service provider") }

func pemBody(b *pem.Block) string {
	return strings.Join(strings.Fields(strings.TrimSuffix(strings.TrimPrefix(string(pem.EncodeToMemory(b)), "-----BEGIN CERTIFICATE-----"), "-----END CERTIFICATE-----\n")), "")
}

func randomHex(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Login logs username in at the IdP as a browser would, from authURL
// (Herd's AuthnRequest, HTTP-Redirect binding) to the page that posts the
// IdP's answer back: it returns that form's action (Herd's callback) and
// fields (SAMLResponse, RelayState), without posting them.
func (p *SimpleSAMLphp) Login(t testing.TB, authURL, username, password string) (string, url.Values) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	page, pageURL := p.get(t, c, authURL)
	action, fields := htmlForm(t, page, pageURL)
	if _, ok := fields["AuthState"]; !ok {
		t.Fatalf("SimpleSAMLphp's login page has no AuthState field:\n%s", page)
	}
	fields.Set("username", username)
	fields.Set("password", password)
	resp, err := c.PostForm(action, fields)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	action, fields = htmlForm(t, string(body), resp.Request.URL)
	if fields.Get("SAMLResponse") == "" {
		t.Fatalf("SimpleSAMLphp did not answer with a SAMLResponse (wrong password?): %s\n%s", resp.Status, body)
	}
	return action, fields
}

func (p *SimpleSAMLphp) get(t testing.TB, c *http.Client, u string) (string, *url.URL) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", u, resp.Status, body)
	}
	return string(body), resp.Request.URL
}

// htmlForm returns the action (absolute) and the named input fields of
// the first form of an HTML page.
func htmlForm(t testing.TB, page string, base *url.URL) (string, url.Values) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(page))
	var action string
	fields := url.Values{}
	inForm := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			if !inForm && action == "" {
				t.Fatalf("no form on the page:\n%s", page)
			}
			return action, fields
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			attr := func(name string) string {
				for _, a := range tok.Attr {
					if a.Key == name {
						return a.Val
					}
				}
				return ""
			}
			switch tok.Data {
			case "form":
				if action != "" {
					return action, fields // only the first form
				}
				inForm = true
				ref, err := url.Parse(attr("action"))
				if err != nil {
					t.Fatalf("form action %q: %v", attr("action"), err)
				}
				action = base.ResolveReference(ref).String()
			case "input":
				if inForm && attr("name") != "" && attr("type") != "submit" {
					fields.Set(attr("name"), attr("value"))
				}
			}
		case html.EndTagToken:
			if z.Token().Data == "form" {
				inForm = false
			}
		}
	}
}
