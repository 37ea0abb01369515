// Package members is who holds which role template in a cluster or a
// project: the ClusterRoleTemplateBindings and ProjectRoleTemplateBindings
// behind `herdctl members`, and who may add and remove them. A caller adds
// only roles whose rules they hold themselves in that scope (no
// escalation). The operations return sentinel errors.
package members

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/authn"
	"herd.dev/herd/internal/authz"
	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/index"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/store"
)

// Errors of the operations. What follows the package prefix in an error's
// message is safe to show to the caller.
var (
	// ErrInvalid: the request names no or two scopes or subjects, an
	// unknown user or role template, or one of the other context.
	ErrInvalid = errors.New("members: invalid request")
	// ErrNoScope: the cluster or project does not exist for the caller.
	ErrNoScope = errors.New("members: no such cluster or project")
	// ErrNoMember: no member of that name.
	ErrNoMember = errors.New("members: no such member")
	// ErrExists: the subject already has that role there.
	ErrExists = errors.New("members: already a member")
)

// Config configures Members. All fields but Logger and Now are required.
type Config struct {
	// Client writes bindings; Cache reads the informer cache.
	Client client.Client
	Cache  client.Reader
	Authz  *authz.Authorizer
	// LookupUser finds a user by local username or User id.
	LookupUser func(ctx context.Context, name string) (*v1.User, bool)
	// Logger receives the log. Nil: discard.
	Logger *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Members lists, adds and removes members.
type Members struct {
	cfg Config
}

// New checks cfg and returns Members.
func New(cfg Config) (*Members, error) {
	if cfg.Client == nil || cfg.Cache == nil || cfg.Authz == nil || cfg.LookupUser == nil {
		return nil, errors.New("members: Client, Cache, Authz and LookupUser are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Members{cfg: cfg}, nil
}

// scope is where a member request applies, with what the caller holds there.
type scope struct {
	cluster  *v1.Cluster // set for a cluster's members
	project  *v1.Project // set for a project's members
	name     string      // the cluster's name, also for a project
	resource string      // clusterroletemplatebindings or projectroletemplatebindings
	held     []rbacv1.PolicyRule
}

func (sc *scope) String() string {
	if sc.project != nil {
		return "project " + sc.project.Name
	}
	return "cluster " + sc.name
}

// resolve finds the cluster or project of a request (exactly one named)
// and what id holds there.
func (m *Members) resolve(ctx context.Context, id *authn.Identity, cluster, project string) (*scope, error) {
	az := m.cfg.Authz
	if (cluster == "") == (project == "") {
		return nil, fmt.Errorf("%w: name exactly one of a cluster (--cluster) and a project (--project)", ErrInvalid)
	}
	if project != "" {
		var p v1.Project
		if err := m.cfg.Cache.Get(ctx, client.ObjectKey{Name: project}, &p); err != nil || !az.VisibleProject(ctx, id, &p) {
			return nil, fmt.Errorf("%w: project %s does not exist; see `herdctl projects list`", ErrNoScope, project)
		}
		return &scope{project: &p, name: p.Spec.ClusterName, resource: "projectroletemplatebindings", held: az.ProjectRules(ctx, id, &p)}, nil
	}
	var c v1.Cluster
	if err := m.cfg.Cache.Get(ctx, client.ObjectKey{Name: cluster}, &c); err != nil ||
		!(az.Allowed(ctx, id, "get", "clusters") || az.Member(ctx, id, cluster)) {
		return nil, fmt.Errorf("%w: cluster %s does not exist; see `herdctl clusters list`", ErrNoScope, cluster)
	}
	return &scope{cluster: &c, name: c.Name, resource: "clusterroletemplatebindings", held: az.ClusterRules(ctx, id, c.Name)}, nil
}

// mayManage reports whether id may create or delete (verb) bindings in sc.
func (m *Members) mayManage(ctx context.Context, id *authn.Identity, sc *scope, verb string) error {
	if m.cfg.Authz.Allowed(ctx, id, verb, sc.resource) || len(roles.Missing(sc.held, roles.Manage(sc.resource, verb))) == 0 {
		return nil
	}
	return fmt.Errorf("%w: you may not manage members of %s", authz.ErrForbidden, sc)
}

// List returns the members of a cluster or of a project, by role and
// subject.
func (m *Members) List(ctx context.Context, id *authn.Identity, cluster, project string) ([]herdapi.Member, error) {
	sc, err := m.resolve(ctx, id, cluster, project)
	if err != nil {
		return nil, err
	}
	out := []herdapi.Member{}
	if sc.project != nil {
		var list v1.ProjectRoleTemplateBindingList
		if err := m.cfg.Cache.List(ctx, &list, client.MatchingFields{index.Project: sc.project.Name}); err != nil {
			return nil, err
		}
		for i := range list.Items {
			b := &list.Items[i]
			out = append(out, m.member(ctx, b.Name, sc, b.Spec.RoleTemplateName, b.Spec.Subject, b.Status, b.CreationTimestamp))
		}
	} else {
		var list v1.ClusterRoleTemplateBindingList
		if err := m.cfg.Cache.List(ctx, &list, client.MatchingFields{index.Cluster: sc.name}); err != nil {
			return nil, err
		}
		for i := range list.Items {
			b := &list.Items[i]
			out = append(out, m.member(ctx, b.Name, sc, b.Spec.RoleTemplateName, b.Spec.Subject, b.Status, b.CreationTimestamp))
		}
	}
	slices.SortFunc(out, func(a, b herdapi.Member) int {
		return strings.Compare(a.RoleTemplate+a.Username+a.Group, b.RoleTemplate+b.Username+b.Group)
	})
	return out, nil
}

func (m *Members) member(ctx context.Context, name string, sc *scope, template string, subj v1.Subject, st v1.Status, created metav1.Time) herdapi.Member {
	out := herdapi.Member{Name: name, ClusterName: sc.name, RoleTemplate: template,
		UserName: subj.UserName, Group: subj.GroupPrincipalID, Ready: string(metav1.ConditionUnknown), CreatedAt: created.Time}
	if sc.project != nil {
		out.ProjectName = sc.project.Name
	}
	if subj.UserName != "" {
		var u v1.User
		if m.cfg.Cache.Get(ctx, client.ObjectKey{Name: subj.UserName}, &u) == nil {
			out.Username = u.Spec.Username
		}
	}
	if c := meta.FindStatusCondition(st.Conditions, v1.ConditionReady); c != nil {
		out.Ready = string(c.Status)
		if c.Status != metav1.ConditionTrue {
			out.Message = c.Message
		}
	}
	return out
}

// subject resolves the user or group of a request.
func (m *Members) subject(ctx context.Context, req *herdapi.MemberRequest) (v1.Subject, error) {
	switch {
	case (req.Username == "") == (req.Group == ""):
		return v1.Subject{}, fmt.Errorf("%w: name exactly one of a user (--user) and a group (--group)", ErrInvalid)
	case req.Group != "":
		subject := v1.Subject{GroupPrincipalID: req.Group}
		if err := roles.CheckSubject(subject); err != nil {
			return v1.Subject{}, fmt.Errorf("%w: %s", ErrInvalid, err.Error())
		}
		return subject, nil
	}
	u, ok := m.cfg.LookupUser(ctx, req.Username)
	if !ok {
		return v1.Subject{}, fmt.Errorf("%w: user %s does not exist; give a local username or a user id (u-...) from `herdctl users list`",
			ErrInvalid, req.Username)
	}
	return v1.Subject{UserName: u.Name}, nil
}

// Add binds a role template to a user or group in a cluster or project,
// when id may manage its members and holds what the role grants there.
func (m *Members) Add(ctx context.Context, id *authn.Identity, req herdapi.MemberRequest) (*herdapi.Member, error) {
	sc, err := m.resolve(ctx, id, req.ClusterName, req.ProjectName)
	if err != nil {
		return nil, err
	}
	subject, err := m.subject(ctx, &req)
	if err != nil {
		return nil, err
	}
	rules, err := m.templateRules(ctx, sc, req.RoleTemplate)
	if err != nil {
		return nil, err
	}
	if err := m.mayManage(ctx, id, sc, "create"); err != nil {
		return nil, err
	}
	if missing := roles.Missing(sc.held, rules); len(missing) > 0 {
		return nil, fmt.Errorf("%w: role %s grants permissions you do not hold in %s (%s); ask someone who holds them",
			authz.ErrForbidden, req.RoleTemplate, sc, roles.Describe(missing, 3))
	}
	var obj client.Object
	if sc.project != nil {
		obj = NewPRTB(sc.project, req.RoleTemplate, subject)
	} else {
		obj = NewCRTB(sc.cluster, req.RoleTemplate, subject)
	}
	if err := m.cfg.Client.Create(ctx, obj); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("%w: that member already has that role in %s", ErrExists, sc)
		}
		return nil, err
	}
	store.Await(ctx, m.cfg.Cache, obj, false, m.cfg.Logger)
	out := m.member(ctx, obj.GetName(), sc, req.RoleTemplate, subject, v1.Status{}, metav1.NewTime(m.cfg.Now()))
	return &out, nil
}

// templateRules returns the effective rules of a role template of the
// scope's context.
func (m *Members) templateRules(ctx context.Context, sc *scope, name string) ([]rbacv1.PolicyRule, error) {
	var rt v1.RoleTemplate
	if err := m.cfg.Cache.Get(ctx, client.ObjectKey{Name: name}, &rt); err != nil {
		return nil, fmt.Errorf("%w: role template %s does not exist; see `herdctl roles list`", ErrInvalid, name)
	}
	want := v1.ContextCluster
	if sc.project != nil {
		want = v1.ContextProject
	}
	if rt.Spec.Context != want {
		return nil, fmt.Errorf("%w: role template %s is for %ss; bind it with --%s", ErrInvalid, rt.Name, rt.Spec.Context, rt.Spec.Context)
	}
	rules, err := m.cfg.Authz.TemplateRules(ctx, rt.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: role template %s cannot be used: %s", ErrInvalid, rt.Name, err.Error())
	}
	return rules, nil
}

// Remove deletes a member id may manage, and returns what it deleted.
func (m *Members) Remove(ctx context.Context, id *authn.Identity, name string) (client.Object, error) {
	var (
		crtb v1.ClusterRoleTemplateBinding
		prtb v1.ProjectRoleTemplateBinding
		obj  client.Object
		sc   *scope
		err  error
	)
	switch {
	case m.cfg.Cache.Get(ctx, client.ObjectKey{Name: name}, &crtb) == nil:
		obj = &crtb
		sc, err = m.resolve(ctx, id, crtb.Spec.ClusterName, "")
	case m.cfg.Cache.Get(ctx, client.ObjectKey{Name: name}, &prtb) == nil:
		obj = &prtb
		sc, err = m.resolve(ctx, id, "", prtb.Spec.ProjectName)
	default:
		return nil, fmt.Errorf("%w: member %s not found", ErrNoMember, name)
	}
	if err != nil {
		return nil, err
	}
	if err := m.mayManage(ctx, id, sc, "delete"); err != nil {
		return nil, err
	}
	if err := m.cfg.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	store.Await(ctx, m.cfg.Cache, obj, true, m.cfg.Logger)
	return obj, nil
}

// bindingName derives a binding's name from what it grants, so the same
// grant made twice collides in the apiserver instead of being duplicated.
func bindingName(prefix, scope, template string, s v1.Subject) string {
	sum := sha256.Sum256([]byte(scope + "\x00" + template + "\x00" + index.SubjectKey(s)))
	return prefix + hex.EncodeToString(sum[:])[:16]
}

// NewCRTB is the binding of template to s in cluster c.
func NewCRTB(c *v1.Cluster, template string, s v1.Subject) *v1.ClusterRoleTemplateBinding {
	return &v1.ClusterRoleTemplateBinding{
		ObjectMeta: metav1.ObjectMeta{Name: bindingName("crtb-", c.Name, template, s),
			OwnerReferences: []metav1.OwnerReference{ownerRef(c, "Cluster")}},
		Spec: v1.ClusterRoleTemplateBindingSpec{ClusterName: c.Name, RoleTemplateName: template, Subject: s},
	}
}

// NewPRTB is the binding of template to s in project p.
func NewPRTB(p *v1.Project, template string, s v1.Subject) *v1.ProjectRoleTemplateBinding {
	return &v1.ProjectRoleTemplateBinding{
		ObjectMeta: metav1.ObjectMeta{Name: bindingName("prtb-", p.Name, template, s),
			OwnerReferences: []metav1.OwnerReference{ownerRef(p, "Project")}},
		Spec: v1.ProjectRoleTemplateBindingSpec{ProjectName: p.Name, RoleTemplateName: template, Subject: s},
	}
}

func ownerRef(obj client.Object, kind string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: v1.GroupVersion.String(), Kind: kind, Name: obj.GetName(), UID: obj.GetUID()}
}
