package engine

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/util"
)

// An offline run over a large manifest set cannot hold every object converted: at
// 175,000 objects of ~12 KB each that is 2 GB of live heap before anything is
// evaluated. The lazy store holds each object of the inventory in compact form and
// builds the part of data.inventory that a rule reads when it reads it.
//
// OPA's evaluator reads the store at the longest ground prefix of a reference below
// data (topdown's evalTree): data.inventory.namespace[ns] with ns bound reads
// /inventory/namespace/<ns>, and only that namespace is built; iterating over
// data.inventory.namespace[_] reads /inventory/namespace and builds every namespace.
// What the store returns as an ast.Value goes to the evaluator unconverted, and the
// evaluator caches it for the rest of the query (its base cache), so one query builds
// a subtree once.
//
// A level of the tree (a namespace, an apiVersion or a kind in one) read for the first
// time is not built: it goes to the evaluator as OPA's lazy object, and the objects in
// it are decoded when a rule reads them (lazily). default-deny, which reads each
// namespace once (the engine's memo keeps its answer) and only its NetworkPolicies,
// builds those alone.
//
// Across queries, a path read a second time is built whole and kept in a cache bounded
// by the compact size of what it holds, least recently used first out: a rule that
// reads a namespace for every object of it builds it once more, not once per object,
// and a subtree read once is never held.

// CompactItem is one object of a compact inventory. Namespace is resolved ("" for
// cluster-scoped objects).
type CompactItem struct {
	Namespace, APIVersion, Kind, Name string
	Value                             Compact
}

// NewCompactInventory builds a read-only inventory of items, for an offline run: Put
// and Delete fail on it. Where items share an identity, the later one is kept, as
// NewInventory keeps it. items is read once, while the index is built: a caller with
// many objects need not make a slice of them.
func NewCompactInventory(items iter.Seq[CompactItem]) *Inventory {
	s := &lazyStore{namespaces: map[string]*tree{}, cluster: &tree{}, cacheLimit: defaultCacheLimit}
	s.cache.entries = map[string]*list.Element{}
	s.cache.seen = map[string]bool{}
	for it := range items {
		t := s.cluster
		if it.Namespace != "" {
			t = s.namespaces[it.Namespace]
			if t == nil {
				t = &tree{}
				s.namespaces[it.Namespace] = t
			}
		}
		t.put(it)
	}
	return &Inventory{store: s}
}

// defaultCacheLimit bounds the lazy store's cache, in compact bytes (a built subtree
// is some twenty times larger): ~50 MB of built values.
const defaultCacheLimit = 2 << 20

// tree is the objects of one namespace, or the cluster-scoped ones, by apiVersion,
// kind and name.
type tree struct {
	versions map[string]map[string]map[string]Compact
	size     int // compact bytes of everything below
}

func (t *tree) put(it CompactItem) {
	if t.versions == nil {
		t.versions = map[string]map[string]map[string]Compact{}
	}
	kinds := t.versions[it.APIVersion]
	if kinds == nil {
		kinds = map[string]map[string]Compact{}
		t.versions[it.APIVersion] = kinds
	}
	names := kinds[it.Kind]
	if names == nil {
		names = map[string]Compact{}
		kinds[it.Kind] = names
	}
	if old, ok := names[it.Name]; ok {
		t.size -= old.Size()
	}
	names[it.Name] = it.Value
	t.size += it.Value.Size()
}

// lazyStore is the storage.Store of a compact inventory: data is {"inventory":
// {"namespace": {ns: tree}, "cluster": tree}}, built when read.
type lazyStore struct {
	storage.WritesNotSupported
	storage.PolicyNotSupported
	storage.TriggersNotSupported

	namespaces map[string]*tree
	cluster    *tree
	txns       atomic.Uint64

	cacheLimit int
	cache      struct {
		mu      sync.Mutex
		entries map[string]*list.Element // of *cached, by path key
		lru     list.List                // most recently used first
		size    int
		// seen holds the paths read once and not cached: a path is cached the second
		// time it is read. Cleared when large; that only delays caching.
		seen map[string]bool
	}
	// builds counts the objects decoded, for tests.
	builds atomic.Int64
}

type cached struct {
	key   string
	value ast.Value
	size  int
}

