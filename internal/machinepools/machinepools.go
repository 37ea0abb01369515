// Package machinepools keeps each machine pool of a provisioned cluster at
// its quantity: it asks the pool's machine driver for the missing
// machines, whose node agents then register with a registration token of
// the cluster, and removes the extra ones: newest first, its etcd member
// removed, its Machine deleted (the node agent, refused, stops what its
// plan runs), its node deleted from the cluster, and the driver's machine
// deleted. Machines of a pool that is gone, or of a cluster that is gone,
// are removed the same way. It runs on the leader.
package machinepools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/machinedriver"
	"herd.dev/herd/internal/nodedrain"
	"herd.dev/herd/internal/sweep"
	"herd.dev/herd/internal/wellknown"
)

// Options configure the controller.
type Options struct {
	// Local is the local driver; nil: pools of that driver get no machines.
	Local *machinedriver.Local
	// IssueRegistrationToken makes a registration token of a cluster for
	// new machines (clusters.Registrar.IssueRegistrationToken).
	IssueRegistrationToken func(ctx context.Context, c *v1.Cluster) (string, *v1.ClusterRegistrationToken, error)
	// RemoveEtcdMember removes the etcd member at peerURL through the
	// other members' client URLs.
	RemoveEtcdMember func(ctx context.Context, endpoints []string, peerURL string) error
	// Kube is a client of a downstream cluster, through Herd's way to it
	// (clusters.Manager.Kube), to drain and delete a removed machine's
	// node. Nil: nodes are left (they go NotReady).
	Kube func(ctx context.Context, cluster string) (kubernetes.Interface, error)
	// Logger receives the log. Nil: discard.
	Logger *slog.Logger
}

// resync is how often a cluster's machines are checked (a node agent that
// died is started again).
const resync = 30 * time.Second

// drainTimeout bounds one drain of a removed machine's node; a drain that
// PodDisruptionBudgets hold up fails and is tried again at the next
// reconcile, the machine kept.
const drainTimeout = 2 * time.Minute

// Setup registers the controller with mgr, and a sweep at start of the
// machines of clusters that are gone.
func Setup(mgr ctrl.Manager, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &pools{c: mgr.GetClient(), opts: opts, log: opts.Logger.With("controller", "machinepools")}
	skip := true
	if err := ctrl.NewControllerManagedBy(mgr).Named("machinepools").For(&v1.Cluster{}).
		WithOptions(controller.Options{SkipNameValidation: &skip}).Complete(r); err != nil {
		return err
	}
	if opts.Local == nil {
		return nil
	}
	return mgr.Add(sweep.Runnable(func(context.Context) ([]string, error) { return r.opts.Local.Clusters() }, r, r.log))
}

type pools struct {
	c    client.Client
	opts Options
	log  *slog.Logger
}

// Reconcile brings one cluster's pools to their quantities.
func (r *pools) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if r.opts.Local == nil {
		return reconcile.Result{}, nil
	}
	var c v1.Cluster // zero (no UID) when it is gone
	if err := r.c.Get(ctx, req.NamespacedName, &c); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, err
	}
	held, err := r.opts.Local.List(ctx, req.Name)
	if err != nil {
		return reconcile.Result{}, err
	}
	var want []v1.MachinePool
	if c.UID != "" && c.DeletionTimestamp.IsZero() && c.Spec.Provisioning != nil {
		want = c.Spec.Provisioning.MachinePools
	}
	var errs []error
	for _, m := range held {
		if m.ClusterUID != string(c.UID) || !slices.ContainsFunc(want, func(p v1.MachinePool) bool { return p.Name == m.Pool && p.Driver == v1.DriverLocal }) {
			errs = append(errs, r.remove(ctx, &c, m, held))
		}
	}
	for _, p := range want {
		if p.Driver != v1.DriverLocal {
			continue
		}
		errs = append(errs, r.scale(ctx, &c, p, held))
	}
	err = errors.Join(errs...)
	if err != nil {
		r.log.Warn("machine pools not at their quantities yet; trying again", "cluster", req.Name, "err", err)
	}
	if len(held) == 0 && len(want) == 0 {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: resync}, err
}

