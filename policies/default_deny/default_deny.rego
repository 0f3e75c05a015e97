# METADATA
# title: Namespaces with workloads have a default-deny NetworkPolicy
# description: |
#   Every namespace that holds pod-bearing objects (Pod, Deployment, StatefulSet,
#   DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate) must hold a
#   deny-all ingress NetworkPolicy.
#
#   A NetworkPolicy (networking.k8s.io or extensions, any apiVersion, in any file of the
#   manifest set or, in the cluster, in the webhook's cache) denies all ingress when:
#   - spec.podSelector selects every pod: {}, null or absent, or with matchLabels empty
#     or absent AND matchExpressions empty or absent;
#   - it governs Ingress: spec.policyTypes holds Ingress, or is absent, null or [] (then
#     Kubernetes always counts Ingress);
#   - it has no ingress rules: spec.ingress absent, null or [].
#   Not deny-all: a podSelector with labels or expressions; policyTypes [Egress] only;
#   "ingress: [{}]" (one empty rule allows everything); any ingress rule at all.
#
#   The parameter policyTypes (default [Ingress]) names the directions that must be
#   denied. With [Ingress, Egress] the namespace also needs deny-all egress, in the same
#   policy or another one: it selects every pod, names Egress explicitly in policyTypes
#   (an absent policyTypes counts Egress only when the policy has egress rules, so it
#   never denies all egress), and has no egress rules (egress absent, null or []). The
#   message says which direction is missing.
#
#   The rule fires on every pod-bearing object created or updated in a namespace
#   without such a policy; each finding carries the namespace as its key, so ward
#   reports a namespace once, at its first pod-bearing object. The namespace is the
#   object's own, or the --namespace default when it names none; cluster-scoped
#   objects are not concerned.
#
#   In the cluster it also fires on an UPDATE or DELETE of a NetworkPolicy that was
#   deny-all and no longer is (or is gone), when no other deny-all policy of another
#   name remains in its namespace and pod-bearing objects remain there. Deletions made
#   by the namespace controller, or in a namespace that is terminating, are not
#   reported.
# custom:
#   id: default-deny
#   severity: error
#   remediation: >-
#     Add a NetworkPolicy to the namespace that selects all pods (podSelector {}), lists
#     Ingress in policyTypes and has no ingress rules, then allow the traffic each
#     workload needs with further policies.
#   why: |
#     Kubernetes lets every pod receive traffic from every other pod of the cluster until
#     a NetworkPolicy selects it. A namespace with no deny-all policy is open by
#     default: a new workload, a forgotten debug pod or a mislabelled pod is reachable
#     from any compromised pod anywhere in the cluster, which is how lateral movement
#     works. Starting from deny-all and allowing only what each workload needs (the
#     Kubernetes documentation's "default deny all ingress traffic" recipe, the NSA/CISA
#     Kubernetes Hardening Guide, the CIS benchmark's "ensure that all namespaces have
#     network policies defined") makes every new workload closed until someone decides
#     otherwise.
#   exemption: |
#     The finding belongs to the namespace, not to one object: it is reported at the
#     namespace's first pod-bearing object, and ignore.ward.dev/default-deny on that
#     object only moves it to the next one. To exempt a whole namespace (one that
#     legitimately accepts traffic from everywhere, such as an ingress controller's),
#     list it in excludedNamespaces of .ward.yaml, or put
#     ignore.ward.dev/default-deny: "<reason>" on every pod-bearing object of that
#     namespace (the Deployment, StatefulSet, DaemonSet, Job or CronJob, and in the
#     cluster its pod template too, since its Pods are admitted on their own). To exempt
#     the deletion of a policy in the cluster, annotate that NetworkPolicy.
#   parameters:
#     policyTypes: [Ingress]
#   enforcement: warn
package ward.rules.default_deny

import data.ward.lib.k8s
import data.ward.lib.netpol

_types_param := p if {
	p := input.parameters.policyTypes
	is_array(p)
} else := ["Ingress"]

# _required lists the directions that need a deny-all policy, Ingress first.
_required := [t | some t in ["Ingress", "Egress"]; t in _wanted]

