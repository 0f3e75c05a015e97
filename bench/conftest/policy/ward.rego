# ward's four rules written the way a Conftest user would write them, for the benchmark
# only: the same checks as policies/ on the benchmark corpus, one deny message per
# finding, so that the finding counts of both tools can be compared.
#
# Conftest sees one document at a time unless it runs with --combine, which is the only
# way a cross-file rule such as default-deny can be written for it; the benchmark runs it
# with --combine. The rules accept both shapes.
package main

_docs := [d.contents | some d in input] if is_array(input)

_docs := [input] if not is_array(input)

# Every object of the input: List items flattened, as kubectl applies them.
_objects contains o if {
	some d in _docs
	is_object(d)
	not _is_list(d)
	is_string(d.apiVersion)
	is_string(d.kind)
	o := d
}

_objects contains o if {
	some d in _docs
	_is_list(d)
	some o in d.items
	is_object(o)
}

_is_list(d) if {
	endswith(d.kind, "List")
	is_array(d.items)
}

_cluster_scoped := {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Node", "PersistentVolume", "StorageClass"}

_namespace(o) := ns if {
	not _cluster_scoped[o.kind]
	ns := object.get(o, ["metadata", "namespace"], "default")
}

_excluded := {"kube-system"}

_checked contains o if {
	some o in _objects
	not _excluded[_namespace(o)]
}

_group(api_version) := "" if not contains(api_version, "/")

_group(api_version) := split(api_version, "/")[0] if contains(api_version, "/")

_template := ["spec", "template", "spec"]

_pod_spec_paths := {
	"": {"Pod": ["spec"], "ReplicationController": _template, "PodTemplate": ["template", "spec"]},
	"apps": {"Deployment": _template, "ReplicaSet": _template, "DaemonSet": _template, "StatefulSet": _template},
	"extensions": {"Deployment": _template, "ReplicaSet": _template, "DaemonSet": _template, "StatefulSet": _template},
	"batch": {"Job": _template, "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"]},
}

_pod_spec(o) := object.get(o, _pod_spec_paths[_group(o.apiVersion)][o.kind], null)

_pod_bearing(o) if _pod_spec_paths[_group(o.apiVersion)][o.kind]

_caps(c, field) := {trim_prefix(upper(x), "CAP_") | some x in object.get(c, ["securityContext", "capabilities", field], [])}

# drop-net-raw
deny contains msg if {
	some o in _checked
	spec := _pod_spec(o)
	is_object(spec)
	lower(object.get(spec, ["os", "name"], "")) != "windows"
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some c in object.get(spec, field, [])
	drop := _caps(c, "drop")
	not drop.ALL
	not drop.NET_RAW
	msg := sprintf("drop-net-raw: %s %s/%s: container %q does not drop NET_RAW", [o.kind, _namespace(o), o.metadata.name, c.name])
}

deny contains msg if {
	some o in _checked
	spec := _pod_spec(o)
	is_object(spec)
	lower(object.get(spec, ["os", "name"], "")) != "windows"
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some c in object.get(spec, field, [])
	some i, x in object.get(c, ["securityContext", "capabilities", "add"], [])
	trim_prefix(upper(x), "CAP_") in {"NET_RAW", "ALL"}
	msg := sprintf("drop-net-raw: %s %s/%s: container %q adds %s back (add[%d])", [o.kind, _namespace(o), o.metadata.name, c.name, x, i])
}

deny contains msg if {
	some o in _checked
	spec := _pod_spec(o)
	is_object(spec)
	lower(object.get(spec, ["os", "name"], "")) != "windows"
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some c in object.get(spec, field, [])
	c.securityContext.privileged == true
	msg := sprintf("drop-net-raw: %s %s/%s: container %q is privileged", [o.kind, _namespace(o), o.metadata.name, c.name])
}

# namespace-scoped-ingress
_is_netpol(o) if {
	o.kind == "NetworkPolicy"
	_group(o.apiVersion) in {"networking.k8s.io", "extensions"}
}

_empty_selector(sel) if {
	is_object(sel)
	count(object.get(sel, "matchLabels", {})) == 0
	count(object.get(sel, "matchExpressions", [])) == 0
}

_governs_ingress(p) if not p.spec.policyTypes

_governs_ingress(p) if count(p.spec.policyTypes) == 0

_governs_ingress(p) if "Ingress" in p.spec.policyTypes

