package ward.rules.cidr_base_address_test

import data.ward.rules.cidr_base_address as rule

_in(obj) := {"review": {"object": obj, "operation": "CREATE"}}

_np(spec) := {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n"}, "spec": spec}

_ingress_block(block) := _np({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}, {"ipBlock": block}]}]})

_egress_block(block) := _np({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": block}]}]})

_ipb := ["spec", "ingress", 0, "from", 1, "ipBlock"]

_base_msg(s, b) := sprintf("CIDR %q is not at its network base address: use %q", [s, b])

_invalid_msg(s) := sprintf("CIDR %q is not a valid CIDR (address/prefix-length, e.g. \"10.0.0.0/24\")", [s])

_prefix_msg(s, suggestion) := sprintf("CIDR %q has no prefix length: use %q for a single address", [s, suggestion])

_v(msg, path) := {"msg": msg, "details": {"path": path}}

# --- NetworkPolicy ---------------------------------------------------------------

test_base_addresses_pass if {
	every block in [
		{"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]},
		{"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32", "10.0.0.0/8"]},
		{"cidr": "::/0"},
		{"cidr": "2001:DB8::/32", "except": ["2001:db8:1::/48"]},
		{"cidr": "192.168.1.1/32"},
		{"cidr": "2001:db8::1/128"},
	] {
		count(rule.violation) == 0 with input as _in(_ingress_block(block))
		count(rule.violation) == 0 with input as _in(_egress_block(block))
	}
}

test_host_bits_in_ingress_cidr if {
	rule.violation == {_v(_base_msg("137.117.106.90/29", "137.117.106.88/29"), array.concat(_ipb, ["cidr"]))} with input as _in(_ingress_block({"cidr": "137.117.106.90/29"}))
}

test_host_bits_in_egress_cidr_ipv6 if {
	path := ["spec", "egress", 0, "to", 0, "ipBlock", "cidr"]
	rule.violation == {_v(_base_msg("2001:db8::1/64", "2001:db8::/64"), path)} with input as _in(_egress_block({"cidr": "2001:db8::1/64"}))
}

test_host_bits_with_prefix_zero if {
	path := ["spec", "egress", 0, "to", 0, "ipBlock", "cidr"]
	rule.violation == {_v(_base_msg("10.10.0.0/0", "0.0.0.0/0"), path)} with input as _in(_egress_block({"cidr": "10.10.0.0/0"}))
}

test_cidr_without_prefix if {
	rule.violation == {_v(_prefix_msg("10.0.0.1", "10.0.0.1/32"), array.concat(_ipb, ["cidr"]))} with input as _in(_ingress_block({"cidr": "10.0.0.1"}))
	rule.violation == {_v(_prefix_msg("2001:db8::1", "2001:db8::1/128"), array.concat(_ipb, ["cidr"]))} with input as _in(_ingress_block({"cidr": "2001:db8::1"}))
}

test_unparsable_cidr_skips_except_checks if {
	block := {"cidr": "10.10.0.0/0#example", "except": ["169.254.169.254/32"]}
	rule.violation == {_v(_invalid_msg("10.10.0.0/0#example"), array.concat(_ipb, ["cidr"]))} with input as _in(_ingress_block(block))
}

test_unparsable_forms if {
	every s in ["", "10.0.0.0/33", "::/129", "10.0.0/8", "any", "010.0.0.0/8", " 10.0.0.0/8"] {
		rule.violation == {_v(_invalid_msg(s), array.concat(_ipb, ["cidr"]))} with input as _in(_ingress_block({"cidr": s}))
	}
}

test_except_with_host_bits if {
	block := {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24", "172.17.2.9/24"]}
	rule.violation == {_v(_base_msg("172.17.2.9/24", "172.17.2.0/24"), array.concat(_ipb, ["except", 1]))} with input as _in(_ingress_block(block))
}

test_except_outside_its_cidr if {
	block := {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16", "10.1.0.0/16", "2001:db8::/64"]}
	rule.violation == {
		_v("except \"192.168.0.0/16\" is not inside its cidr \"10.0.0.0/8\"", array.concat(_ipb, ["except", 0])),
		_v("except \"2001:db8::/64\" is not inside its cidr \"10.0.0.0/8\"", array.concat(_ipb, ["except", 2])),
	} with input as _in(_ingress_block(block))
}

test_except_larger_than_its_cidr if {
	block := {"cidr": "10.1.0.0/16", "except": ["10.0.0.0/8"]}
	rule.violation == {_v("except \"10.0.0.0/8\" is not inside its cidr \"10.1.0.0/16\"", array.concat(_ipb, ["except", 0]))} with input as _in(_ingress_block(block))
}

test_except_equal_to_its_cidr if {
	block := {"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]}
	msg := "except \"10.0.0.0/8\" equals its cidr \"10.0.0.0/8\": an except entry must be strictly inside the cidr"
	rule.violation == {_v(msg, array.concat(_ipb, ["except", 0]))} with input as _in(_ingress_block(block))
}

test_except_inside_a_cidr_with_host_bits if {
	# Kubernetes masks the cidr before comparing: only the cidr is reported
	block := {"cidr": "10.0.0.5/8", "except": ["10.1.0.0/16"]}
	rule.violation == {_v(_base_msg("10.0.0.5/8", "10.0.0.0/8"), array.concat(_ipb, ["cidr"]))} with input as _in(_ingress_block(block))
}

test_except_without_prefix if {
	block := {"cidr": "0.0.0.0/0", "except": ["169.254.169.254"]}
	rule.violation == {_v(_prefix_msg("169.254.169.254", "169.254.169.254/32"), array.concat(_ipb, ["except", 0]))} with input as _in(_ingress_block(block))
}

test_missing_or_odd_values_are_skipped if {
	every block in [{}, {"cidr": null}, {"cidr": 10}, {"cidr": "10.0.0.0/8", "except": null}, {"cidr": "10.0.0.0/8", "except": [null, 5]}] {
		count(rule.violation) == 0 with input as _in(_ingress_block(block))
	}
}

test_other_network_policy_kinds_are_skipped if {
	crd := object.union(_ingress_block({"cidr": "10.0.0.1/8"}), {"apiVersion": "cilium.io/v2"})
	count(rule.violation) == 0 with input as _in(crd)
}

# --- Service -----------------------------------------------------------------------

_svc(spec, annotations) := {
	"apiVersion": "v1", "kind": "Service",
	"metadata": {"name": "lb", "annotations": annotations},
	"spec": object.union({"type": "LoadBalancer"}, spec),
}

_lb_annotation := "service.beta.kubernetes.io/load-balancer-source-ranges"

_ann_path := ["metadata", "annotations", _lb_annotation]

test_load_balancer_source_ranges if {
	svc := _svc({"loadBalancerSourceRanges": ["130.211.204.1/32", " 10.0.0.0/8 ", "203.0.113.7/24", "MY_EXTERNAL_IP_RANGE", "198.51.100.1", "2001:DB8::/32"]}, {})
	rule.violation == {
		_v(_base_msg("203.0.113.7/24", "203.0.113.0/24"), ["spec", "loadBalancerSourceRanges", 2]),
		_v(_invalid_msg("MY_EXTERNAL_IP_RANGE"), ["spec", "loadBalancerSourceRanges", 3]),
		_v(_prefix_msg("198.51.100.1", "198.51.100.1/32"), ["spec", "loadBalancerSourceRanges", 4]),
	} with input as _in(svc)
}

test_load_balancer_source_ranges_annotation if {
	svc := _svc({}, {_lb_annotation: "10.0.0.0/8, 192.168.1.5/24 ,172.16.0.0/12"})
	rule.violation == {_v(_base_msg("192.168.1.5/24", "192.168.1.0/24"), _ann_path)} with input as _in(svc)
}

test_annotation_entries_each_reported if {
	svc := _svc({}, {_lb_annotation: "1.2.3.4,10.0.0.0/8,"})
	rule.violation == {
		_v(_prefix_msg("1.2.3.4", "1.2.3.4/32"), _ann_path),
		_v(_invalid_msg(""), _ann_path),
	} with input as _in(svc)
}

test_empty_annotation_means_everything if {
	count(rule.violation) == 0 with input as _in(_svc({}, {_lb_annotation: " "}))
	count(rule.violation) == 0 with input as _in(_svc({}, {_lb_annotation: "0.0.0.0/0,::/0"}))
}

test_service_of_another_group_is_skipped if {
	knative := object.union(_svc({"loadBalancerSourceRanges": ["10.0.0.1/8"]}, {}), {"apiVersion": "serving.knative.dev/v1"})
	count(rule.violation) == 0 with input as _in(knative)
}

# --- AKS ARM resources -------------------------------------------------------------

_aks(kind, properties) := {"apiVersion": "2023-05-01", "kind": kind, "name": "aks", "properties": properties}

_aks_kind := "Microsoft.ContainerService/managedClusters"

_ranges(list) := {"apiServerAccessProfile": {"authorizedIPRanges": list}}

_arm_path(k) := ["properties", "apiServerAccessProfile", "authorizedIPRanges", k]

test_aks_authorized_ip_ranges if {
	obj := _aks(_aks_kind, _ranges(["73.140.245.0/24", "137.117.106.90/29", "195.168.1.0", "2001:db8::1/64", "IP1", "0.0.0.0/32"]))
	rule.violation == {
		_v(_base_msg("137.117.106.90/29", "137.117.106.88/29"), _arm_path(1)),
		_v(_base_msg("2001:db8::1/64", "2001:db8::/64"), _arm_path(3)),
		_v(_invalid_msg("IP1"), _arm_path(4)),
	} with input as _in(obj)
}

test_aks_single_addresses_pass if {
	obj := _aks(_aks_kind, _ranges(["192.168.0.1", "192.168.0.18", "2001:db8::1"]))
	count(rule.violation) == 0 with input as _in(obj)
}

test_aks_expressions_are_skipped if {
	count(rule.violation) == 0 with input as _in(_aks(_aks_kind, _ranges("[parameters('authorizedIPRanges')]")))
	obj := _aks(_aks_kind, _ranges(["[parameters('officeRange')]", "[variables('vpn')]", "", "10.0.0.0/8"]))
	count(rule.violation) == 0 with input as _in(obj)
}

test_aks_property_names_ignore_case if {
	obj := _aks(_aks_kind, {"ApiServerAccessProfile": {"authorizedIpRanges": ["10.0.0.1/8"]}})
	rule.violation == {_v(_base_msg("10.0.0.1/8", "10.0.0.0/8"), ["properties", "ApiServerAccessProfile", "authorizedIpRanges", 0])} with input as _in(obj)
}

# ward reviews every AKS cluster resource of an ARM template with the canonical kind,
# whatever the case of its type (pkg/manifest), so the rule reads that kind alone.
test_aks_type_as_written_is_kept_beside_the_kind if {
	obj := object.union(_aks(_aks_kind, _ranges(["10.0.0.1/8"])), {"type": "microsoft.containerservice/MANAGEDCLUSTERS"})
	rule.violation == {_v(_base_msg("10.0.0.1/8", "10.0.0.0/8"), _arm_path(0))} with input as _in(obj)
}

test_aks_resource_without_the_canonical_kind_is_not_read if {
	count(rule.violation) == 0 with input as _in(_aks("microsoft.containerservice/managedclusters", _ranges(["10.0.0.1/8"])))
	obj := {"type": _aks_kind, "apiVersion": "2020-07-01", "name": "aks", "properties": _ranges(["10.0.0.1/8"])}
	count(rule.violation) == 0 with input as _in(obj)
}

test_aks_odd_shapes_are_skipped if {
	every props in ["yo", {}, {"apiServerAccessProfile": {}}, _ranges([]), _ranges(null), {"apiServerAccessProfile": "x"}] {
		count(rule.violation) == 0 with input as _in(_aks(_aks_kind, props))
	}
}

test_other_arm_resources_are_skipped if {
	obj := _aks("Microsoft.Network/networkSecurityGroups", _ranges(["10.0.0.1/8"]))
	count(rule.violation) == 0 with input as _in(obj)
}

# --- operations ----------------------------------------------------------------------

test_delete_is_not_checked if {
	count(rule.violation) == 0 with input as {"review": {"operation": "DELETE", "oldObject": _ingress_block({"cidr": "10.0.0.1/8"})}}
}

test_update_is_checked if {
	np := _ingress_block({"cidr": "10.0.0.1/8"})
	rule.violation == {_v(_base_msg("10.0.0.1/8", "10.0.0.0/8"), array.concat(_ipb, ["cidr"]))} with input as {"review": {"operation": "UPDATE", "object": np, "oldObject": np}}
}
