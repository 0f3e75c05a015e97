# METADATA
# title: CIDRs are written at their network base address
# description: |
#   Every CIDR must parse and be written at its network base address (all host bits
#   zero): "137.117.106.90/29" must be written "137.117.106.88/29", "2001:db8::1/64"
#   must be "2001:db8::/64". Addresses are compared, not texts: "2001:DB8::/32" is at
#   its base. IPv4 and IPv6; /0, /32 and /128 included.
#
#   Fields checked:
#   - NetworkPolicy (networking.k8s.io, extensions): ipBlock.cidr and every
#     ipBlock.except entry of spec.ingress[].from[] and spec.egress[].to[]. Each except
#     entry must also lie strictly inside its cidr (inside it, and not equal to it), as
#     the API server demands; this is checked only when both parse.
#   - Service (core): every spec.loadBalancerSourceRanges entry, and each entry of the
#     comma-separated annotation service.beta.kubernetes.io/load-balancer-source-ranges
#     (in both, spaces around an entry are trimmed, as Kubernetes does; an empty
#     annotation means 0.0.0.0/0 and passes).
#   - Azure ARM resources of type Microsoft.ContainerService/managedClusters (type
#     compared case-insensitively; ward reviews each such resource of an ARM template
#     with kind "Microsoft.ContainerService/managedClusters", the type as the template
#     spells it kept in its type field): each entry of
#     properties.apiServerAccessProfile.authorizedIPRanges (property names compared
#     case-insensitively, as ARM does). ARM expressions
#     (strings starting with "[", e.g. "[parameters('ranges')]"), whether the whole list
#     or one entry, are not literals and are skipped; so are empty strings.
#
#   Violations: host bits set (the message names the base address to use); text that
#   does not parse as a CIDR (a placeholder such as MY_EXTERNAL_IP_RANGE, a stray
#   comment "10.0.0.0/8#note", a prefix longer than the family allows, an IPv4 octet
#   with a leading zero such as "010.0.0.0/8", which older Kubernetes read as decimal
#   and current Kubernetes rejects);
#   a single address without a prefix length in a Kubernetes field, where the API
#   server demands a CIDR (the message suggests /32 or /128); an except entry outside
#   its cidr or equal to it.
#
#   A single address without a prefix length is accepted in AKS authorizedIPRanges:
#   the AKS API and the Azure CLI take a plain IP address there as that one host (the
#   CLI's own example passes "195.168.1.0" next to CIDRs), so "192.168.0.1" is a
#   correct entry of that list and is not reported.
# custom:
#   id: cidr-base-address
#   severity: error
#   remediation: >-
#     Write each CIDR at the first address of its range, as the message says (e.g.
#     137.117.106.88/29 rather than 137.117.106.90/29), and give single addresses a /32
#     or /128 prefix length.
#   why: |
#     A CIDR with host bits set is ambiguous. Kubernetes masks it silently, so
#     "10.0.0.5/8" in an ipBlock allows all of 10.0.0.0/8, which is rarely what its
#     author meant by writing one address; some tools reject it, others read it
#     differently, and reviewers read the address and not the range. The AKS
#     documentation asks for the first address of each API server authorized IP range
#     (137.117.106.88/29, not 137.117.106.90/29), and the Azure CLI refuses ranges with
#     host bits set. A value that does not parse is rejected by the API server or,
#     worse, by the cloud provider long after the manifest was merged.
#   exemption: |
#     Put ignore.ward.dev/cidr-base-address: "<reason>" in metadata.annotations of the
#     NetworkPolicy or Service that holds the CIDR; it exempts every CIDR of that object.
#     ARM templates carry no annotations: disable the rule or fix the range.
#   enforcement: deny
package ward.rules.cidr_base_address

import data.ward.lib.k8s
import data.ward.lib.net as cidrs
import data.ward.lib.netpol