deny contains msg if {
	some o in _checked
	_is_netpol(o)
	_governs_ingress(o)
	some i, rule in object.get(o, ["spec", "ingress"], [])
	some j, peer in object.get(rule, "from", [])
	_empty_selector(peer.namespaceSelector)
	msg := sprintf("namespace-scoped-ingress: %s/%s ingress[%d].from[%d] has an empty namespaceSelector", [_namespace(o), o.metadata.name, i, j])
}

# cidr-base-address
_cidrs contains [o, path, s] if {
	some o in _checked
	_is_netpol(o)
	some field, peer_field in {"ingress": "from", "egress": "to"}
	some i, rule in object.get(o, ["spec", field], [])
	some j, peer in object.get(rule, peer_field, [])
	s := peer.ipBlock.cidr
	path := sprintf("spec.%s[%d].%s[%d].ipBlock.cidr", [field, i, peer_field, j])
}

_cidrs contains [o, path, s] if {
	some o in _checked
	_is_netpol(o)
	some field, peer_field in {"ingress": "from", "egress": "to"}
	some i, rule in object.get(o, ["spec", field], [])
	some j, peer in object.get(rule, peer_field, [])
	some k, s in object.get(peer, ["ipBlock", "except"], [])
	path := sprintf("spec.%s[%d].%s[%d].ipBlock.except[%d]", [field, i, peer_field, j, k])
}

_cidrs contains [o, path, trim_space(s)] if {
	some o in _checked
	o.kind == "Service"
	_group(o.apiVersion) == ""
	some k, s in object.get(o, ["spec", "loadBalancerSourceRanges"], [])
	path := sprintf("spec.loadBalancerSourceRanges[%d]", [k])
}

_base(cidr) := b if some b in net.cidr_merge([cidr])

_address(cidr) := split(cidr, "/")[0]

_host(addr) := sprintf("%s/%d", [addr, 128]) if contains(addr, ":")

_host(addr) := sprintf("%s/%d", [addr, 32]) if not contains(addr, ":")

deny contains msg if {
	some [o, path, s] in _cidrs
	net.cidr_is_valid(s)
	b := _base(s)
	not net.cidr_contains(_host(_address(b)), _address(s))
	msg := sprintf("cidr-base-address: %s %s/%s %s: CIDR %q is not at its network base address: use %q", [o.kind, _namespace(o), o.metadata.name, path, s, b])
}

deny contains msg if {
	some [o, path, s] in _cidrs
	not net.cidr_is_valid(s)
	msg := sprintf("cidr-base-address: %s %s/%s %s: %q is not a valid CIDR", [o.kind, _namespace(o), o.metadata.name, path, s])
}

deny contains msg if {
	some o in _checked
	_is_netpol(o)
	some field, peer_field in {"ingress": "from", "egress": "to"}
	some i, rule in object.get(o, ["spec", field], [])
	some j, peer in object.get(rule, peer_field, [])
	cidr := peer.ipBlock.cidr
	net.cidr_is_valid(cidr)
	some k, e in object.get(peer, ["ipBlock", "except"], [])
	net.cidr_is_valid(e)
	not _strict_subset(e, cidr)
	msg := sprintf("cidr-base-address: %s/%s spec.%s[%d].%s[%d].ipBlock.except[%d]: %q is not strictly inside %q", [_namespace(o), o.metadata.name, field, i, peer_field, j, k, e, cidr])
}

_strict_subset(inner, outer) if {
	bi := _base(inner)
	bo := _base(outer)
	net.cidr_contains(bo, bi)
	to_number(split(bi, "/")[1]) > to_number(split(bo, "/")[1])
}

# default-deny: once per namespace that holds pod-bearing objects and no deny-all
# ingress policy.
_denies_all_ingress(p) if {
	_is_netpol(p)
	sel := object.get(p, ["spec", "podSelector"], {})
	_empty_selector(sel)
	_governs_ingress(p)
	count(object.get(p, ["spec", "ingress"], [])) == 0
}

_covered contains _namespace(p) if {
	some p in _objects
	_denies_all_ingress(p)
}

_workload_namespaces contains _namespace(o) if {
	some o in _checked
	_pod_bearing(o)
}

deny contains msg if {
	some ns in _workload_namespaces
	not _covered[ns]
	msg := sprintf("default-deny: namespace %q has no default-deny NetworkPolicy for ingress", [ns])
}
