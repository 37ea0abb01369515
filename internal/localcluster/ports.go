package localcluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// ports are the loopback TCP ports of one cluster.
type ports struct {
	APIServer  int `json:"apiServer"`
	EtcdClient int `json:"etcdClient"`
	EtcdPeer   int `json:"etcdPeer"`
	Kwok       int `json:"kwok"`
	// AuthWebhook is where the kube-apiserver expects `herd kube-api-auth`.
	// The cluster itself never listens there, so it is not in list().
	AuthWebhook int `json:"authWebhook"`
}

// list returns the ports that the cluster's own components listen on.
func (p ports) list() []int { return []int{p.APIServer, p.EtcdClient, p.EtcdPeer, p.Kwok} }

// portFree reports whether port can be bound on 127.0.0.1 right now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// freePort asks the kernel for a free loopback port, avoiding taken ones.
func freePort(taken map[int]bool) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("failed to find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !taken[port] {
			taken[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("failed to find a free port after 50 tries")
}

// choosePorts keeps the previous run's ports where they are still free (so
// kubeconfigs stay valid across restarts) and picks free ones for the rest.
// An explicitly requested API server port that is taken is an error.
func choosePorts(requestedAPI int, prev ports) (ports, error) {
	taken := map[int]bool{}
	pick := func(want int) (int, error) {
		if want != 0 && !taken[want] && portFree(want) {
			taken[want] = true
			return want, nil
		}
		// Every port is bound later by another process: below the
		// ephemeral range, no outgoing connection takes it meanwhile.
		return unlistenedPort(taken)
	}
	var p ports
	var err error
	if requestedAPI != 0 {
		if !portFree(requestedAPI) {
			return p, fmt.Errorf("%w: API server port %d on 127.0.0.1 is taken by another process: choose another --port, or 0 for any free one", ErrPortInUse, requestedAPI)
		}
		taken[requestedAPI] = true
		p.APIServer = requestedAPI
	} else if p.APIServer, err = pick(prev.APIServer); err != nil {
		return p, err
	}
	if p.EtcdClient, err = pick(prev.EtcdClient); err != nil {
		return p, err
	}
	if p.EtcdPeer, err = pick(prev.EtcdPeer); err != nil {
		return p, err
	}
	if p.Kwok, err = pick(prev.Kwok); err != nil {
		return p, err
	}
	if prev.AuthWebhook != 0 && !taken[prev.AuthWebhook] && portFree(prev.AuthWebhook) {
		p.AuthWebhook = prev.AuthWebhook
		return p, nil
	}
	p.AuthWebhook, err = unlistenedPort(taken)
	return p, err
}

// unlistenedPort picks a free loopback port for a listener that starts
// later and in another process (the auth webhook). Nothing holds it in the
// meantime, so it is taken below the kernel's ephemeral range: the ports
// that the kernel hands out for ":0" (the other ports of every local
// cluster) and for outgoing connections never land on it.
func unlistenedPort(taken map[int]bool) (int, error) {
	const lowest = 10000
	end := ephemeralLow()
	if end-lowest < 1000 {
		return freePort(taken)
	}
	for range 50 {
		port := lowest + rand.IntN(end-lowest)
		if !taken[port] && portFree(port) {
			taken[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("failed to find a free port below %d after 50 tries", end)
}

// ephemeralLow returns the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768 // the Linux default
	}
	low, err := strconv.Atoi(strings.Fields(string(data) + " x")[0])
	if err != nil {
		return 32768
	}
	return low
}
