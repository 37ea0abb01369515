package importmanifest

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"
)

// projectLabelsPolicy names the admission policy that keeps the project
// labels of namespaces Herd's to set.
const projectLabelsPolicy = "herd-project-labels"

// projectLabelsExpression allows a namespace's project labels to be set
// or changed only by the agent's service account (through which Herd moves
// namespaces after checking the caller's rights), Herd's administrators and
// the cluster's own administrators. A project owner may otherwise edit the
// namespaces of their project, labels included: that would move a
// namespace between projects behind Herd's back.
const projectLabelsExpression = `
request.userInfo.username == 'system:serviceaccount:` + Namespace + `:` + agentName + `' ||
'system:masters' in request.userInfo.groups ||
'` + AdminsGroup + `' in request.userInfo.groups ||
(variables.project == variables.oldProject && variables.uid == variables.oldUID)`

func labelOf(obj, key string) string {
	return `(has(` + obj + `.metadata.labels) && '` + key + `' in ` + obj + `.metadata.labels ? ` + obj + `.metadata.labels['` + key + `'] : '')`
}

func oldLabelOf(key string) string {
	return `(oldObject == null ? '' : ` + labelOf("oldObject", key) + `)`
}

// projectLabelsObjects are the policy and its binding.
func projectLabelsObjects() []any {
	const projectKey, uidKey = "management.herd.dev/project", "management.herd.dev/project-uid"
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   typeMeta("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"),
		ObjectMeta: meta("", projectLabelsPolicy, nil),
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"namespaces"}},
				},
			}}},
			Variables: []admissionv1.Variable{
				{Name: "project", Expression: labelOf("object", projectKey)},
				{Name: "uid", Expression: labelOf("object", uidKey)},
				{Name: "oldProject", Expression: oldLabelOf(projectKey)},
				{Name: "oldUID", Expression: oldLabelOf(uidKey)},
			},
			Validations: []admissionv1.Validation{{
				Expression: projectLabelsExpression,
				Message:    "only Herd moves namespaces into and out of projects: use `herdctl projects add-namespace` or `remove-namespace`",
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   typeMeta("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"),
		ObjectMeta: meta("", projectLabelsPolicy, nil),
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        projectLabelsPolicy,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	return []any{policy, binding}
}
