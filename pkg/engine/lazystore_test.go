package engine

import (
	"fmt"
	"maps"
	"slices"
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

// TestLazyStoreCache: a namespace read once is built and let go; read again, it is
// built once more and kept; later reads of it and below it build nothing. What does
// not fit the bound is never kept.
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
	for i, wantBuilds := range []int64{n, n, 0, 0} {
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
	for range 3 {
		if got := builds(func() { read(t, lazy, p) }); got != n {
			t.Fatalf("a namespace over the bound: %d built, want %d", got, n)
		}
	}
}
