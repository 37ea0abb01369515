// Package etcdjoin adds a machine's etcd member to a running etcd cluster
// before the member first starts, as `etcdctl member add` does, and
// returns the --initial-cluster the new member starts with. It is
// idempotent: a member already added with the same peer URL (a retried
// plan) is not added twice. Remove takes a member out before its machine
// goes.
package etcdjoin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Join adds the member name with peerURL through endpoints, unless it is
// there already, and returns the initial cluster ("name=peerURL,...").
func Join(ctx context.Context, endpoints []string, name, peerURL string) (string, error) {
	if len(endpoints) == 0 || name == "" || !strings.HasPrefix(peerURL, "http") {
		return "", errors.New("etcdjoin: endpoints, a name and an http(s) peer URL are required")
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		return "", err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	members, err := add(ctx, c, peerURL)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, m := range members {
		n := m.Name
		if slices.Contains(m.PeerURLs, peerURL) {
			n = name // not started yet: it has no name
		}
		if n == "" {
			continue // another member added but not started
		}
		for _, u := range m.PeerURLs {
			parts = append(parts, n+"="+u)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ","), nil
}

// add adds peerURL's member unless it is there, and returns the members.
// etcd refuses a new member ("unhealthy cluster") until the one added
// before has been connected for a few seconds: that is tried again until
// ctx ends.
func add(ctx context.Context, c *clientv3.Client, peerURL string) ([]*etcdserverpb.Member, error) {
	for {
		list, err := c.MemberList(ctx)
		if err != nil {
			return nil, fmt.Errorf("etcdjoin: list members: %w", err)
		}
		if slices.ContainsFunc(list.Members, func(m *etcdserverpb.Member) bool { return slices.Contains(m.PeerURLs, peerURL) }) {
			return list.Members, nil
		}
		added, err := c.MemberAdd(ctx, []string{peerURL})
		if err == nil {
			return added.Members, nil
		}
		if !strings.Contains(err.Error(), "unhealthy cluster") {
			return nil, fmt.Errorf("etcdjoin: add member %s: %w", peerURL, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("etcdjoin: add member %s: %w", peerURL, err)
		case <-time.After(2 * time.Second):
		}
	}
}

// Remove removes the member with peerURL through endpoints (the other
// members), as `etcdctl member remove` does before a machine goes; a
// member that is not there is done.
func Remove(ctx context.Context, endpoints []string, peerURL string) error {
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	list, err := c.MemberList(ctx)
	if err != nil {
		return fmt.Errorf("etcdjoin: list members: %w", err)
	}
	for _, m := range list.Members {
		if slices.Contains(m.PeerURLs, peerURL) {
			if _, err := c.MemberRemove(ctx, m.ID); err != nil {
				return fmt.Errorf("etcdjoin: remove member %s: %w", peerURL, err)
			}
		}
	}
	return nil
}
