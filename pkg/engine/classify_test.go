package engine

import (
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestLibraryInventoryRules: of the embedded rules only default-deny reads
// data.inventory; ward lint evaluates the others while it reads.
func TestLibraryInventoryRules(t *testing.T) {
	eng, err := New(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"default-deny":             true,
		"drop-net-raw":             false,
		"cidr-base-address":        false,
		"namespace-scoped-ingress": false,
	}
	for id, reads := range want {
		if got := eng.ReadsInventory(id); got != reads {
			t.Errorf("ReadsInventory(%s) = %v, want %v", id, got, reads)
		}
	}
	if !eng.ReadsInventory("no-such-rule") {
		t.Error("an unknown rule must count as reading the inventory")
	}
}

// compileRules compiles rule modules (each a package below ward.rules with METADATA)
// into an Engine, as New does for --policy rules.
func compileRules(t *testing.T, srcs map[string]string) *Engine {
	t.Helper()
	modules := map[string]*ast.Module{}
	for name, src := range srcs {
		m, err := ast.ParseModuleWithOpts(name, src, regoParseOptions)
		if err != nil {
			t.Fatal(err)
		}
		modules[name] = m
	}
	e, err := compile(modules, false)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ruleModule(id, body string) string {
	return `# METADATA
# title: ` + id + `
# custom:
#   id: ` + strings.ReplaceAll(id, "_", "-") + `
#   severity: error
#   remediation: Fix it.
package ward.rules.` + id + `

` + body
}

// TestReadsInventory classifies rules by what they read, through any number of rules
// and functions, and conservatively where the analysis cannot tell.
func TestReadsInventory(t *testing.T) {
	helper := `package ward.lib.h

constant := 3

by_ns(ns) := count(data.inventory.namespace[ns])

indirect(x) := by_ns(x) + constant

other := data.ward.lib.h.constant

params_only := input.parameters.n
`
	cases := map[string]struct {
		body  string
		reads bool
	}{
		"local": {`violation contains {"msg": "x"} if input.review.object.kind == "Pod"`, false},
		"local_helpers": {`import data.ward.lib.h
violation contains {"msg": "x"} if { h.other == h.constant; h.params_only > 0 }`, false},
		"direct": {`violation contains {"msg": "x"} if data.inventory.cluster.v1.Namespace`, true},
		"through_two": {`import data.ward.lib.h
violation contains {"msg": "x"} if h.indirect(input.review.namespace) == 0`, true},
		"through_rule": {`_n := data.inventory.namespace
violation contains {"msg": "x"} if count(_n) > 0`, true},
		"input_and_inventory": {`violation contains {"msg": "x"} if {
	input.review.object.kind == "Pod"
	data.inventory.namespace[input.review.namespace]
}`, true},
	}
	srcs := map[string]string{"h.rego": helper}
	for id, c := range cases {
		srcs[id+".rego"] = ruleModule(id, c.body)
	}
	e := compileRules(t, srcs)
	for id, c := range cases {
		if got := e.ReadsInventory(strings.ReplaceAll(id, "_", "-")); got != c.reads {
			t.Errorf("ReadsInventory(%s) = %v, want %v", id, got, c.reads)
		}
	}
}

// TestReadsInventoryWithOnData: a "with" that replaces data can swap a reader of the
// inventory into any rule, so every rule counts as reading it.
func TestReadsInventoryWithOnData(t *testing.T) {
	e := compileRules(t, map[string]string{
		"a.rego": ruleModule("a", `violation contains {"msg": "x"} if input.review.object.kind == "Pod"`),
		"b.rego": ruleModule("b", `_f := 1
violation contains {"msg": "x"} if { _f == 2 with data.ward.rules.b._f as 2 }`),
	})
	for _, id := range []string{"a", "b"} {
		if !e.ReadsInventory(id) {
			t.Errorf("ReadsInventory(%s) = false with a with on data", id)
		}
	}
}

// TestDirectRefs: reads of data that may be the inventory (data itself, data[x]) count
// as reading it; reads of other documents below data (rules) do not. These cannot be
// compiled into a rule set without making every rule recursive, so the rules are
// parsed only.
func TestDirectRefs(t *testing.T) {
	cases := map[string]bool{
		`p := data`:                                true,
		`p(k) := data[k]`:                          true,
		`p := data.inventory`:                      true,
		`p := data.inventory.namespace["a"]`:       true,
		`p := data.ward.lib.x`:                     false,
		`p := input.review.object`:                 false,
		`p if { x := data.ward[y]; y == input.x }`: false,
	}
	for src, want := range cases {
		m, err := ast.ParseModuleWithOpts("t.rego", "package t\n"+src, regoParseOptions)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, got := directRefs(m.Rules[0]); got != want {
			t.Errorf("%s: reads = %v, want %v", src, got, want)
		}
	}
}
