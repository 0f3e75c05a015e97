# CIDR helpers.
#
# Shared CIDR checks built on OPA's net.* built-ins only: validity, the network base
# address of a CIDR, whether a CIDR is written at its base (addresses compared, not
# strings, so "2001:DB8::/32" is at its base), single addresses without a prefix
# length, and strict containment for ipBlock.except. net.cidr_merge is only ever
# called on a valid CIDR (on a bare address it would apply a classful mask).
package ward.lib.net

# is_cidr holds when s is a string that parses as a CIDR (address/prefix-length),
# IPv4 or IPv6, with the prefix length in canonical decimal: Go's net.ParseCIDR (behind
# net.cidr_is_valid) reads "10.0.0.0/08" as /8, but netip and current Kubernetes refuse
# the leading zero.
is_cidr(s) if {
	is_string(s)
	net.cidr_is_valid(s)
	regex.match(`^[^/]*/(0|[1-9][0-9]*)$`, s)
}

# _max_bits returns 128 for an IPv6 address text, 32 for an IPv4 one.
_max_bits(addr) := 128 if contains(addr, ":")

_max_bits(addr) := 32 if not contains(addr, ":")

# _address returns the address part of a CIDR text.
_address(cidr) := split(cidr, "/")[0]

# _prefix_len returns the prefix length of a CIDR text as a number.
_prefix_len(cidr) := to_number(split(cidr, "/")[1])

# host_cidr returns the single-address CIDR of an address: "/32" for IPv4, "/128" for
# IPv6.
host_cidr(addr) := sprintf("%s/%d", [addr, _max_bits(addr)])

# is_address holds when s is a single IPv4 or IPv6 address with no prefix length.
is_address(s) if {
	is_string(s)
	not contains(s, "/")
	net.cidr_is_valid(host_cidr(s))
}

# base returns the CIDR at the network base address of a valid CIDR, canonical text:
# "137.117.106.90/29" -> "137.117.106.88/29", "2001:db8::1/64" -> "2001:db8::/64".
# An IPv4 CIDR (no ":") needs no family check: net.cidr_merge keeps it IPv4.
base(cidr) := merged if {
	is_cidr(cidr)
	not contains(cidr, ":")
	some merged in net.cidr_merge([cidr])
}

base(cidr) := b if {
	is_cidr(cidr)
	contains(cidr, ":")
	some merged in net.cidr_merge([cidr])
	b := _same_family(cidr, merged)
}

# _same_family writes a merged CIDR in the family of the original text: net.cidr_merge
# turns an IPv4-mapped IPv6 prefix ("::ffff:1.2.3.4/120") into IPv4 ("1.2.3.0/24"),
# which would name a different field value than the one to write ("::ffff:1.2.3.0/120").
_same_family(cidr, merged) := merged if {
	contains(_address(cidr), ":") == contains(_address(merged), ":")
}

_same_family(cidr, merged) := sprintf("::ffff:%s/%d", [_address(merged), _prefix_len(merged) + 96]) if {
	contains(_address(cidr), ":")
	not contains(_address(merged), ":")
}

# at_base holds when a valid CIDR is written at its network base address (all host
# bits zero). An IPv6 CIDR has many texts ("2001:DB8::/32", "2001:0db8::/32"), so its
# address is compared with its base's, not its text. An IPv4 CIDR that is valid has one
# text only (net.cidr_is_valid refuses leading zeros in the address, is_cidr in the
# prefix length), the one its base is written in: the texts are compared.
at_base(cidr) if {
	not contains(cidr, ":")
	base(cidr) == cidr
}

at_base(cidr) if {
	contains(cidr, ":")
	b := base(cidr)
	net.cidr_contains(host_cidr(_address(b)), _address(cidr))
}

# cidr_error returns what is wrong with a CIDR text s, or is undefined when s is a valid
# CIDR at its network base address. allow_address: whether a single address with no
# prefix length is accepted (as a single host) by the field that holds s.
cidr_error(s, _) := sprintf("CIDR %q is not at its network base address: use %q", [s, base(s)]) if {
	is_cidr(s)
	not at_base(s)
}

cidr_error(s, false) := sprintf("CIDR %q has no prefix length: use %q for a single address", [s, host_cidr(s)]) if {
	is_address(s)
}

cidr_error(s, _) := sprintf("CIDR %q is not a valid CIDR (address/prefix-length, e.g. \"10.0.0.0/24\")", [s]) if {
	is_string(s)
	not is_cidr(s)
	not is_address(s)
}

# strict_subset holds when CIDR inner lies inside CIDR outer and is strictly smaller,
# as Kubernetes demands of ipBlock.except against ipBlock.cidr (both must be valid;
# host bits are ignored, as Kubernetes masks them).
strict_subset(inner, outer) if {
	bi := base(inner)
	bo := base(outer)
	net.cidr_contains(bo, bi)
	_prefix_len(bi) > _prefix_len(bo)
}
