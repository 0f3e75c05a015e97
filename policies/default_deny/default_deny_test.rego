package ward.rules.default_deny_test

import data.ward.rules.default_deny as rule

_pod := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"containers": [{"name": "web"}]}}

_deploy := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"}}

_in(obj, types) := {
	"review": {"object": obj, "operation": "CREATE", "namespace": "shop", "name": obj.metadata.name},
	"parameters": {"policyTypes": types},
}

_np(name, spec) := {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": "shop"}, "spec": spec}

_deny_ingress := {"podSelector": {}, "policyTypes": ["Ingress"]}

_deny_egress := {"podSelector": {}, "policyTypes": ["Egress"]}

_deny_both := {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}

# _inv builds an inventory holding the pod, the deployment and the given policies in shop.
_inv(policies) := {"namespace": {"shop": {
	"v1": {"Pod": {"web": _pod}},
	"apps/v1": {"Deployment": {"api": _deploy}},
	"networking.k8s.io/v1": {"NetworkPolicy": {p.metadata.name: p | some p in policies}},
}}}

_ingress_msg := "namespace \"shop\" has no default-deny NetworkPolicy for ingress: add one that selects all pods (podSelector: {}) with policyTypes [Ingress] and no ingress rules"

_egress_msg := "namespace \"shop\" has no default-deny NetworkPolicy for egress: add one that selects all pods (podSelector: {}) with policyTypes [Egress] and no egress rules"

_both_msg := "namespace \"shop\" has no default-deny NetworkPolicy for ingress and egress: add one that selects all pods (podSelector: {}) with policyTypes [Ingress, Egress] and no ingress or egress rules"

_finding(msg) := {"msg": msg, "details": {"path": ["metadata", "namespace"], "key": "shop"}}

# --- workloads in unprotected and protected namespaces -----------------------------

test_no_policy_at_all if {
	rule.violation == {_finding(_ingress_msg)} with input as _in(_pod, ["Ingress"])
		with data.inventory as _inv([])
}

test_every_pod_bearing_object_fires_with_the_namespace_as_key if {
	rule.violation == {_finding(_ingress_msg)} with input as _in(_deploy, ["Ingress"])
		with data.inventory as _inv([])
}

test_deny_all_ingress_policy_protects if {
	count(rule.violation) == 0 with input as _in(_pod, ["Ingress"])
		with data.inventory as _inv([_np("default-deny", _deny_ingress)])
}

test_deny_all_variants_protect if {
	every spec in [
		{"podSelector": {}},
		{"podSelector": {}, "ingress": []},
		{"podSelector": null, "ingress": null},
		{"podSelector": {"matchLabels": {}, "matchExpressions": []}, "policyTypes": ["Ingress"]},
		{"podSelector": {"matchLabels": null}},
		{"podSelector": {}, "egress": []},
		_deny_both,
		{"podSelector": {}, "policyTypes": ["Egress", "Ingress"], "egress": [{}], "ingress": []},
	] {
		count(rule.violation) == 0 with input as _in(_pod, ["Ingress"])
			with data.inventory as _inv([_np("p", spec)])
	}
}

test_policies_that_do_not_deny_all_ingress if {
	every spec in [
		{"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]},
		{"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}},
		_deny_egress,
		{"podSelector": {}, "ingress": [{}]},
		{"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]},
		{"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": [{"port": 80}]}]},
	] {
		rule.violation == {_finding(_ingress_msg)} with input as _in(_pod, ["Ingress"])
			with data.inventory as _inv([_np("p", spec)])
	}
}

test_extensions_api_version_counts if {
	old := {"apiVersion": "extensions/v1beta1", "kind": "NetworkPolicy", "metadata": {"name": "deny"}, "spec": {"podSelector": {}}}
	inv := {"namespace": {"shop": {"extensions/v1beta1": {"NetworkPolicy": {"deny": old}}}}}
	count(rule.violation) == 0 with input as _in(_pod, ["Ingress"]) with data.inventory as inv
}

test_policy_of_another_group_does_not_count if {
	crd := {"apiVersion": "cilium.io/v2", "kind": "NetworkPolicy", "metadata": {"name": "deny"}, "spec": {"podSelector": {}}}
	inv := {"namespace": {"shop": {"cilium.io/v2": {"NetworkPolicy": {"deny": crd}}}}}
	rule.violation == {_finding(_ingress_msg)} with input as _in(_pod, ["Ingress"]) with data.inventory as inv
}

test_policy_in_another_namespace_does_not_count if {
	inv := {"namespace": {
		"shop": {"v1": {"Pod": {"web": _pod}}},
		"other": {"networking.k8s.io/v1": {"NetworkPolicy": {"deny": _np("deny", _deny_ingress)}}},
	}}
	rule.violation == {_finding(_ingress_msg)} with input as _in(_pod, ["Ingress"]) with data.inventory as inv
}

test_one_deny_all_among_others_protects if {
	allow := _np("allow-web", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]})
	count(rule.violation) == 0 with input as _in(_pod, ["Ingress"])
		with data.inventory as _inv([allow, _np("deny", _deny_ingress)])
}

