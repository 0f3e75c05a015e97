package engine

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
)

// inventoryPair builds the same inventory twice, in memory (NewInventory) and compact
// (NewCompactInventory), from the test corpora, with cluster-scoped objects and an
// identity given twice (the later one wins in both).
func inventoryPair(t *testing.T) (mem, lazy *Inventory, items []InventoryItem) {
	t.Helper()
	objects := corpusObjects(t)
	var compact []CompactItem
	add := func(ns, av, kind, name string, obj map[string]any) {
		v, err := NewValue(obj)
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Compact()
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, InventoryItem{Namespace: ns, APIVersion: av, Kind: kind, Name: name, Value: v})
		compact = append(compact, CompactItem{Namespace: ns, APIVersion: av, Kind: kind, Name: name, Value: c})
	}
	for i, o := range objects {
		r := NewReview(o.Value, "default", o.ARM)
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("%s:%d", o.File, o.Line)
		}
		add(r.Namespace, o.APIVersion(), o.Kind(), name, o.Value)
		if i == 3 {
			// The same identity again, with another value: the later one wins.
			add(r.Namespace, o.APIVersion(), o.Kind(), name, map[string]any{"replaced": true, "list": []any{"a", "b"}})
		}
	}
	add("", "v1", "Namespace", "shop", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop", "deletionTimestamp": "2024-01-01T00:00:00Z"}})
	add("", "rbac.authorization.k8s.io/v1", "ClusterRole", "view", map[string]any{"kind": "ClusterRole", "rules": []any{}})
	mem, err := NewInventory(items)
	if err != nil {
		t.Fatal(err)
	}
	return mem, NewCompactInventory(slices.Values(compact)), items
}

func read(t *testing.T, inv *Inventory, path storage.Path) (ast.Value, bool) {
	t.Helper()
	ctx := t.Context()
	txn, err := inv.store.NewTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer inv.store.Abort(ctx, txn)
	v, err := inv.store.Read(ctx, txn, path)
	if storage.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("read %v: %v", path, err)
	}
	av, ok := v.(ast.Value)
	if !ok {
		t.Fatalf("read %v: %T, want an ast.Value", path, v)
	}
	return av, true
}

// TestLazyStoreReadsAsInmem reads both stores at every depth, from the root to fields
// inside objects, and at paths that are not there: the answers are the same.
func TestLazyStoreReadsAsInmem(t *testing.T) {
	mem, lazy, items := inventoryPair(t)
	paths := []storage.Path{
		{}, {"inventory"}, {"inventory", "namespace"}, {"inventory", "cluster"}, {"nothing"},
		{"inventory", "nothing"}, {"inventory", "namespace", "no-such-ns"},
		{"inventory", "cluster", "v1", "Namespace", "shop", "metadata", "deletionTimestamp"},
		{"inventory", "cluster", "v1", "Namespace", "gone", "metadata"},
	}
	for _, it := range items {
		base := storage.Path{"inventory", "cluster"}
		if it.Namespace != "" {
			base = storage.Path{"inventory", "namespace", it.Namespace}
		}
		obj := append(slices.Clone(base), it.APIVersion, it.Kind, it.Name)
		for i := len(base); i <= len(obj); i++ {
			paths = append(paths, obj[:i], append(slices.Clone(obj[:i]), "absent"))
		}
		for _, in := range [][]string{
			{"metadata"}, {"metadata", "name"}, {"kind"}, {"kind", "x"}, {"list", "1"}, {"list", "2"},
			{"list", "x"}, {"list", "-1"}, {"spec", "template", "spec", "containers", "0", "name"},
			{"spec", "template", "spec", "containers", "00"}, {"spec", "ingress", "0", "from"},
		} {
			paths = append(paths, append(slices.Clone(obj), in...))
		}
	}
	// Read each twice: the second read may come from the lazy store's cache.
	for pass := range 2 {
		for _, p := range paths {
			want, wantOK := read(t, mem, p)
			got, gotOK := read(t, lazy, p)
			if wantOK != gotOK {
				t.Fatalf("pass %d, %v: found %v, inmem found %v", pass, p, gotOK, wantOK)
			}
			if wantOK && got.Compare(want) != 0 {
				t.Fatalf("pass %d, %v: differs from inmem:\n got %v\nwant %v", pass, p, got, want)
			}
		}
	}
	if _, err := lazy.store.NewTransaction(t.Context(), storage.WriteParams); err != nil {
		t.Fatal(err)
	}
	if err := lazy.Put(t.Context(), InventoryItem{Namespace: "a", APIVersion: "v1", Kind: "Pod", Name: "p", Object: map[string]any{}}); err == nil {
		t.Error("Put on the compact inventory did not fail")
	}
}

