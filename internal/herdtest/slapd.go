package herdtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SlapdOptions configures StartSlapd. The zero value is ready to use.
type SlapdOptions struct {
	// Dir is where the slapd's temporary folder is made; "" is
	// os.TempDir().
	Dir string
	// InstallScript installs slapd and ldap-utils when they are missing;
	// "" is hack/install-slapd.sh of this module, found from the working
	// directory up.
	InstallScript string
	// StartTimeout bounds the start, the install excepted; 0 is 30s.
	StartTimeout time.Duration
}

// Slapd is a real OpenLDAP server run as a child process on free loopback
// ports, with its configuration, certificates and databases in a temporary
// folder. It serves two seeded trees, OpenLDAP and AD, over ldap://
// (plain and StartTLS) and ldaps://, with the memberof overlay keeping
// memberOf up to date. Active Directory is emulated: AD's attributes are
// defined in a small schema of the harness (see slapdADSchema).
//
// Seed of both trees (users' passwords are SlapdPassword(login)):
//
//	alice   Alice Liddell             devs, ops (ops ⊂ staff)
//	bob     Bob Builder               devs
//	carol   Carol (Ops) Danvers, Jr   ops (ops ⊂ staff); DN with ( ) and ,
//	mallory Mallory Mallet            g1 (g1 ⊂ g2 ⊂ g1: a loop)
//	dave    Dave Disabled             devs; disabled in the AD tree
//	frank   Frank Legacy              no groups; no objectGUID in the AD tree
//	twin    Twin One, Twin Two        the login matches two users
type Slapd struct {
	// URL is ldap://127.0.0.1:PORT (plain and StartTLS), LDAPSURL
	// ldaps://127.0.0.1:PORT; Addr and TLSAddr are their host:port.
	URL, LDAPSURL string
	Addr, TLSAddr string
	// CAPEM is the CA of the server's certificate (for 127.0.0.1 and
	// localhost).
	CAPEM []byte
	// OpenLDAP and AD are the two trees.
	OpenLDAP, AD SlapdDirectory
	// Dir is the temporary folder, removed by Stop.
	Dir string
	// Logs holds what slapd printed.
	Logs *SyncBuffer

	tools    slapdTools
	rootPW   string
	cmd      *exec.Cmd
	exited   chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	users    map[string][]SlapdUser // by flavor
}

// StartSlapd starts and seeds a slapd, installing slapd with the install
// script if it is missing. It does not skip: when slapd cannot be installed
// or started it returns an error that says why. Stop it when done; the
// process also dies with the calling process.
func StartSlapd(ctx context.Context, opts SlapdOptions) (_ *Slapd, err error) {
	tools, err := findSlapd(ctx, opts.InstallScript)
	if err != nil {
		return nil, fmt.Errorf("cannot run slapd: %w", err)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	removeStaleSlapdDirs(opts.Dir)
	dir, err := os.MkdirTemp(opts.Dir, "herd-slapd-")
	if err != nil {
		return nil, err
	}
	s := &Slapd{Dir: dir, Logs: &SyncBuffer{}, tools: tools, rootPW: rand.Text(), users: map[string][]SlapdUser{}}
	s.OpenLDAP, s.AD = newSlapdDirectories()
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if s.CAPEM, err = slapdCerts(dir); err != nil {
		return nil, err
	}
	conf, err := s.writeConfig(tools, s.rootPW)
	if err != nil {
		return nil, err
	}
	if err := s.run(ctx, conf); err != nil {
		return nil, err
	}
	if err := s.seed(ctx); err != nil {
		return nil, fmt.Errorf("failed to seed slapd: %w", err)
	}
	return s, nil
}

// run starts slapd on free ports, trying new ones when another process
// took them first.
func (s *Slapd) run(ctx context.Context, conf string) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if s.Addr, err = slapdFreeAddr(); err != nil {
			return err
		}
		if s.TLSAddr, err = slapdFreeAddr(); err != nil {
			return err
		}
		s.URL, s.LDAPSURL = "ldap://"+s.Addr, "ldaps://"+s.TLSAddr
		if err = s.runOnce(ctx, conf); err == nil || !strings.Contains(s.Logs.String(), "Address already in use") {
			return err
		}
	}
	return err
}

func (s *Slapd) runOnce(ctx context.Context, conf string) error {
	cmd := exec.Command(s.tools.slapd, "-f", conf, "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "none")
	cmd.Stdout, cmd.Stderr = s.Logs, s.Logs
	// Its own process group, and SIGKILL when this process dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("failed to start %s: %w", s.tools.slapd, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	for _, addr := range []string{s.Addr, s.TLSAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				return fmt.Errorf("slapd exited at start (%v):\n%s", cmd.ProcessState, s.Logs.String())
			case <-ctx.Done():
				s.kill()
				return fmt.Errorf("slapd did not listen on %s: %w\n%s", addr, ctx.Err(), s.Logs.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// Stop kills slapd and removes its folder. It may be called more than once.
func (s *Slapd) Stop() {
	s.stopOnce.Do(func() {
		s.kill()
		_ = os.RemoveAll(s.Dir)
	})
}

// kill ends slapd: SIGTERM, then SIGKILL after 5 seconds.
func (s *Slapd) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-s.exited
	}
}

// slapdFreeAddr is a loopback address no one listens on now.
func slapdFreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("cannot listen on loopback: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func slapdLoopbackIPs() []net.IP {
	return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
}
