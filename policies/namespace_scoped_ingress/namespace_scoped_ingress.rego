# METADATA
# title: NetworkPolicy ingress peers are scoped to namespaces
# description: |
#   No NetworkPolicy ingress peer may admit traffic from every namespace. A peer
#   spec.ingress[i].from[j] violates when its namespaceSelector is present (not null) and
#   empty: {}, or matchLabels empty or absent AND matchExpressions empty or absent. It
#   violates with or without a podSelector beside it: "namespaceSelector: {}" with
#   "podSelector: {matchLabels: {app: frontend}}" admits every frontend pod of every
#   namespace.
#
#   Fine: a peer with only a podSelector (pods of the policy's own namespace), a
#   namespaceSelector with labels or expressions, an ipBlock peer, a null
#   namespaceSelector. Egress peers are not checked. A policy whose policyTypes is
#   given and does not hold Ingress is not checked either: Kubernetes ignores its
#   ingress rules, so they admit nothing.
#   NetworkPolicies of networking.k8s.io and extensions are checked; deletions are not.
# custom:
#   id: namespace-scoped-ingress
#   severity: error
#   remediation: >-
#     Give the namespaceSelector labels that name the namespaces allowed in, such as
#     matchLabels with kubernetes.io/metadata.name set to the namespace name.
#   why: |
#     An empty namespaceSelector selects every namespace of the cluster, present and
#     future. A policy written to let "the frontend" reach the backend with
#     namespaceSelector {} and podSelector app=frontend lets any pod labelled
#     app=frontend in any namespace in, and labels are chosen by whoever can create a
#     pod: a tenant, a compromised CI job, a Helm chart of another team. The namespace
#     controller sets the immutable label kubernetes.io/metadata.name on every
#     namespace (Kubernetes 1.21 and later), so a peer can name exactly the namespaces
#     it trusts.
#   exemption: |
#     Put ignore.ward.dev/namespace-scoped-ingress: "<reason>" in the metadata.annotations
#     of the NetworkPolicy that is meant to admit every namespace (a shared ingress
#     controller or a monitoring endpoint); it exempts every peer of that policy.
#   enforcement: deny
package ward.rules.namespace_scoped_ingress

import data.ward.lib.k8s
import data.ward.lib.netpol

violation contains {"msg": msg, "details": {"path": path}} if {
	input.review.object.kind == "NetworkPolicy"
	k8s.operation(input.review) != "DELETE"
	policy := input.review.object
	netpol.is_network_policy(policy)
	netpol.governs(policy, "Ingress")
	some p in netpol.ingress_peers(policy)
	sel := object.get(p.peer, "namespaceSelector", null)
	sel != null
	k8s.selector_empty(sel)
	msg := sprintf("%s: %s", [
		sprintf(
			"NetworkPolicy %q ingress rule %d peer %d has an empty namespaceSelector, which admits %s from every namespace",
			[_name(policy), p.rule, p.index, _whom(p.peer)],
		),
		"scope it with matchLabels on kubernetes.io/metadata.name",
	])
	path := array.concat(p.path, ["namespaceSelector"])
}

_name(policy) := policy.metadata.name if is_string(policy.metadata.name)

_name(policy) := "" if not is_string(object.get(policy, ["metadata", "name"], null))

_whom(peer) := "the pods its podSelector selects" if not k8s.selector_empty(object.get(peer, "podSelector", null))

_whom(peer) := "every pod" if k8s.selector_empty(object.get(peer, "podSelector", null))