// TestLazyStoreCache: a namespace read once is made lazily, and builds nothing until
// read into; read again, it is built whole and kept; later reads of it and below it
// build nothing. What does not fit the bound is never kept.
func TestLazyStoreCache(t *testing.T) {
	_, lazy, items := inventoryPair(t)
	s := lazy.store.(*lazyStore)
	counts := map[string]int{}
	for _, it := range items {
		if it.Namespace != "" {
			counts[it.Namespace]++
		}
	}
	ns := slices.MaxFunc(slices.Collect(maps.Keys(counts)), func(a, b string) int { return counts[a] - counts[b] })
	p := storage.Path{"inventory", "namespace", ns}
	builds := func(f func()) int64 {
		before := s.builds.Load()
		f()
		return s.builds.Load() - before
	}
	n := int64(0)
	for _, kinds := range s.namespaces[ns].versions {
		for _, names := range kinds {
			n += int64(len(names))
		}
	}
	for i, wantBuilds := range []int64{0, n, 0, 0} {
		if got := builds(func() { read(t, lazy, p) }); got != wantBuilds {
			t.Fatalf("read %d of %s: %d objects built, want %d", i+1, ns, got, wantBuilds)
		}
	}
	// Below the cached namespace: nothing built.
	for _, it := range items {
		if it.Namespace == ns {
			if got := builds(func() {
				read(t, lazy, storage.Path{"inventory", "namespace", ns, it.APIVersion, it.Kind, it.Name, "kind"})
			}); got != 0 {
				t.Fatalf("a read below a cached namespace built %d objects", got)
			}
		}
	}
	// A bound smaller than the namespace: never kept.
	s.cacheLimit = s.namespaces[ns].size - 1
	clear(s.cache.entries)
	s.cache.lru.Init()
	s.cache.size = 0
	for i, wantBuilds := range []int64{0, n, n, n} {
		if got := builds(func() { read(t, lazy, p) }); got != wantBuilds {
			t.Fatalf("read %d of a namespace over the bound: %d built, want %d", i+1, got, wantBuilds)
		}
	}
}

// TestLazyStoreBuildsWhatIsRead: a namespace read for the first time builds only the
// objects a rule then reads, as default-deny reads a namespace's NetworkPolicies, and
// what it builds is what the in-memory store holds.
func TestLazyStoreBuildsWhatIsRead(t *testing.T) {
	mem, lazy, items := inventoryPair(t)
	s := lazy.store.(*lazyStore)
	var it InventoryItem
	for _, x := range items {
		if x.Namespace != "" && len(s.namespaces[x.Namespace].versions) > 1 {
			it = x
			break
		}
	}
	if it.Namespace == "" {
		t.Fatal("no namespace with objects of two apiVersions in the corpora")
	}
	before := s.builds.Load()
	ns, ok := read(t, lazy, storage.Path{"inventory", "namespace", it.Namespace})
	if !ok {
		t.Fatal("namespace not found")
	}
	if got := ns.(ast.Object).Len(); got != len(s.namespaces[it.Namespace].versions) {
		t.Fatalf("%d apiVersions, want %d", got, len(s.namespaces[it.Namespace].versions))
	}
	names := ns.(ast.Object).Get(ast.StringTerm(it.APIVersion)).Value.(ast.Object).Get(ast.StringTerm(it.Kind)).Value.(ast.Object)
	obj := names.Get(ast.StringTerm(it.Name))
	if got := s.builds.Load() - before; got != 1 {
		t.Fatalf("reading one object of a namespace built %d", got)
	}
	want, _ := read(t, mem, storage.Path{"inventory", "namespace", it.Namespace, it.APIVersion, it.Kind, it.Name})
	if obj == nil || obj.Value.Compare(want) != 0 {
		t.Fatalf("object read lazily:\n got %v\nwant %v", obj, want)
	}
	// Iterating over a kind builds its objects, no others.
	before = s.builds.Load()
	names.Foreach(func(*ast.Term, *ast.Term) {})
	if got, want := s.builds.Load()-before, int64(len(s.namespaces[it.Namespace].versions[it.APIVersion][it.Kind])); got != want {
		t.Fatalf("iterating over %s %s built %d, want %d", it.APIVersion, it.Kind, got, want)
	}
}

