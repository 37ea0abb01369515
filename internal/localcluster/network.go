package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// subnet is the block of addresses of one local cluster with real nodes,
// number K (1-254) of this machine:
//
//   - 10.213.K.10+i is real node i's address (a kubelet refuses a loopback
//     one), on a veth link herdK that the cluster creates and deletes;
//   - 10.214.K.0/24 is the Service range, so the kubernetes Service is
//     10.214.K.1, also on herdK, where the cluster forwards it to the
//     kube-apiserver on loopback (there is no kube-proxy);
//   - 10.215.K.32i/27 are the pod addresses of node i, on a bridge herdKbi.
//
// Creating the link reserves K: the kernel refuses a second herdK, so two
// clusters started at the same time never share a block.
type subnet struct{ K int }

// maxRealNodes bounds real nodes per cluster (eight /27 pod blocks).
const maxRealNodes = 8

func (s subnet) link() string            { return "herd" + strconv.Itoa(s.K) }
func (s subnet) nodeIP(i int) string     { return fmt.Sprintf("10.213.%d.%d", s.K, 10+i) }
func (s subnet) nodeCIDR() string        { return fmt.Sprintf("10.213.%d.0/24", s.K) }
func (s subnet) serviceCIDR() string     { return fmt.Sprintf("10.214.%d.0/24", s.K) }
func (s subnet) serviceIP() string       { return fmt.Sprintf("10.214.%d.1", s.K) }
func (s subnet) podCIDR(i int) string    { return fmt.Sprintf("10.215.%d.%d/27", s.K, 32*i) }
func (s subnet) podGateway(i int) string { return fmt.Sprintf("10.215.%d.%d", s.K, 32*i+1) }
func (s subnet) nodeRun(i int) string    { return filepath.Join(runRoot, fmt.Sprintf("k%dn%d", s.K, i)) }
func (s subnet) bridge(i int) string     { return fmt.Sprintf("herd%db%d", s.K, i) }
func (s subnet) addresses(nodes int) []string {
	addrs := []string{s.serviceIP()}
	for i := range nodes {
		addrs = append(addrs, s.nodeIP(i))
	}
	return addrs
}

// ip runs the ip command of iproute2.
func ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("%w: the ip command (Debian package iproute2) is needed for real nodes: run hack/install-deps.sh", ErrMissingRuntime)
	}
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// reserveSubnet creates the link of a free block, preferring prev (the
// block of the cluster's last run, whose link a crash may have left: the
// cluster's lock makes it ours), and puts on it the Service address and
// the addresses of nodes real nodes.
func reserveSubnet(ctx context.Context, owner string, prev, nodes int) (subnet, error) {
	sweepSubnets(ctx)
	try := func(k int) error {
		s := subnet{K: k}
		return ip(ctx, "link", "add", s.link(), "type", "veth", "peer", "name", s.link()+"p")
	}
	k := 0
	if prev > 0 && prev < 255 {
		_ = releaseSubnet(ctx, subnet{K: prev}, maxRealNodes)
		if try(prev) == nil {
			k = prev
		}
	}
	for cand := 1; k == 0 && cand < 255; cand++ {
		err := try(cand)
		if err == nil {
			k = cand
		} else if !strings.Contains(err.Error(), "exists") {
			return subnet{}, err
		}
	}
	if k == 0 {
		return subnet{}, errors.New("localcluster: all 254 real-node address blocks are taken: delete other local clusters with real nodes")
	}
	s := subnet{K: k}
	if err := os.MkdirAll(runRoot, 0o700); err != nil {
		return subnet{}, err
	}
	if err := os.WriteFile(s.ownerFile(), []byte(owner), 0o600); err != nil {
		_ = releaseSubnet(context.WithoutCancel(ctx), s, nodes)
		return subnet{}, err
	}
	steps := [][]string{{"link", "set", s.link() + "p", "up"}, {"link", "set", s.link(), "up"}}
	for _, a := range s.addresses(nodes) {
		steps = append(steps, []string{"addr", "add", a + "/32", "dev", s.link()})
	}
	for _, st := range steps {
		if err := ip(ctx, st...); err != nil {
			_ = releaseSubnet(context.WithoutCancel(ctx), s, nodes)
			return subnet{}, err
		}
	}
	return s, nil
}

// releaseSubnet deletes the block's link (with its addresses) and the pod
// bridges of its nodes.
func releaseSubnet(ctx context.Context, s subnet, nodes int) error {
	var errs []error
	for i := range nodes {
		if linkExists(s.bridge(i)) {
			errs = append(errs, ip(ctx, "link", "del", s.bridge(i)))
		}
	}
	if linkExists(s.link()) {
		errs = append(errs, ip(ctx, "link", "del", s.link()))
	}
	_ = os.Remove(s.ownerFile())
	return errors.Join(errs...)
}

// ownerFile records which cluster directory holds the block.
func (s subnet) ownerFile() string {
	return filepath.Join(runRoot, fmt.Sprintf("k%d.owner", s.K))
}

// sweepSubnets frees the blocks whose cluster no longer runs (its
// directory is gone or unlocked: the process that ran it died without
// stopping it), with what their nodes left: container processes, mounts,
// links.
func sweepSubnets(ctx context.Context) {
	owners, _ := filepath.Glob(filepath.Join(runRoot, "k*.owner"))
	for _, f := range owners {
		var k int
		if _, err := fmt.Sscanf(filepath.Base(f), "k%d.owner", &k); err != nil {
			continue
		}
		dir, err := os.ReadFile(f)
		if err != nil || locked(string(dir)) {
			continue
		}
		s := subnet{K: k}
		for i := range maxRealNodes {
			n := &realNode{name: fmt.Sprintf("node %d of %s", i, dir), index: i,
				dir: filepath.Join(string(dir), "nodes"), run: s.nodeRun(i), log: slog.New(slog.DiscardHandler)}
			n.cleanup()
		}
		_ = releaseSubnet(ctx, s, maxRealNodes)
	}
}

func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// serviceForwarder serves the kubernetes Service of a cluster with real
// nodes: it listens on the Service address, port 443, and forwards each
// connection to the kube-apiserver on loopback, as kube-proxy would.
type serviceForwarder struct {
	ln     net.Listener
	target string
	slots  chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

// maxForwardedConns bounds the connections forwarded at once.
const maxForwardedConns = 512

func startServiceForwarder(addr, target string) (*serviceForwarder, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to serve the kubernetes Service on %s: %w", addr, err)
	}
	f := &serviceForwarder{ln: ln, target: target, slots: make(chan struct{}, maxForwardedConns), conns: map[net.Conn]struct{}{}}
	f.wg.Go(f.serve)
	return f, nil
}

func (f *serviceForwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		select {
		case f.slots <- struct{}{}:
		default:
			_ = c.Close()
			continue
		}
		f.wg.Go(func() {
			defer func() { <-f.slots }()
			f.forward(c)
		})
	}
}

func (f *serviceForwarder) forward(c net.Conn) {
	up, err := net.Dial("tcp", f.target)
	if err != nil {
		_ = c.Close()
		return
	}
	if !f.track(c, up) {
		return
	}
	defer f.untrack(c, up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

// track records the pair so that close can end it; false once closed.
func (f *serviceForwarder) track(conns ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *serviceForwarder) untrack(conns ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
		delete(f.conns, c)
	}
}

// close stops listening, ends every forwarded connection and waits.
func (f *serviceForwarder) close() {
	_ = f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
}