_object := input.review.object if {
	k8s.operation(input.review) != "DELETE"
	is_object(input.review.object)
}

_lb_annotation := "service.beta.kubernetes.io/load-balancer-source-ranges"

# Each source of CIDRs is its own set, and each violation body below starts with the
# kind it reads: OPA's rule index then skips the bodies an object cannot match, and
# ward's engine does not evaluate the rule at all on other kinds.

_netpol_values contains v if {
	netpol.is_network_policy(_object)
	some b in netpol.ip_blocks(_object)
	is_string(b.ipBlock.cidr)
	v := {"value": b.ipBlock.cidr, "path": array.concat(b.path, ["cidr"]), "address_ok": false}
}

_netpol_values contains v if {
	netpol.is_network_policy(_object)
	some b in netpol.ip_blocks(_object)
	some k, e in _list(b.ipBlock, "except")
	is_string(e)
	v := {"value": e, "path": array.concat(b.path, ["except", k]), "address_ok": false}
}

_service_values contains v if {
	k8s.group_kind(_object) == ["", "Service"]
	some k, s in _list(object.get(_object, "spec", {}), "loadBalancerSourceRanges")
	is_string(s)
	v := {"value": trim_space(s), "path": ["spec", "loadBalancerSourceRanges", k], "address_ok": false}
}

_service_values contains v if {
	k8s.group_kind(_object) == ["", "Service"]
	ranges := _object.metadata.annotations[_lb_annotation]
	is_string(ranges)
	trim_space(ranges) != ""
	some s in split(ranges, ",")
	v := {"value": trim_space(s), "path": ["metadata", "annotations", _lb_annotation], "address_ok": false}
}

_aks_values contains v if {
	some pk, props in _object
	lower(pk) == "properties"
	is_object(props)
	some ak, access in props
	lower(ak) == "apiserveraccessprofile"
	is_object(access)
	some rk, ranges in access
	lower(rk) == "authorizedipranges"
	is_array(ranges)
	some k, s in ranges
	is_string(s)
	entry := trim_space(s)
	entry != ""
	not startswith(entry, "[")
	v := {"value": entry, "path": [pk, ak, rk, k], "address_ok": true}
}

_list(obj, field) := list if {
	list := object.get(obj, field, [])
	is_array(list)
}

violation contains {"msg": msg, "details": {"path": v.path}} if {
	input.review.object.kind == "NetworkPolicy"
	some v in _netpol_values
	msg := cidrs.cidr_error(v.value, v.address_ok)
}

violation contains {"msg": msg, "details": {"path": v.path}} if {
	input.review.object.kind == "Service"
	some v in _service_values
	msg := cidrs.cidr_error(v.value, v.address_ok)
}

violation contains {"msg": msg, "details": {"path": v.path}} if {
	input.review.object.kind == "Microsoft.ContainerService/managedClusters"
	some v in _aks_values
	msg := cidrs.cidr_error(v.value, v.address_ok)
}

# ipBlock.except entries must lie strictly inside their cidr.
violation contains {"msg": msg, "details": {"path": path}} if {
	input.review.object.kind == "NetworkPolicy"
	netpol.is_network_policy(_object)
	some b in netpol.ip_blocks(_object)
	cidr := b.ipBlock.cidr
	cidrs.is_cidr(cidr)
	some k, e in _list(b.ipBlock, "except")
	cidrs.is_cidr(e)
	not cidrs.strict_subset(e, cidr)
	msg := _except_message(e, cidr)
	path := array.concat(b.path, ["except", k])
}

_except_message(e, cidr) := sprintf(
	"except %q equals its cidr %q: an except entry must be strictly inside the cidr",
	[e, cidr],
) if {
	cidrs.base(e) == cidrs.base(cidr)
}

_except_message(e, cidr) := sprintf("except %q is not inside its cidr %q", [e, cidr]) if {
	cidrs.base(e) != cidrs.base(cidr)
}
