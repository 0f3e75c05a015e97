package ward.rules.namespace_scoped_ingress_test

import data.ward.rules.namespace_scoped_ingress as rule

_np(spec) := {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}

_in(obj) := {"review": {"object": obj, "operation": "CREATE", "namespace": "shop"}}

_with_peers(peers) := _np({"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": peers}]})

_msg(rule_index, peer_index, whom) := sprintf(
	"NetworkPolicy \"web\" ingress rule %d peer %d has an empty namespaceSelector, which admits %s from every namespace: scope it with matchLabels on kubernetes.io/metadata.name",
	[rule_index, peer_index, whom],
)

_finding(i, j, whom) := {"msg": _msg(i, j, whom), "details": {"path": ["spec", "ingress", i, "from", j, "namespaceSelector"]}}

test_empty_namespace_selector_alone if {
	rule.violation == {_finding(0, 0, "every pod")} with input as _in(_with_peers([{"namespaceSelector": {}}]))
}

test_empty_namespace_selector_with_pod_selector if {
	peer := {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "frontend"}}}
	rule.violation == {_finding(0, 0, "the pods its podSelector selects")} with input as _in(_with_peers([peer]))
}

test_empty_namespace_selector_with_empty_pod_selector if {
	peer := {"namespaceSelector": {}, "podSelector": {}}
	rule.violation == {_finding(0, 0, "every pod")} with input as _in(_with_peers([peer]))
}

test_empty_forms_of_a_namespace_selector if {
	every sel in [
		{},
		{"matchLabels": {}},
		{"matchExpressions": []},
		{"matchLabels": {}, "matchExpressions": []},
		{"matchLabels": null, "matchExpressions": null},
	] {
		rule.violation == {_finding(0, 0, "every pod")} with input as _in(_with_peers([{"namespaceSelector": sel}]))
	}
}

test_scoped_peers_are_fine if {
	every peer in [
		{"podSelector": {"matchLabels": {"app": "frontend"}}},
		{"podSelector": {}},
		{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}},
		{"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}},
		{"namespaceSelector": {"matchLabels": {}, "matchExpressions": [{"key": "team", "operator": "Exists"}]}},
		{"namespaceSelector": null, "podSelector": {"matchLabels": {"app": "frontend"}}},
		{"ipBlock": {"cidr": "10.0.0.0/8"}},
	] {
		count(rule.violation) == 0 with input as _in(_with_peers([peer]))
	}
}

test_each_bad_peer_is_reported_with_its_indexes if {
	np := _np({
		"podSelector": {},
		"ingress": [
			{"from": [{"podSelector": {}}, {"namespaceSelector": {}}]},
			{"ports": [{"port": 80}]},
			{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "x"}}}]},
		],
	})
	rule.violation == {
		_finding(0, 1, "every pod"),
		_finding(2, 0, "the pods its podSelector selects"),
	} with input as _in(np)
}

test_egress_peers_are_not_checked if {
	np := _np({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"namespaceSelector": {}}]}]})
	count(rule.violation) == 0 with input as _in(np)
}

test_ingress_rules_of_an_egress_only_policy_are_not_checked if {
	np := _np({"podSelector": {}, "policyTypes": ["Egress"], "ingress": [{"from": [{"namespaceSelector": {}}]}]})
	count(rule.violation) == 0 with input as _in(np)
}

test_policy_types_with_ingress_is_checked if {
	np := _np({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{"from": [{"namespaceSelector": {}}]}]})
	rule.violation == {_finding(0, 0, "every pod")} with input as _in(np)
}

test_extensions_api_version if {
	np := object.union(_with_peers([{"namespaceSelector": {}}]), {"apiVersion": "extensions/v1beta1"})
	rule.violation == {_finding(0, 0, "every pod")} with input as _in(np)
}

test_other_kinds_are_not_checked if {
	crd := object.union(_with_peers([{"namespaceSelector": {}}]), {"apiVersion": "crd.projectcalico.org/v1"})
	count(rule.violation) == 0 with input as _in(crd)
	queue := {"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "ClusterQueue", "spec": {"namespaceSelector": {}}}
	count(rule.violation) == 0 with input as _in(queue)
}

test_malformed_rules_are_skipped if {
	np := _np({"ingress": [null, {"from": null}, {"from": ["x", {"namespaceSelector": "all"}]}]})
	count(rule.violation) == 0 with input as _in(np)
}

test_delete_is_not_checked_update_is if {
	np := _with_peers([{"namespaceSelector": {}}])
	count(rule.violation) == 0 with input as {"review": {"operation": "DELETE", "oldObject": np}}
	rule.violation == {_finding(0, 0, "every pod")} with input as {"review": {"operation": "UPDATE", "object": np, "oldObject": np}}
}
