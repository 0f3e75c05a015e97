package ward.lib.netpol_test

import data.ward.lib.netpol

_np(spec) := {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "n"}, "spec": spec}

test_is_network_policy if {
	netpol.is_network_policy(_np({}))
	netpol.is_network_policy({"apiVersion": "extensions/v1beta1", "kind": "NetworkPolicy"})
	not netpol.is_network_policy({"apiVersion": "cilium.io/v2", "kind": "NetworkPolicy"})
	not netpol.is_network_policy({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress"})
}

test_governs_defaults_like_kubernetes if {
	netpol.governs(_np({}), "Ingress")
	not netpol.governs(_np({}), "Egress")
	netpol.governs(_np({"policyTypes": []}), "Ingress")
	netpol.governs(_np({"egress": [{}]}), "Egress")
	not netpol.governs(_np({"egress": []}), "Egress")
	netpol.governs(_np({"policyTypes": ["Egress"]}), "Egress")
	not netpol.governs(_np({"policyTypes": ["Egress"]}), "Ingress")
}

test_denies_all_ingress if {
	every spec in [
		{"podSelector": {}},
		{"podSelector": {}, "policyTypes": ["Ingress"]},
		{"podSelector": null, "ingress": []},
		{"podSelector": {"matchLabels": null}, "ingress": null},
		{"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [{}]},
		{},
	] {
		netpol.denies_all(_np(spec), "Ingress")
	}
	every spec in [
		{"podSelector": {"matchLabels": {"app": "web"}}},
		{"podSelector": {}, "policyTypes": ["Egress"]},
		{"podSelector": {}, "ingress": [{}]},
		{"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]},
	] {
		not netpol.denies_all(_np(spec), "Ingress")
	}
}

test_denies_all_egress if {
	netpol.denies_all(_np({"podSelector": {}, "policyTypes": ["Egress"]}), "Egress")
	netpol.denies_all(_np({"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": []}), "Egress")
	not netpol.denies_all(_np({"podSelector": {}}), "Egress")
	not netpol.denies_all(_np({"podSelector": {}, "egress": []}), "Egress")
	not netpol.denies_all(_np({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}), "Egress")
}

test_ingress_peers if {
	np := _np({"ingress": [{"from": [{"podSelector": {}}, "junk", {"ipBlock": {"cidr": "10.0.0.0/8"}}]}, {"ports": [{"port": 80}]}]})
	{[p.rule, p.index, p.path] | some p in netpol.ingress_peers(np)} == {
		[0, 0, ["spec", "ingress", 0, "from", 0]],
		[0, 2, ["spec", "ingress", 0, "from", 2]],
	}
}

test_ip_blocks if {
	np := _np({
		"ingress": [{"from": [{"ipBlock": {"cidr": "a"}}, {"podSelector": {}}]}],
		"egress": [{"to": [{"namespaceSelector": {}}, {"ipBlock": {"cidr": "b"}}]}],
	})
	{[b.ipBlock.cidr, b.path] | some b in netpol.ip_blocks(np)} == {
		["a", ["spec", "ingress", 0, "from", 0, "ipBlock"]],
		["b", ["spec", "egress", 0, "to", 1, "ipBlock"]],
	}
}

test_policies if {
	shop := {
		"networking.k8s.io/v1": {"NetworkPolicy": {"a": {"spec": {}}}},
		"extensions/v1beta1": {"NetworkPolicy": {"b": {"spec": {}}}},
		"cilium.io/v2": {"NetworkPolicy": {"c": {"spec": {}}}},
		"v1": {"Pod": {"p": {}}},
	}
	{p.name | some p in netpol.policies(shop)} == {"a", "b"}
	count(netpol.policies({})) == 0
}
