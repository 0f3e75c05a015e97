package lint

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wardsec/ward/pkg/engine"
)

// FuzzCIDR checks the cidr-base-address rule, compiled and evaluated by the engine as
// lint and serve run it, against a reference built on net/netip. Each run puts two CIDRs
// in a NetworkPolicy's ipBlock.cidr: text as the fuzzer mutates it, and a prefix built
// from random address bytes and a prefix length. The rule must flag exactly the texts
// that do not parse as a prefix (a bare address gets the "no prefix length" message) and
// the prefixes with host bits set, naming netip.Prefix.Masked() as the base to use.
func FuzzCIDR(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8", "10.0.0.5/8", "137.117.106.90/29", "137.117.106.88/29", "0.0.0.0/0", "1.2.3.4/0",
		"1.2.3.4/32", "255.255.255.255/31", "2001:db8::1/64", "2001:DB8::/32", "::/0", "::1/128", "fe80::1/10",
		"::1.2.3.4/120", "1.2.3.4", "::1", "010.0.0.0/8", "10.0.0.0/33", "10.0.0.0/+8", "10.0.0.0/ 8",
		" 10.0.0.0/8", "10.0.0.0/8 ", "fe80::1%eth0/64", "MY_EXTERNAL_IP_RANGE", "10.0.0.0/8#note", "", "/", "1.2.3.4/",
		"2001:db8::/129", "1:2:3:4:5:6:7:8/127", "1:2:3:4:5:6:7:8:9/64",
		"10.0.0.0/08", "10.0.0.1/008", "::ffff:1.2.3.4/120", "::ffff:1.2.3.4/96", "::ffff:1.2.3.0/120",
	} {
		f.Add(s, []byte{10, 1, 2, 3}, uint8(8))
	}
	f.Add("", []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint8(64))
	f.Add("", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}, uint8(104))

	ev := cidrEvaluator(f)
	f.Fuzz(func(t *testing.T, text string, addr []byte, bits uint8) {
		// ward's reader refuses text that is not UTF-8; the rule never sees it.
		if !utf8.ValidString(text) {
			return
		}
		cidrs := []string{text, prefixText(addr, bits)}
		got := evaluateCIDRs(t, ev, cidrs)
		for i, c := range cidrs {
			want := referenceCIDR(c)
			switch {
			case want == "" && len(got[i]) > 0:
				t.Errorf("%q: the rule says %q; netip says it is a CIDR at its base address", c, got[i])
			case want != "" && (len(got[i]) != 1 || got[i][0] != want):
				t.Errorf("%q: the rule says %q\nwant %q", c, got[i], want)
			}
		}
	})
}

func cidrEvaluator(tb testing.TB) *engine.Evaluator {
	tb.Helper()
	eng, err := engine.New(tb.Context(), engine.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ev, err := eng.Prepare(tb.Context(), nil, engine.Settings{Enabled: []string{"cidr-base-address"}})
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

// evaluateCIDRs puts each CIDR in an ipBlock.cidr of one NetworkPolicy and returns the
// rule's messages for each.
func evaluateCIDRs(t *testing.T, ev *engine.Evaluator, cidrs []string) [][]string {
	t.Helper()
	var peers []any
	for _, c := range cidrs {
		peers = append(peers, map[string]any{"ipBlock": map[string]any{"cidr": c}})
	}
	obj := map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": map[string]any{"name": "fuzz"},
		"spec": map[string]any{"podSelector": map[string]any{}, "ingress": []any{map[string]any{"from": peers}}},
	}
	out := ev.Evaluate(t.Context(), engine.NewReview(obj, "default", false))
	if len(out.Errors) > 0 {
		t.Fatalf("the rule failed on %q: %v", cidrs, out.Errors)
	}
	got := make([][]string, len(cidrs))
	for _, v := range out.Violations {
		i, ok := peerIndex(v.Path)
		if !ok {
			t.Fatalf("finding at unexpected path %v: %s", v.Path, v.Message)
		}
		got[i] = append(got[i], v.Message)
	}
	return got
}

// referenceCIDR is what the rule must say of s in ipBlock.cidr, from net/netip; "" for
// nothing.
func referenceCIDR(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		if m := p.Masked(); m != p {
			return fmt.Sprintf("CIDR %q is not at its network base address: use %q", s, m.String())
		}
		return ""
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		bits := 32
		if strings.Contains(s, ":") {
			bits = 128
		}
		return fmt.Sprintf("CIDR %q has no prefix length: use %q for a single address", s, s+"/"+strconv.Itoa(bits))
	}
	return fmt.Sprintf("CIDR %q is not a valid CIDR (address/prefix-length, e.g. \"10.0.0.0/24\")", s)
}

// prefixText writes a prefix from fuzzed bytes: 16 or more bytes make an IPv6 address,
// fewer an IPv4 one (zero-padded); the length is taken modulo the family's bits + 1.
func prefixText(addr []byte, bits uint8) string {
	var a netip.Addr
	if len(addr) >= 16 {
		a = netip.AddrFrom16([16]byte(addr[:16]))
	} else {
		var b [4]byte
		copy(b[:], addr)
		a = netip.AddrFrom4(b)
	}
	return netip.PrefixFrom(a, int(bits)%(a.BitLen()+1)).String()
}

// peerIndex reads i from the path spec.ingress[0].from[i].ipBlock.cidr.
func peerIndex(p []any) (int, bool) {
	if len(p) != 7 || p[3] != "from" || p[5] != "ipBlock" || p[6] != "cidr" {
		return 0, false
	}
	i, ok := p[4].(int)
	return i, ok
}