// maxSeen bounds lazyStore.cache.seen.
const maxSeen = 1 << 16

type lazyTxn uint64

func (t lazyTxn) ID() uint64 { return uint64(t) }

func (s *lazyStore) NewTransaction(context.Context, ...storage.TransactionParams) (storage.Transaction, error) {
	return lazyTxn(s.txns.Add(1)), nil
}

func (s *lazyStore) Commit(context.Context, storage.Transaction) error { return nil }

func (s *lazyStore) Abort(context.Context, storage.Transaction) {}

func (s *lazyStore) Truncate(context.Context, storage.Transaction, storage.TransactionParams, storage.Iterator) error {
	return errors.New("the compact inventory is read-only")
}

func notFound(path storage.Path) error {
	return &storage.Error{Code: storage.NotFoundErr, Message: path.String() + ": document does not exist"}
}

// Read builds the document at path. Paths at or above an object are served from the
// cache or built and offered to it; a path into an object builds that object and
// walks into it as OPA's in-memory store would.
func (s *lazyStore) Read(_ context.Context, _ storage.Transaction, path storage.Path) (any, error) {
	// The part of path that names subtrees of the inventory (at most down to an
	// object), and the rest, into an object.
	depth := len(path)
	switch {
	case len(path) >= 2 && path[0] == "inventory" && path[1] == "namespace":
		depth = min(depth, 6)
	case len(path) >= 2 && path[0] == "inventory" && path[1] == "cluster":
		depth = min(depth, 5)
	}
	v, err := s.subtree(path[:depth])
	if err != nil {
		return nil, err
	}
	if depth == len(path) {
		return v, nil
	}
	return walkValue(v, path[depth:], path)
}

// subtree returns the document at path (no deeper than an object), from the cache,
// built lazily the first time it is read, or built whole after that.
func (s *lazyStore) subtree(path storage.Path) (ast.Value, error) {
	key := strings.Join(path, "\x00")
	if v, ok := s.cached(key); ok {
		return v, nil
	}
	// A cached ancestor holds it already (a namespace read again, then one of its
	// objects).
	for i := range slices.Backward(path) {
		if anc, ok := s.cached(strings.Join(path[:i], "\x00")); ok {
			return walkValue(anc, path[i:], path)
		}
	}
	first := s.firstRead(key)
	if first && treeLevel(path) {
		return s.lazily(path)
	}
	v, size, err := s.build(path)
	if err != nil {
		return nil, err
	}
	if !first {
		s.offer(key, v, size)
	}
	return v, nil
}

// treeLevel says whether path names a level of the inventory's tree above its objects:
// every namespace, one namespace, or an apiVersion or a kind within one; the cluster's
// objects, or an apiVersion or a kind among them.
func treeLevel(path storage.Path) bool {
	if len(path) < 2 || path[0] != "inventory" {
		return false
	}
	switch path[1] {
	case "namespace":
		return len(path) <= 5
	case "cluster":
		return len(path) <= 4
	}
	return false
}

// lazily returns the tree level at path as OPA's lazy object (ast.LazyObject): its
// children are made when the evaluator reads them by key, each object of the
// inventory decoded only if a rule reads it or iterates over its kind (lazyObject).
// default-deny asks of a namespace only whether one of its NetworkPolicies denies all:
// read this way, a namespace of 3,500 objects builds its few NetworkPolicies, not
// 40 MB of values. A lazy object is not safe for concurrent use (it caches what it
// converts), so it is made for one read, and the evaluator's cache of the query holds
// it; it is never cached here.
func (s *lazyStore) lazily(path storage.Path) (ast.Value, error) {
	var t *tree
	rest := path[2:]
	switch path[1] {
	case "cluster":
		t = s.cluster
	case "namespace":
		if len(rest) == 0 {
			all := make(map[string]any, len(s.namespaces))
			for ns, t := range s.namespaces {
				all[ns] = s.nativeTree(t)
			}
			return ast.LazyObject(all), nil
		}
		if t = s.namespaces[rest[0]]; t == nil {
			return nil, notFound(path)
		}
		rest = rest[1:]
	}
	switch len(rest) {
	case 0:
		return ast.LazyObject(s.nativeTree(t)), nil
	case 1:
		if kinds, ok := t.versions[rest[0]]; ok {
			return ast.LazyObject(s.nativeKinds(kinds)), nil
		}
	case 2:
		if names, ok := t.versions[rest[0]][rest[1]]; ok {
			return ast.LazyObject(s.nativeNames(names)), nil
		}
	}
	return nil, notFound(path)
}

