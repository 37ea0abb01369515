package importmanifest

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"

	"herd.dev/herd/internal/wellknown"
)

// ProjectGuardPolicy names the admission policy (and its binding) that
// keeps namespaces in their projects.
const ProjectGuardPolicy = "herd-project-labels"

// trusted is who may move namespaces between projects and change their
// pod security labels without further checks: the agent's service account
// (through which Herd moves namespaces after checking the caller's rights),
// Herd's administrators and the cluster's own administrators.
const trusted = `request.userInfo.username == 'system:serviceaccount:` + wellknown.Namespace + `:` + agentName + `' ||
'system:masters' in request.userInfo.groups ||
'` + wellknown.AdminsGroup + `' in request.userInfo.groups`

// projectLabelsExpression allows a namespace's project labels to be set or
// changed only by the trusted. A project owner may otherwise edit the
// namespaces of their project, labels included, by any path (the
// namespace, its status, its finalize subresource): that would move a
// namespace between projects, or out of Herd's sight, behind Herd's back.
const projectLabelsExpression = trusted + ` ||
(variables.project == variables.oldProject && variables.uid == variables.oldUID)`

// podSecurityExpression allows a namespace's pod security labels
// (pod-security.kubernetes.io/*) to change only with the updatepsa right
// on Herd projects, which cluster owners hold and project roles do not: a
// project owner must not lift the pod security of their namespaces.
const podSecurityExpression = trusted + ` ||
(variables.psa.all(l, l in variables.oldPSA) && variables.oldPSA.all(l, l in variables.psa)) ||
authorizer.group('management.herd.dev').resource('projects').check('updatepsa').allowed()`

func labelOf(obj, key string) string {
	return `(has(` + obj + `.metadata.labels) && '` + key + `' in ` + obj + `.metadata.labels ? ` + obj + `.metadata.labels['` + key + `'] : '')`
}

func oldLabelOf(key string) string {
	return `(oldObject == null ? '' : ` + labelOf("oldObject", key) + `)`
}

// psaLabels lists obj's pod security labels as key=value.
func psaLabels(obj string) string {
	return `(has(` + obj + `.metadata.labels) ? ` + obj + `.metadata.labels.filter(k, k.startsWith('pod-security.kubernetes.io/')).map(k, k + '=' + ` +
		obj + `.metadata.labels[k]) : [])`
}

// ProjectGuardObjects are the policy and its binding, as the import
// manifest installs them and the cluster's controllers keep them.
func ProjectGuardObjects() (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	const projectKey, uidKey = "management.herd.dev/project", "management.herd.dev/project-uid"
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   typeMeta("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"),
		ObjectMeta: meta("", ProjectGuardPolicy, nil),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					// Every path that writes a namespace's labels.
					Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
						Resources: []string{"namespaces", "namespaces/status", "namespaces/finalize"}},
				},
			}}},
			Variables: []admissionv1.Variable{
				{Name: "project", Expression: labelOf("object", projectKey)},
				{Name: "uid", Expression: labelOf("object", uidKey)},
				{Name: "oldProject", Expression: oldLabelOf(projectKey)},
				{Name: "oldUID", Expression: oldLabelOf(uidKey)},
				{Name: "psa", Expression: psaLabels("object")},
				{Name: "oldPSA", Expression: `(oldObject == null ? [] : ` + psaLabels("oldObject") + `)`},
			},
			Validations: []admissionv1.Validation{{
				Expression: projectLabelsExpression,
				Message:    "only Herd moves namespaces into and out of projects: use `herdctl projects add-namespace` or `remove-namespace`",
			}, {
				Expression: podSecurityExpression,
				Message:    "changing pod-security.kubernetes.io labels takes the updatepsa right on projects (cluster owners have it, project roles do not)",
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   typeMeta("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"),
		ObjectMeta: meta("", ProjectGuardPolicy, nil),
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        ProjectGuardPolicy,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	return policy, binding
}

// projectLabelsObjects are the policy and its binding, for the manifest.
func projectLabelsObjects() []any {
	policy, binding := ProjectGuardObjects()
	return []any{policy, binding}
}
