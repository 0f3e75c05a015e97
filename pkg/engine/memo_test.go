package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/wardsec/ward/pkg/manifest"
)

func compileForTest(t *testing.T, src string) *ast.Compiler {
	t.Helper()
	m, err := ast.ParseModuleWithOpts("test.rego", src, regoParseOptions)
	if err != nil {
		t.Fatal(err)
	}
	c := ast.NewCompiler()
	if c.Compile(map[string]*ast.Module{"test.rego": m}); c.Failed() {
		t.Fatal(c.Errors)
	}
	return c
}

// TestPurity checks which rules the memo may share across evaluations: those that
// read neither input nor a non-deterministic built-in, directly or through other rules.
func TestPurity(t *testing.T) {
	c := compileForTest(t, `package p

constant := {"a": 1}

by_name(ns) := count(data.inventory.namespace[ns]) if true

shout(s) := upper(s)

reads_input := input.review.object

uses_impure(x) := y if {
	y := reads_input[x]
}

uses_pure(x) := by_name(x)

now := time.now_ns()

through_now := now + 1

partial contains x if {
	some x in data.inventory.names
}

dynamic := data.q[input.name]

chain2 := chain1

chain1 := uses_impure("x")

wanted := {t | some t in input.parameters.types}

through_params := count(wanted)

bare_input := input

param_key := data.q[input.parameters.key]

param_then_input := x if {
	x := input.parameters.y
	input.review.name == "n"
}
`)
	p := analyse(c)
	if p == nil {
		t.Fatal("analyse refused a module without with statements")
	}
	want := map[string]bool{
		"constant": true, "by_name": true, "uses_pure": true, "partial": true,
		"reads_input": false, "uses_impure": false, "now": false, "through_now": false, "dynamic": false,
		"chain1": false, "chain2": false,
		// input.parameters is fixed for a rule's memo; input elsewhere is not.
		"wanted": true, "through_params": true, "param_key": true,
		"bare_input": false, "param_then_input": false,
	}
	for name, pure := range want {
		ref := ast.MustParseRef("data.p." + name)
		_, _, ok := p.lookup(ref)
		if ok != pure {
			t.Errorf("%s: memoizable %v, want %v", name, ok, pure)
		}
	}
	// A function's arguments are scalars, never anything else: not a composite value
	// (the object under review does not come back; finding one that does costs a deep
	// comparison), not a variable.
	fn := ast.Ref{ast.NewTerm(ast.MustParseRef("data.p.by_name")), ast.StringTerm("ns1")}
	if _, _, ok := p.lookup(fn); !ok {
		t.Error("by_name(\"ns1\") is not memoizable")
	}
	// A function that reads no inventory is memoizable too; the memo probes whether it
	// is worth it (TestMemoProbe).
	fn = ast.Ref{ast.NewTerm(ast.MustParseRef("data.p.shout")), ast.StringTerm("ns1")}
	if _, _, ok := p.lookup(fn); !ok {
		t.Error("shout(\"ns1\") is not memoizable")
	}
	for _, arg := range []*ast.Term{ast.ObjectTerm(), ast.ArrayTerm(ast.StringTerm("a")), ast.SetTerm(), ast.VarTerm("x")} {
		fn = ast.Ref{ast.NewTerm(ast.MustParseRef("data.p.by_name")), arg}
		if _, _, ok := p.lookup(fn); ok {
			t.Errorf("by_name(%v) is memoizable", arg)
		}
	}
}

// TestMemoProbe: a function that reads no inventory stops being memoized once its
// lookups show that its arguments seldom come back; one whose arguments do come back,
// and one that reads the inventory, stay memoized.
func TestMemoProbe(t *testing.T) {
	c := compileForTest(t, `package p

by_name(ns) := count(data.inventory.namespace[ns]) if true

shout(s) := upper(s)

constant := {"a": 1}
`)
	p := analyse(c)
	node := func(fn string) *pureNode {
		t.Helper()
		n, _, ok := p.lookup(ast.Ref{ast.NewTerm(ast.MustParseRef(fn)), ast.StringTerm("x")})
		if !ok {
			t.Fatalf("%s is not memoizable", fn)
		}
		return n
	}
	shout, byName := node("data.p.shout"), node("data.p.by_name")
	constant, _, _ := p.lookup(ast.MustParseRef("data.p.constant"))

	seldom := newMemo(p, 0)
	for i := range probeLookups {
		if !seldom.probeOf(shout).on() {
			t.Fatalf("turned off after %d lookups, before the probe ended", i)
		}
		seldom.probeOf(shout).record(i%5 == 0) // found one time in five
		seldom.probeOf(byName).record(false)
		seldom.probeOf(constant).record(false)
	}
	if seldom.probeOf(shout).on() {
		t.Error("a function found one lookup in five is still memoized")
	}
	if !seldom.probeOf(byName).on() || !seldom.probeOf(constant).on() {
		t.Error("a function that reads the inventory, or a rule, was turned off")
	}

	often := newMemo(p, 0)
	for i := range 2 * probeLookups {
		often.probeOf(shout).record(i%2 == 0) // found one time in two
	}
	if !often.probeOf(shout).on() {
		t.Error("a function found one lookup in two was turned off")
	}
}