test_objects_that_hold_no_pods_do_not_fire if {
	svc := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "shop"}}
	crd := {"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "shop"}}
	count(rule.violation) == 0 with input as _in(svc, ["Ingress"]) with data.inventory as _inv([])
	count(rule.violation) == 0 with input as _in(crd, ["Ingress"]) with data.inventory as _inv([])
	count(rule.violation) == 0 with input as _in(_np("p", {}), ["Ingress"]) with data.inventory as _inv([])
}

test_cluster_scoped_review_does_not_fire if {
	inp := {"review": {"object": _pod, "operation": "CREATE", "namespace": ""}, "parameters": {"policyTypes": ["Ingress"]}}
	count(rule.violation) == 0 with input as inp with data.inventory as _inv([])
}

test_namespace_falls_back_to_metadata if {
	inp := {"review": {"object": _pod}, "parameters": {"policyTypes": ["Ingress"]}}
	rule.violation == {_finding(_ingress_msg)} with input as inp with data.inventory as _inv([])
}

test_update_fires_delete_does_not if {
	upd := {"review": {"object": _pod, "oldObject": _pod, "operation": "UPDATE", "namespace": "shop"}}
	rule.violation == {_finding(_ingress_msg)} with input as upd with data.inventory as _inv([])
	del := {"review": {"oldObject": _pod, "operation": "DELETE", "namespace": "shop"}}
	count(rule.violation) == 0 with input as del with data.inventory as _inv([])
}

test_default_parameter_is_ingress if {
	inp := {"review": {"object": _pod, "operation": "CREATE", "namespace": "shop"}}
	rule.violation == {_finding(_ingress_msg)} with input as inp with data.inventory as _inv([_np("e", _deny_egress)])
}

# --- policyTypes [Ingress, Egress] ---------------------------------------------------

test_both_required_none_present if {
	rule.violation == {_finding(_both_msg)} with input as _in(_pod, ["Ingress", "Egress"])
		with data.inventory as _inv([])
}

test_both_required_only_ingress_present if {
	rule.violation == {_finding(_egress_msg)} with input as _in(_pod, ["Ingress", "Egress"])
		with data.inventory as _inv([_np("deny", _deny_ingress)])
}

test_both_required_only_egress_present if {
	rule.violation == {_finding(_ingress_msg)} with input as _in(_pod, ["ingress", "EGRESS"])
		with data.inventory as _inv([_np("deny", _deny_egress)])
}

test_both_required_one_policy if {
	count(rule.violation) == 0 with input as _in(_pod, ["Ingress", "Egress"])
		with data.inventory as _inv([_np("deny", _deny_both)])
}

test_both_required_two_policies if {
	count(rule.violation) == 0 with input as _in(_pod, ["Egress", "Ingress"])
		with data.inventory as _inv([_np("deny-in", _deny_ingress), _np("deny-out", _deny_egress)])
}

test_egress_needs_explicit_policy_type if {
	# an absent policyTypes counts Egress only when there are egress rules
	rule.violation == {_finding(_egress_msg)} with input as _in(_pod, ["Ingress", "Egress"])
		with data.inventory as _inv([_np("deny", {"podSelector": {}, "ingress": [], "egress": []})])
}

test_egress_rules_are_not_deny_all if {
	spec := {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{"to": [{"podSelector": {}}]}]}
	rule.violation == {_finding(_egress_msg)} with input as _in(_pod, ["Ingress", "Egress"])
		with data.inventory as _inv([_np("deny", spec)])
}

# --- in the cluster: weakening or deleting the last deny-all policy ----------------------

