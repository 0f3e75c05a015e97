# NetworkPolicy helpers.
#
# Shared helpers for the NetworkPolicy rules: recognising a NetworkPolicy by kind and
# API group, the policy types it governs (with Kubernetes' defaulting), deny-all
# policies, ingress peers and ipBlocks with their object paths, and the policies of
# one namespace in the inventory.
package ward.lib.netpol

import data.ward.lib.k8s

# _groups are the API groups a NetworkPolicy was ever served from.
_groups := {"networking.k8s.io", "extensions"}

# is_network_policy_kind holds when (apiVersion, kind) names a NetworkPolicy.
is_network_policy_kind(api_version, kind) if {
	kind == "NetworkPolicy"
	k8s.api_group(api_version) in _groups
}

# is_network_policy holds when obj is a NetworkPolicy (networking.k8s.io or extensions).
is_network_policy(obj) if is_network_policy_kind(obj.apiVersion, obj.kind)

# _spec returns the spec of a policy, {} when it has none.
_spec(policy) := spec if {
	spec := object.get(policy, "spec", {})
	is_object(spec)
}

_spec(policy) := {} if not is_object(object.get(policy, "spec", {}))

# _rules returns the ingress or egress rules of a policy, [] when absent or null.
_rules(policy, field) := rules if {
	rules := object.get(_spec(policy), field, [])
	is_array(rules)
}

_rules(policy, field) := [] if {
	not is_array(object.get(_spec(policy), field, []))
}

# _policy_types returns spec.policyTypes when it is a non-empty list, undefined otherwise.
_policy_types(policy) := types if {
	types := _spec(policy).policyTypes
	is_array(types)
	count(types) > 0
}

# governs holds when policy governs traffic of direction type ("Ingress" or "Egress"),
# as Kubernetes defaults policyTypes: when policyTypes is absent, null or [], Ingress is
# always governed and Egress only when the policy has egress rules.
governs(policy, type) if type in _policy_types(policy)

governs(policy, "Ingress") if not _policy_types(policy)

governs(policy, "Egress") if {
	not _policy_types(policy)
	count(_rules(policy, "egress")) > 0
}

# _rule_field maps a policy type to the field that holds its rules.
_rule_field := {"Ingress": "ingress", "Egress": "egress"}

# selects_all_pods holds when spec.podSelector selects every pod of the namespace.
selects_all_pods(policy) if k8s.selector_empty(object.get(_spec(policy), "podSelector", null))

# denies_all holds when policy is a deny-all policy for type ("Ingress" or "Egress"):
# it selects all pods, governs that type, and has no rules of that type (absent, null
# or []). For Egress, governing it needs policyTypes to name Egress explicitly, since an
# absent policyTypes counts Egress only when there are egress rules.
denies_all(policy, type) if {
	selects_all_pods(policy)
	governs(policy, type)
	count(_rules(policy, _rule_field[type])) == 0
}

# policies returns every NetworkPolicy among the inventory objects of one namespace
# (ns_objects is data.inventory.namespace[ns]: apiVersion -> kind -> name -> object),
# of any apiVersion of group networking.k8s.io or extensions, as {"name", "object"}.
policies(ns_objects) := {p |
	some api_version, kinds in ns_objects
	is_network_policy_kind(api_version, "NetworkPolicy")
	some name, obj in kinds.NetworkPolicy
	p := {"name": name, "object": obj}
}

# ingress_peers returns every peer of spec.ingress[i].from[j] of a policy, as
# {"peer", "rule": i, "index": j, "path": ["spec", "ingress", i, "from", j]}.
ingress_peers(policy) := {p |
	some i, rule in _rules(policy, "ingress")
	is_object(rule)
	peers := object.get(rule, "from", [])
	is_array(peers)
	some j, peer in peers
	is_object(peer)
	p := {"peer": peer, "rule": i, "index": j, "path": ["spec", "ingress", i, "from", j]}
}

# _peer_fields maps the rules field to the field of a rule that holds its peers.
_peer_fields := {"ingress": "from", "egress": "to"}

# ip_blocks returns every ipBlock of spec.ingress[].from[] and spec.egress[].to[], as
# {"ipBlock": <the ipBlock object>, "path": [..., "ipBlock"]}.
ip_blocks(policy) := {b |
	some field, peer_field in _peer_fields
	some i, rule in _rules(policy, field)
	is_object(rule)
	peers := object.get(rule, peer_field, [])
	is_array(peers)
	some j, peer in peers
	is_object(peer.ipBlock)
	b := {"ipBlock": peer.ipBlock, "path": ["spec", field, i, peer_field, j, "ipBlock"]}
}
