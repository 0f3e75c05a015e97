package ward.lib.net_test

import data.ward.lib.net as cidrs

test_is_cidr if {
	every s in ["10.0.0.0/8", "0.0.0.0/0", "1.2.3.4/32", "::/0", "2001:db8::/32", "2001:DB8::1/128", "10.0.0.5/8"] {
		cidrs.is_cidr(s)
	}
	every s in ["10.0.0.1", "MY_EXTERNAL_IP_RANGE", "10.10.0.0/0#example", "10.0.0.0/33", "::/129", "", " 10.0.0.0/8", "010.0.0.0/8", 42] {
		not cidrs.is_cidr(s)
	}
}

test_is_address if {
	every s in ["10.0.0.1", "2001:db8::1", "::1", "2001:DB8::"] {
		cidrs.is_address(s)
	}
	every s in ["10.0.0.1/32", "IP1", "10.0.0", "", 7] {
		not cidrs.is_address(s)
	}
}

test_host_cidr if {
	cidrs.host_cidr("10.0.0.1") == "10.0.0.1/32"
	cidrs.host_cidr("2001:db8::1") == "2001:db8::1/128"
}

test_base_both_families if {
	cidrs.base("137.117.106.90/29") == "137.117.106.88/29"
	cidrs.base("137.117.106.88/29") == "137.117.106.88/29"
	cidrs.base("10.10.0.0/0") == "0.0.0.0/0"
	cidrs.base("192.168.1.77/32") == "192.168.1.77/32"
	cidrs.base("2001:db8::1/64") == "2001:db8::/64"
	cidrs.base("2001:DB8::/32") == "2001:db8::/32"
	cidrs.base("2001:db8::1/128") == "2001:db8::1/128"
	cidrs.base("::1/0") == "::/0"
	not cidrs.base("10.0.0.1")
}

test_at_base_compares_addresses_not_strings if {
	every s in ["10.0.0.0/8", "0.0.0.0/0", "1.2.3.4/32", "::/0", "2001:DB8::/32", "2001:0db8:0000::/48", "2001:db8::1/128", "137.117.106.88/29"] {
		cidrs.at_base(s)
	}
	every s in ["10.0.0.1/8", "137.117.106.90/29", "2001:db8::1/64", "2001:DB8::1/32", "10.10.0.0/0", "::1/0"] {
		not cidrs.at_base(s)
	}
}

test_cidr_error if {
	cidrs.cidr_error("137.117.106.90/29", false) == "CIDR \"137.117.106.90/29\" is not at its network base address: use \"137.117.106.88/29\""
	cidrs.cidr_error("2001:db8::1/64", true) == "CIDR \"2001:db8::1/64\" is not at its network base address: use \"2001:db8::/64\""
	cidrs.cidr_error("10.0.0.1", false) == "CIDR \"10.0.0.1\" has no prefix length: use \"10.0.0.1/32\" for a single address"
	cidrs.cidr_error("2001:db8::1", false) == "CIDR \"2001:db8::1\" has no prefix length: use \"2001:db8::1/128\" for a single address"
	cidrs.cidr_error("IP1", true) == "CIDR \"IP1\" is not a valid CIDR (address/prefix-length, e.g. \"10.0.0.0/24\")"
	cidrs.cidr_error("", false) == "CIDR \"\" is not a valid CIDR (address/prefix-length, e.g. \"10.0.0.0/24\")"
	not cidrs.cidr_error("10.0.0.1", true)
	not cidrs.cidr_error("10.0.0.0/24", false)
	not cidrs.cidr_error("2001:DB8::/32", false)
	not cidrs.cidr_error(17, false)
}

test_strict_subset if {
	cidrs.strict_subset("172.17.1.0/24", "172.17.0.0/16")
	cidrs.strict_subset("169.254.169.254/32", "0.0.0.0/0")
	cidrs.strict_subset("2001:db8:1::/48", "2001:db8::/32")
	cidrs.strict_subset("10.1.0.0/16", "10.0.0.5/8")
	not cidrs.strict_subset("10.0.0.0/8", "10.0.0.0/8")
	not cidrs.strict_subset("10.0.0.0/8", "10.1.0.0/16")
	not cidrs.strict_subset("192.168.0.0/24", "10.0.0.0/8")
	not cidrs.strict_subset("2001:db8::/64", "10.0.0.0/8")
	not cidrs.strict_subset("10.0.0.0/16", "::/0")
}

test_prefix_length_must_be_canonical if {
	not cidrs.is_cidr("10.0.0.0/08")
	not cidrs.is_cidr("2001:db8::/032")
	cidrs.is_cidr("0.0.0.0/0")
	cidrs.cidr_error("10.0.0.0/08", false) == `CIDR "10.0.0.0/08" is not a valid CIDR (address/prefix-length, e.g. "10.0.0.0/24")`
}

test_ipv4_mapped_ipv6_base_keeps_its_family if {
	cidrs.base("::ffff:1.2.3.4/120") == "::ffff:1.2.3.0/120"
	cidrs.base("::ffff:1.2.3.4/96") == "::ffff:0.0.0.0/96"
	cidrs.cidr_error("::ffff:1.2.3.4/120", false) == `CIDR "::ffff:1.2.3.4/120" is not at its network base address: use "::ffff:1.2.3.0/120"`
	cidrs.at_base("::ffff:1.2.3.0/120")
}