// TestPurityParamsNeedNoWith: once any rule replaces input with "with",
// input.parameters is not the same everywhere in a query, and results that read it are
// not shared; input-independent ones still are.
func TestPurityParamsNeedNoWith(t *testing.T) {
	c := compileForTest(t, `package p

wanted := {t | some t in input.parameters.types}

constant := 1

g := y if {
	y := wanted with input as {"parameters": {"types": [1]}}
}
`)
	p := analyse(c)
	if p == nil {
		t.Fatal("analyse refused a with on input")
	}
	if _, _, ok := p.lookup(ast.MustParseRef("data.p.wanted")); ok {
		t.Error("a parameters-reading rule is memoizable next to a with on input")
	}
	if _, _, ok := p.lookup(ast.MustParseRef("data.p.constant")); !ok {
		t.Error("an input-independent rule is not memoizable")
	}
}

// TestPurityRefusesDataWith: a rule that replaces data or a function with "with" makes
// results depend on where they are computed, so nothing is shared.
func TestPurityRefusesDataWith(t *testing.T) {
	c := compileForTest(t, `package p

f := data.q.x

g := y if {
	y := f with data.q.x as 2
}
`)
	if analyse(c) != nil {
		t.Fatal("analyse accepted a with on data")
	}
}

// TestMemoMatchesPlainEvaluation evaluates every object of the examples and rule
// fixtures with and without the memo: the outcomes are the same.
func TestMemoMatchesPlainEvaluation(t *testing.T) {
	ctx := t.Context()
	eng, err := New(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if eng.purity == nil {
		t.Fatal("the embedded rules allow no memo")
	}
	// topdown alone, with and without the memo: the interpreter uses no memo.
	eng = withoutPlans(eng)
	plain := *eng
	plain.purity = nil
	reviews, inv := fixtureReviews(t)
	withMemo, err := eng.Prepare(ctx, inv, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	without, err := plain.Prepare(ctx, inv, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	// Twice with the memo: the second pass reads what the first one stored.
	for pass := range 2 {
		got := withMemo.EvaluateAll(ctx, reviews)
		want := without.EvaluateAll(ctx, reviews)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("pass %d: outcomes differ (-plain +memo):\n%s", pass, diff)
		}
	}
	n := 0
	for _, pr := range withMemo.rules {
		n += pr.memo.Load().n
	}
	if n == 0 {
		t.Error("nothing was memoized")
	}
}

// lookupRule is a user rule whose inventory lookup is a function of a namespace name:
// the memo shares its result across objects.
const lookupRule = `# METADATA
# title: Namespaces hold a policy
# custom:
#   id: has-policy
#   severity: error
#   remediation: Add one.
package ward.rules.has_policy

_has_policy(ns) := true if {
	some _ in data.inventory.namespace[ns]["networking.k8s.io/v1"].NetworkPolicy
} else := false

violation contains {"msg": "no policy", "details": {"path": []}} if {
	not _has_policy(input.review.namespace)
}
`

// TestMemoFollowsInventory: a write to the inventory drops what was memoized.
func TestMemoFollowsInventory(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "has_policy.rego"), []byte(lookupRule), 0o644); err != nil {
		t.Fatal(err)
	}
	eng, err := New(ctx, Options{PolicyDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := NewInventory(nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := eng.Prepare(ctx, inv, Settings{Enabled: []string{"has-policy"}})
	if err != nil {
		t.Fatal(err)
	}
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "shop"}}
	r := NewReview(pod, "default", false)
	for range 2 {
		if out := ev.Evaluate(ctx, r); len(out.Violations) != 1 {
			t.Fatalf("no policy yet: want 1 violation, got %+v", out)
		}
	}
	if n := ev.rules[0].memo.Load().n; n == 0 {
		t.Fatal("the lookup was not memoized")
	}
	policy := map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": "deny", "namespace": "shop"},
	}
	if err := inv.Put(ctx, InventoryItem{Namespace: "shop", APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Name: "deny", Object: policy}); err != nil {
		t.Fatal(err)
	}
	if out := ev.Evaluate(ctx, r); len(out.Violations) != 0 {
		t.Fatalf("after the policy was added: want no violation, got %+v", out.Violations)
	}
	if err := inv.Delete(ctx, "shop", "networking.k8s.io/v1", "NetworkPolicy", "deny"); err != nil {
		t.Fatal(err)
	}
	if out := ev.Evaluate(ctx, r); len(out.Violations) != 1 {
		t.Fatalf("after the policy was deleted: want 1 violation, got %+v", out.Violations)
	}
}

// fixtureReviews reads every manifest of the examples and the rule fixtures into reviews
// and one inventory of all of them.
func fixtureReviews(t *testing.T) ([]Review, *Inventory) {
	t.Helper()
	var files []string
	for _, root := range []string{"../../examples", "../../policies"} {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (filepath.Ext(p) == ".yaml" || filepath.Ext(p) == ".yml") {
				files = append(files, p)
			}
			return nil
		})
	}
	var reviews []Review
	var items []InventoryItem
	set := manifest.Read(t.Context(), files, manifest.Options{})
	for i, o := range set.Objects {
		r := NewReview(o.Value, "default", o.ARM)
		reviews = append(reviews, r)
		name := r.Name
		if name == "" {
			name = fmt.Sprint(i)
		}
		items = append(items, InventoryItem{Namespace: r.Namespace, APIVersion: o.APIVersion(), Kind: o.Kind(), Name: name, Object: o.Value})
	}
	if len(reviews) < 20 {
		t.Fatalf("only %d objects in the fixtures", len(reviews))
	}
	inv, err := NewInventory(items)
	if err != nil {
		t.Fatal(err)
	}
	return reviews, inv
}