_change(op, old, new) := {"review": {
	"operation": op, "object": new, "oldObject": old, "namespace": "shop",
	"name": old.metadata.name, "userInfo": {"username": "alice"},
}}

_weak := _np("default-deny", {"podSelector": {}, "ingress": [{}]})

test_weakening_the_last_deny_all if {
	old := _np("default-deny", _deny_ingress)
	rule.violation == {{
		"msg": "weakening NetworkPolicy \"default-deny\" leaves 2 workload(s) in namespace \"shop\" without a default-deny NetworkPolicy for ingress",
		"details": {"path": ["spec"], "key": "shop"},
	}} with input as _change("UPDATE", old, _weak) with data.inventory as _inv([old])
}

test_deleting_the_last_deny_all if {
	old := _np("default-deny", _deny_ingress)
	rule.violation == {{
		"msg": "deleting NetworkPolicy \"default-deny\" leaves 2 workload(s) in namespace \"shop\" without a default-deny NetworkPolicy for ingress",
		"details": {"path": ["metadata", "name"], "key": "shop"},
	}} with input as _change("DELETE", old, null) with data.inventory as _inv([old])
}

test_deleting_with_no_object_in_the_review if {
	old := _np("default-deny", _deny_ingress)
	inp := {"review": {"operation": "DELETE", "oldObject": old, "namespace": "shop", "name": "default-deny"}}
	rule.violation == {{
		"msg": "deleting NetworkPolicy \"default-deny\" leaves 2 workload(s) in namespace \"shop\" without a default-deny NetworkPolicy for ingress",
		"details": {"path": ["metadata", "name"], "key": "shop"},
	}} with input as inp with data.inventory as _inv([old])
}

test_deleting_the_last_deny_all_both_directions if {
	old := _np("default-deny", _deny_both)
	rule.violation == {{
		"msg": "deleting NetworkPolicy \"default-deny\" leaves 2 workload(s) in namespace \"shop\" without a default-deny NetworkPolicy for ingress and egress",
		"details": {"path": ["metadata", "name"], "key": "shop"},
	}} with input as object.union(_change("DELETE", old, null), {"parameters": {"policyTypes": ["Ingress", "Egress"]}})
		with data.inventory as _inv([old])
}

test_deleting_when_another_deny_all_remains if {
	old := _np("default-deny", _deny_ingress)
	count(rule.violation) == 0 with input as _change("DELETE", old, null)
		with data.inventory as _inv([old, _np("deny-everything", _deny_both)])
}

test_deleting_when_no_workload_remains if {
	old := _np("default-deny", _deny_ingress)
	inv := {"namespace": {"shop": {
		"v1": {"Service": {"s": {}}},
		"networking.k8s.io/v1": {"NetworkPolicy": {"default-deny": old}},
	}}}
	count(rule.violation) == 0 with input as _change("DELETE", old, null) with data.inventory as inv
}

test_update_that_keeps_deny_all if {
	old := _np("default-deny", _deny_ingress)
	new := _np("default-deny", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []})
	count(rule.violation) == 0 with input as _change("UPDATE", old, new) with data.inventory as _inv([old])
}

test_change_of_a_policy_that_was_not_deny_all if {
	old := _np("allow-web", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]})
	count(rule.violation) == 0 with input as _change("DELETE", old, null)
		with data.inventory as _inv([old, _np("deny", _deny_ingress)])
}

test_deleting_egress_deny_all_when_only_ingress_is_required if {
	old := _np("deny-egress", _deny_egress)
	count(rule.violation) == 0 with input as _change("DELETE", old, null)
		with data.inventory as _inv([old, _np("deny", _deny_ingress)])
}

test_namespace_controller_deletions_are_not_reported if {
	old := _np("default-deny", _deny_ingress)
	inp := {"review": {
		"operation": "DELETE", "oldObject": old, "namespace": "shop",
		"userInfo": {"username": "system:serviceaccount:kube-system:namespace-controller"},
	}}
	count(rule.violation) == 0 with input as inp with data.inventory as _inv([old])
}

test_terminating_namespace_is_not_reported if {
	old := _np("default-deny", _deny_ingress)
	inv := object.union(_inv([old]), {"cluster": {"v1": {"Namespace": {"shop": {"metadata": {"name": "shop", "deletionTimestamp": "2025-01-01T00:00:00Z"}}}}}})
	count(rule.violation) == 0 with input as _change("DELETE", old, null) with data.inventory as inv
}