// TestCompactJSON: the JSON of a compact value reads back as the value itself, and
// what JSON cannot hold fails instead of changing.
func TestCompactJSON(t *testing.T) {
	for _, src := range []string{
		`{"a": [1, 2.5, -3e10, "x\"y\\z\n\t\r\u0001\u001f é ✓ 🙂", null, true, false, {}], "kind": "Deployment", "": ""}`,
		`[]`, `"<>&\u2028"`, `12345678901234567890123`,
	} {
		jsonRoundTrip(t, ast.MustParseTerm(src).Value)
	}
	for _, v := range []ast.Value{ast.NewSet(ast.IntNumberTerm(1)), ast.NewObject(ast.Item(ast.IntNumberTerm(1), ast.NullTerm())), ast.String("\xff")} {
		c, err := (&Value{value: v}).Compact()
		if err != nil {
			t.Fatal(err)
		}
		if js, err := c.appendJSON(nil); err == nil {
			t.Errorf("%v: JSON %s, want an error", v, js)
		}
	}
}

// jsonRoundTrip checks that v's compact form writes JSON that reads back as v.
func jsonRoundTrip(t *testing.T, v ast.Value) {
	t.Helper()
	c, err := (&Value{value: v}).Compact()
	if err != nil {
		t.Fatal(err)
	}
	js, err := c.appendJSON(nil)
	if err != nil {
		t.Fatalf("%v: no JSON: %v", v, err)
	}
	back, err := ast.ValueFromReader(bytes.NewReader(js))
	if err != nil || back.Compare(v) != 0 {
		t.Fatalf("%v: its JSON %s reads back as %v (%v)", v, js, back, err)
	}
}

// TestLazyObjectFailureIsRuleError: an inventory object that has no JSON form (a set,
// which no manifest decodes to) makes OPA panic when a rule reads it lazily; that is
// an error of the rule on the object under review, not a crash, and the next read,
// built whole, succeeds.
func TestLazyObjectFailureIsRuleError(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	rule := `# METADATA
# title: Reads every Widget of the namespace
# custom:
#   id: widgets
#   severity: error
#   remediation: None.
package ward.rules.widgets

violation contains {"msg": sprintf("%d widgets", [count(ws)]), "details": {"path": []}} if {
	ns := input.review.object.metadata.namespace
	ws := [w | some av; data.inventory.namespace[ns][av]; some w in data.inventory.namespace[ns][av].Widget]
}
`
	if err := os.WriteFile(filepath.Join(dir, "widgets.rego"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	eng, err := New(ctx, Options{PolicyDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := (&Value{value: ast.NewObject(ast.Item(ast.StringTerm("tags"), ast.SetTerm(ast.StringTerm("a"))))}).Compact()
	if err != nil {
		t.Fatal(err)
	}
	inv := NewCompactInventory(slices.Values([]CompactItem{{Namespace: "shop", APIVersion: "example.com/v1", Kind: "Widget", Name: "w", Value: c}}))
	ev, err := eng.Prepare(ctx, inv, Settings{Enabled: []string{"widgets"}})
	if err != nil {
		t.Fatal(err)
	}
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "namespace": "shop"}}
	out := ev.Evaluate(ctx, NewReview(pod, "default", false))
	if len(out.Errors) != 1 || out.Errors[0].RuleID != "widgets" || !strings.Contains(out.Errors[0].Error(), "set has no JSON form") {
		t.Fatalf("first read: want one error of rule widgets about the set, got %+v", out)
	}
	out = ev.Evaluate(ctx, NewReview(pod, "default", false))
	if len(out.Errors) != 0 || len(out.Violations) != 1 || out.Violations[0].Message != "1 widgets" {
		t.Fatalf("second read: want the violation \"1 widgets\", got %+v", out)
	}
}