// The native forms of a tree's levels are Go maps, which ast.LazyObject turns into
// lazy objects level by level as they are read, down to the objects.

func (s *lazyStore) nativeTree(t *tree) map[string]any {
	m := make(map[string]any, len(t.versions))
	for av, kinds := range t.versions {
		m[av] = s.nativeKinds(kinds)
	}
	return m
}

func (s *lazyStore) nativeKinds(kinds map[string]map[string]Compact) map[string]any {
	m := make(map[string]any, len(kinds))
	for kind, names := range kinds {
		m[kind] = s.nativeNames(names)
	}
	return m
}

func (s *lazyStore) nativeNames(names map[string]Compact) map[string]any {
	m := make(map[string]any, len(names))
	for name, c := range names {
		m[name] = lazyObject{s: s, c: c}
	}
	return m
}

// lazyObject is an object of the inventory below a lazy tree level. OPA converts a Go
// value that is neither a map, a slice nor a scalar through JSON (ast.InterfaceToValue,
// util.RoundTrip): this is the hook that decodes the object only when it is read. Its
// JSON is written straight from the compact form.
type lazyObject struct {
	s *lazyStore
	c Compact
}

// MarshalJSON writes the object as JSON. It fails only for a value JSON cannot hold
// (a set, a key that is not a string, a string that is not UTF-8), which no manifest
// decodes to; OPA panics on the failure, and Evaluator.eval turns that into a rule
// error.
func (o lazyObject) MarshalJSON() ([]byte, error) {
	o.s.builds.Add(1)
	return o.c.appendJSON(make([]byte, 0, 2*len(o.c.data)))
}

// firstRead records a read of the path at key and says whether it is the first since
// the path was last cached (or since seen was last cleared).
func (s *lazyStore) firstRead(key string) bool {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	if s.cache.seen[key] {
		return false
	}
	if len(s.cache.seen) >= maxSeen {
		clear(s.cache.seen)
	}
	s.cache.seen[key] = true
	return true
}

func (s *lazyStore) cached(key string) (ast.Value, bool) {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	e, ok := s.cache.entries[key]
	if !ok {
		return nil, false
	}
	s.cache.lru.MoveToFront(e)
	return e.Value.(*cached).value, true
}

// offer caches v, built whole because its path was read before, if it fits, evicting
// the least recently used entries.
func (s *lazyStore) offer(key string, v ast.Value, size int) {
	if size > s.cacheLimit {
		return
	}
	// Cached values are read by concurrent evaluations: see freeze. Outside the lock.
	freeze(v)
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	if _, ok := s.cache.entries[key]; ok {
		return // another reader cached it meanwhile
	}
	delete(s.cache.seen, key)
	for s.cache.size+size > s.cacheLimit {
		last := s.cache.lru.Back()
		c := last.Value.(*cached)
		s.cache.lru.Remove(last)
		delete(s.cache.entries, c.key)
		s.cache.size -= c.size
	}
	s.cache.entries[key] = s.cache.lru.PushFront(&cached{key: key, value: v, size: size})
	s.cache.size += size
}