// scale creates the pool's missing machines, removes its extra ones (the
// newest first), and starts node agents that do not run.
func (r *pools) scale(ctx context.Context, c *v1.Cluster, p v1.MachinePool, held []machinedriver.Machine) error {
	var mine []machinedriver.Machine
	for _, m := range held {
		if m.Pool == p.Name && m.ClusterUID == string(c.UID) {
			mine = append(mine, m)
		}
	}
	slices.SortFunc(mine, func(a, b machinedriver.Machine) int { return index(a.Hostname) - index(b.Hostname) })
	var errs []error
	for len(mine) > int(p.Quantity) {
		last := mine[len(mine)-1]
		mine = mine[:len(mine)-1]
		errs = append(errs, r.remove(ctx, c, last, held))
	}
	for _, m := range mine {
		if !m.Running {
			errs = append(errs, r.opts.Local.Ensure(ctx, m))
		}
	}
	if len(mine) == int(p.Quantity) {
		return errors.Join(errs...)
	}
	token, _, err := r.opts.IssueRegistrationToken(ctx, c)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	used := map[int]bool{}
	for _, m := range held {
		used[index(m.Hostname)] = strings.HasPrefix(m.Hostname, c.Name+"-"+p.Name+"-")
	}
	for n := 1; len(mine) < int(p.Quantity); n++ {
		if used[n] {
			continue
		}
		m, err := r.opts.Local.Create(ctx, machinedriver.Request{Cluster: c.Name, ClusterUID: string(c.UID), Pool: p.Name,
			Hostname: fmt.Sprintf("%s-%s-%d", c.Name, p.Name, n), Roles: p.Roles, Token: token})
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		mine = append(mine, m)
	}
	return errors.Join(errs...)
}

// index is the number at the end of a machine's hostname.
func index(hostname string) int {
	i := strings.LastIndexByte(hostname, '-')
	n, err := strconv.Atoi(hostname[i+1:])
	if err != nil {
		return 0
	}
	return n
}

// remove takes one machine out of the cluster and deletes it: its node
// drained and deleted, its etcd member removed (through the other
// members), its Machine deleted (its node agent, now refused, stops what
// its plan runs and exits), and the driver's machine deleted. A machine of
// a cluster that is gone or going is only deleted.
func (r *pools) remove(ctx context.Context, c *v1.Cluster, m machinedriver.Machine, held []machinedriver.Machine) error {
	log := r.log.With("cluster", m.Cluster, "machine", m.Hostname)
	var machine *v1.Machine
	// A cluster that goes takes its machines along: nothing to drain.
	if c.UID != "" && c.DeletionTimestamp.IsZero() && m.ClusterUID == string(c.UID) {
		var list v1.MachineList
		if err := r.c.List(ctx, &list, client.MatchingLabels{wellknown.ClusterLabel: c.Name}); err != nil {
			return err
		}
		for i := range list.Items {
			if list.Items[i].Spec.Hostname == m.Hostname {
				machine = &list.Items[i]
			}
		}
	}
	if machine != nil && r.opts.Kube != nil {
		kube, err := r.opts.Kube(ctx, c.Name)
		if err != nil {
			return fmt.Errorf("drain machine %s: no way to the cluster: %w", m.Hostname, err)
		}
		if err := nodedrain.Drain(ctx, kube, m.Hostname, drainTimeout, log); err != nil {
			return err
		}
		if err := kube.CoreV1().Nodes().Delete(ctx, m.Hostname, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete node %s: %w", m.Hostname, err)
		}
		log.Info("node drained and deleted")
	}
	if machine != nil && slices.Contains(machine.Spec.Roles, v1.RoleEtcd) {
		if err := r.removeEtcdMember(ctx, m, held); err != nil {
			return err
		}
	}
	if machine != nil {
		if err := r.c.Delete(ctx, machine); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return r.opts.Local.Delete(ctx, m)
}

// removeEtcdMember removes m's etcd member through the other running etcd
// machines of its cluster, if there are any.
func (r *pools) removeEtcdMember(ctx context.Context, m machinedriver.Machine, held []machinedriver.Machine) error {
	if r.opts.RemoveEtcdMember == nil {
		return nil
	}
	var others []string
	for _, o := range held {
		if o.Hostname != m.Hostname && o.ClusterUID == m.ClusterUID && o.Running && slices.Contains(o.Roles, v1.RoleEtcd) {
			others = append(others, "http://"+o.Address+":2379")
		}
	}
	if len(others) == 0 {
		return nil
	}
	if err := r.opts.RemoveEtcdMember(ctx, others, "http://"+m.Address+":2380"); err != nil {
		return fmt.Errorf("remove the etcd member of machine %s: %w", m.Hostname, err)
	}
	r.log.Info("etcd member removed", "cluster", m.Cluster, "machine", m.Hostname)
	return nil
}
