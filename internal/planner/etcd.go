package planner

import (
	"context"
	"slices"
	"strings"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
)

// etcdTier plans the etcd members: the init member starts the etcd
// cluster, and each next one joins it once those before it serve. Who is
// the init member, and which endpoints each member joined through, are
// kept in the PKI Secret: machines that register in another order later,
// or go away, never change a member's plan (a second member started as a
// new cluster would split etcd). It returns the client URLs of the
// members that serve (or did: a stage once reached stays), and what the
// next member waits for, if one does.
func (p *planner) etcdTier(ctx context.Context, c *v1.Cluster, pki map[string][]byte, etcd []*v1.Machine, plans map[string][]herdapi.Plan) ([]string, *verdict) {
	init := string(pki[keyEtcdInit])
	if init == "" {
		init = etcd[0].Name
		p.keep(ctx, c, pki, keyEtcdInit, init)
	}
	rank := func(m *v1.Machine) int {
		switch {
		case m.Name == init:
			return 0
		case len(pki[keyEtcdJoin+m.Name]) > 0:
			return 1
		}
		return 2
	}
	ordered := slices.Clone(etcd)
	slices.SortStableFunc(ordered, func(a, b *v1.Machine) int { return rank(a) - rank(b) })
	var servers []string
	var wait *verdict
	for i, m := range ordered {
		switch joined := string(pki[keyEtcdJoin+m.Name]); {
		case m.Name == init:
			plans[m.Name] = append(plans[m.Name], etcdPlan(m))
		case joined != "":
			plans[m.Name] = append(plans[m.Name], etcdJoinPlan(m, strings.Split(joined, ",")))
		case wait == nil && len(servers) > 0:
			p.keep(ctx, c, pki, keyEtcdJoin+m.Name, strings.Join(servers, ","))
			plans[m.Name] = append(plans[m.Name], etcdJoinPlan(m, servers))
		default:
			continue // joins once those before it serve
		}
		if p.reached(ctx, c, pki, stageEtcd+m.Name, healthy(m, "etcd")) {
			servers = append(servers, etcdClientURL(m))
		} else if wait == nil {
			v := waiting("EtcdNotReady", "etcd member %d of %d on machine %s (%s): %s", i+1, len(etcd), m.Spec.Hostname, m.Name, state(m, "etcd"))
			wait = &v
		}
	}
	if len(servers) == 0 && wait == nil {
		v := waiting("EtcdNotReady", "no etcd member serves; the cluster's first member was machine %s, which is gone", init)
		wait = &v
	}
	return servers, wait
}

// keep stores key=value in the PKI Secret (pki, its data).
func (p *planner) keep(ctx context.Context, c *v1.Cluster, pki map[string][]byte, key, value string) {
	pki[key] = []byte(value)
	if err := p.storePKI(ctx, c, pki); err != nil {
		p.log.Warn("failed to keep a fact of a provisioned cluster", "cluster", c.Name, "key", key, "err", err)
	}
}