// build builds the document at path, no deeper than an object, and returns it with
// its compact size.
func (s *lazyStore) build(path storage.Path) (ast.Value, int, error) {
	if len(path) == 0 {
		inv, size, err := s.build(storage.Path{"inventory"})
		if err != nil {
			return nil, 0, err
		}
		return ast.NewObject(ast.Item(ast.InternedTerm("inventory"), ast.NewTerm(inv))), size, nil
	}
	if path[0] != "inventory" {
		return nil, 0, notFound(path)
	}
	if len(path) == 1 {
		ns, nsSize, err := s.build(storage.Path{"inventory", "namespace"})
		if err != nil {
			return nil, 0, err
		}
		cl, clSize, err := s.build(storage.Path{"inventory", "cluster"})
		if err != nil {
			return nil, 0, err
		}
		return ast.NewObject(
			ast.Item(ast.InternedTerm("namespace"), ast.NewTerm(ns)),
			ast.Item(ast.InternedTerm("cluster"), ast.NewTerm(cl)),
		), nsSize + clSize, nil
	}
	switch path[1] {
	case "cluster":
		return s.buildTree(s.cluster, path[2:], path)
	case "namespace":
		if len(path) == 2 {
			items := make([][2]*ast.Term, 0, len(s.namespaces))
			size := 0
			for ns, t := range s.namespaces {
				v, n, err := s.buildTree(t, nil, path)
				if err != nil {
					return nil, 0, err
				}
				items = append(items, ast.Item(ast.StringTerm(ns), ast.NewTerm(v)))
				size += n
			}
			return ast.NewObject(items...), size, nil
		}
		t := s.namespaces[path[2]]
		if t == nil {
			return nil, 0, notFound(path)
		}
		return s.buildTree(t, path[3:], path)
	}
	return nil, 0, notFound(path)
}

// buildTree builds the part of t at rest: [apiVersion [kind [name]]].
func (s *lazyStore) buildTree(t *tree, rest, path storage.Path) (ast.Value, int, error) {
	if len(rest) == 0 {
		items := make([][2]*ast.Term, 0, len(t.versions))
		for av, kinds := range t.versions {
			v, _, err := s.buildKinds(kinds, nil, path)
			if err != nil {
				return nil, 0, err
			}
			items = append(items, ast.Item(ast.StringTerm(av), ast.NewTerm(v)))
		}
		return ast.NewObject(items...), t.size, nil
	}
	kinds, ok := t.versions[rest[0]]
	if !ok {
		return nil, 0, notFound(path)
	}
	return s.buildKinds(kinds, rest[1:], path)
}

func (s *lazyStore) buildKinds(kinds map[string]map[string]Compact, rest, path storage.Path) (ast.Value, int, error) {
	if len(rest) == 0 {
		items := make([][2]*ast.Term, 0, len(kinds))
		size := 0
		for kind, names := range kinds {
			v, n, err := s.buildNames(names, nil, path)
			if err != nil {
				return nil, 0, err
			}
			items = append(items, ast.Item(ast.StringTerm(kind), ast.NewTerm(v)))
			size += n
		}
		return ast.NewObject(items...), size, nil
	}
	names, ok := kinds[rest[0]]
	if !ok {
		return nil, 0, notFound(path)
	}
	return s.buildNames(names, rest[1:], path)
}

func (s *lazyStore) buildNames(names map[string]Compact, rest, path storage.Path) (ast.Value, int, error) {
	if len(rest) == 0 {
		items := make([][2]*ast.Term, 0, len(names))
		size := 0
		for name, c := range names {
			v, err := s.decode(c, path)
			if err != nil {
				return nil, 0, err
			}
			items = append(items, ast.Item(ast.StringTerm(name), ast.NewTerm(v)))
			size += c.Size()
		}
		return ast.NewObject(items...), size, nil
	}
	c, ok := names[rest[0]]
	if !ok {
		return nil, 0, notFound(path)
	}
	v, err := s.decode(c, path)
	return v, c.Size(), err
}

func (s *lazyStore) decode(c Compact, path storage.Path) (ast.Value, error) {
	s.builds.Add(1)
	v, err := decodeCompact(c.data)
	if err != nil {
		return nil, fmt.Errorf("read %v: %w", path, err)
	}
	return v, nil
}

// walkValue follows rest into v as OPA's in-memory store does (storage/internal/ptr):
// object keys as strings, array indexes as decimal text, nothing into scalars.
func walkValue(v ast.Value, rest, path storage.Path) (ast.Value, error) {
	for _, key := range rest {
		switch x := v.(type) {
		case ast.Object:
			t := x.Get(ast.StringTerm(key))
			if t == nil {
				return nil, notFound(path)
			}
			v = t.Value
		case *ast.Array:
			i, ok := util.Atoi(key)
			if !ok || i < 0 || i >= x.Len() {
				return nil, notFound(path)
			}
			v = x.Elem(i).Value
		default:
			return nil, notFound(path)
		}
	}
	return v, nil
}
