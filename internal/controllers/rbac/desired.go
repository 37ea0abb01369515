package rbac

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/roles"
	"herd.dev/herd/internal/wellknown"
)

// Labels on every object this controller makes downstream. Objects without
// SourceLabel are never read, changed or deleted.
const (
	// SourceLabel says which kind of Herd object made the downstream one:
	// roletemplate, crtb or prtb.
	SourceLabel = "management.herd.dev/source"
	// OwnerLabel names the Herd object that made it.
	OwnerLabel = "management.herd.dev/owner"
)

// Name prefixes of downstream objects.
const (
	rolePrefix     = "herd-rt-"
	crtbPrefix     = "herd-crtb-"
	prtbPrefix     = "herd-prtb-"
	sourceTemplate = "roletemplate"
	sourceCRTB     = "crtb"
	sourcePRTB     = "prtb"
)

// Input is the management state that concerns one cluster.
type Input struct {
	Templates []v1.RoleTemplate
	CRTBs     []v1.ClusterRoleTemplateBinding // of this cluster
	PRTBs     []v1.ProjectRoleTemplateBinding // of this cluster's projects
	Projects  []v1.Project                    // of this cluster
	// Namespaces maps a project name to the downstream namespaces labelled into it.
	Namespaces map[string][]string
}

// Desired is what the cluster should hold.
type Desired struct {
	ClusterRoles        map[string]*rbacv1.ClusterRole
	ClusterRoleBindings map[string]*rbacv1.ClusterRoleBinding
	RoleBindings        map[string]*rbacv1.RoleBinding // by namespace/name
	// Problems are the objects that could not be rendered, by object, with why.
	Problems map[string]error
}

// RoleName is the downstream ClusterRole of a template.
func RoleName(template string) string { return rolePrefix + template }

func herdLabels(source, owner string) map[string]string {
	return wellknown.ManagedLabels(map[string]string{SourceLabel: source, OwnerLabel: owner})
}

// Render computes the desired downstream RBAC of one cluster.
func Render(in Input) Desired {
	d := Desired{ClusterRoles: map[string]*rbacv1.ClusterRole{}, ClusterRoleBindings: map[string]*rbacv1.ClusterRoleBinding{},
		RoleBindings: map[string]*rbacv1.RoleBinding{}, Problems: map[string]error{}}
	byName := map[string]*v1.RoleTemplate{}
	for i := range in.Templates {
		byName[in.Templates[i].Name] = &in.Templates[i]
	}
	get := func(name string) (*v1.RoleTemplate, error) { return byName[name], nil }
	valid := map[string]string{} // template -> context
	for _, t := range in.Templates {
		rules, err := roles.Effective(get, t.Name)
		if err == nil {
			err = checkName(rolePrefix, t.Name)
		}
		if err != nil {
			d.Problems["roletemplate/"+t.Name] = err
			continue
		}
		valid[t.Name] = t.Spec.Context
		d.ClusterRoles[RoleName(t.Name)] = &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: RoleName(t.Name), Labels: herdLabels(sourceTemplate, t.Name)},
			Rules:      rules,
		}
	}
	check := func(template, context string, s v1.Subject) error {
		switch ctx, ok := valid[template]; {
		case byName[template] == nil:
			return fmt.Errorf("%w: %s", roles.ErrNotFound, template)
		case !ok:
			return fmt.Errorf("role template %s is invalid", template)
		case ctx != context:
			return fmt.Errorf("role template %s is for %ss, not %ss", template, ctx, context)
		}
		return roles.CheckSubject(s)
	}
	for _, b := range in.CRTBs {
		err := check(b.Spec.RoleTemplateName, v1.ContextCluster, b.Spec.Subject)
		if err == nil {
			err = checkName(crtbPrefix, b.Name)
		}
		if err != nil {
			d.Problems["clusterroletemplatebinding/"+b.Name] = err
			continue
		}
		name := crtbPrefix + b.Name
		d.ClusterRoleBindings[name] = &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: herdLabels(sourceCRTB, b.Name)},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RoleName(b.Spec.RoleTemplateName)},
			Subjects:   []rbacv1.Subject{roles.Subject(b.Spec.Subject)},
		}
	}
	projects := map[string]bool{}
	for _, p := range in.Projects {
		projects[p.Name] = true
	}
	for _, b := range in.PRTBs {
		if !projects[b.Spec.ProjectName] {
			d.Problems["projectroletemplatebinding/"+b.Name] = fmt.Errorf("project %s does not exist", b.Spec.ProjectName)
			continue
		}
		err := check(b.Spec.RoleTemplateName, v1.ContextProject, b.Spec.Subject)
		if err == nil {
			err = checkName(prtbPrefix, b.Name)
		}
		if err != nil {
			d.Problems["projectroletemplatebinding/"+b.Name] = err
			continue
		}
		for _, ns := range in.Namespaces[b.Spec.ProjectName] {
			name := prtbPrefix + b.Name
			d.RoleBindings[ns+"/"+name] = &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: herdLabels(sourcePRTB, b.Name)},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RoleName(b.Spec.RoleTemplateName)},
				Subjects:   []rbacv1.Subject{roles.Subject(b.Spec.Subject)},
			}
		}
	}
	return d
}

// checkName reports whether a Herd object's name can name its downstream
// object (prefix+name) and be its owner label's value.
func checkName(prefix, name string) error {
	if errs := validation.IsValidLabelValue(name); len(errs) > 0 {
		return fmt.Errorf("name %s cannot label downstream objects: %s", name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(prefix + name); len(errs) > 0 {
		return fmt.Errorf("name %s cannot name downstream objects: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// sameLabels reports whether have carries every label of want.
func sameLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func sameSubjects(a, b []rbacv1.Subject) bool {
	return slices.Equal(a, b)
}