_wanted contains t if {
	some t in ["Ingress", "Egress"]
	some p in _types_param
	is_string(p)
	lower(p) == lower(t)
}

_namespace := k8s.review_namespace(input.review)

# _ns_objects is what the inventory holds for the namespace of the review; it is the
# only part of the inventory the rule reads.
_ns_objects := objs if {
	objs := data.inventory.namespace[_namespace]
} else := {}

_policies := netpol.policies(_ns_objects)

# _covered holds when one of policies is a deny-all policy for direction type.
_covered(policies, type) if {
	some p in policies
	netpol.denies_all(p.object, type)
}

_directions(types) := concat(" and ", [lower(t) | some t in types])

_advice(types) := sprintf(
	"add one that selects all pods (podSelector: {}) with policyTypes [%s] and no %s rules",
	[concat(", ", types), concat(" or ", [lower(t) | some t in types])],
)

# A pod-bearing object created or updated in a namespace without deny-all policies.
violation contains {"msg": msg, "details": {"path": ["metadata", "namespace"], "key": ns}} if {
	input.review.object.kind in {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "PodTemplate"}
	k8s.operation(input.review) in {"CREATE", "UPDATE"}
	k8s.is_pod_bearing(input.review.object)
	ns := _namespace
	ns != ""
	missing := [t | some t in _required; not _ns_covered(ns, t)]
	count(missing) > 0
	msg := sprintf(
		"namespace %q has no default-deny NetworkPolicy for %s: %s",
		[ns, _directions(missing), _advice(missing)],
	)
}

# In the cluster: a NetworkPolicy update or deletion that removes the namespace's last
# deny-all policy while workloads remain.
violation contains {"msg": msg, "details": {"path": path, "key": ns}} if {
	input.review.oldObject.kind == "NetworkPolicy"
	op := k8s.operation(input.review)
	op in {"UPDATE", "DELETE"}
	old := input.review.oldObject
	netpol.is_network_policy(old)
	ns := _namespace
	ns != ""
	not _namespace_going_away
	name := old.metadata.name
	others := {p | some p in _policies; p.name != name}
	lost := [t |
		some t in _required
		netpol.denies_all(old, t)
		not _still_denies(op, object.get(input.review, "object", null), t)
		not _covered(others, t)
	]
	count(lost) > 0
	workloads := count(k8s.pod_bearing(_ns_objects))
	workloads > 0
	path := _path[op]
	msg := sprintf(
		"%s NetworkPolicy %q leaves %d workload(s) in namespace %q without a default-deny NetworkPolicy for %s",
		[_verb[op], name, workloads, ns, _directions(lost)],
	)
}

_path := {"UPDATE": ["spec"], "DELETE": ["metadata", "name"]}

_verb := {"UPDATE": "weakening", "DELETE": "deleting"}

_still_denies("UPDATE", new, type) if netpol.denies_all(new, type)

# _namespace_going_away holds for requests of the namespace controller (it deletes
# everything of a terminating namespace) and for namespaces marked for deletion.
_namespace_going_away if {
	input.review.userInfo.username == "system:serviceaccount:kube-system:namespace-controller"
}

_namespace_going_away if {
	data.inventory.cluster.v1.Namespace[_namespace].metadata.deletionTimestamp
}

# _ns_covered says whether namespace ns holds a deny-all policy for direction type. It is
# a function of the namespace name alone, always true or false, so that ward computes it
# once per namespace and not once per object. It reads data.inventory.namespace[ns], that
# namespace's objects alone, and hands that to no helper: ward shares only results keyed
# by scalars, and a helper called with the namespace's objects would be computed again.
# It walks the namespace by reference (the apiVersions as keys, then the NetworkPolicies
# of each) rather than iterating over its value: ward lint builds a namespace's part of
# the inventory as it is read, and so builds its NetworkPolicies alone.
_ns_covered(ns, type) := true if {
	some api_version
	data.inventory.namespace[ns][api_version]
	netpol.is_network_policy_kind(api_version, "NetworkPolicy")
	some policy in data.inventory.namespace[ns][api_version].NetworkPolicy
	netpol.denies_all(policy, type)
} else := false
