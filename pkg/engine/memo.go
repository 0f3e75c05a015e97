package engine

import (
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// The memo shares, across the evaluations of one inventory state, the results of the
// rules and functions that cannot depend on the object under review: those that read
// neither input (directly or through another rule) nor a non-deterministic built-in.
// OPA caches such results within one query only, so a helper like
// "does namespace ns hold a deny-all NetworkPolicy" would otherwise be recomputed, by a
// scan of the namespace's policies, for every object of the namespace: quadratic in the
// size of the manifest set. With the memo it is computed once per namespace.
//
// Only results keyed by scalars are shared: a complete rule, a partial rule at a scalar
// key, a function called with scalar arguments (a namespace name, an apiVersion); of
// the functions that read no inventory, only those whose arguments come back (probe,
// below). A function called with an object is left to OPA's own cache of the query: in
// a real run the object under review does not come back in another query (ward lint
// evaluates each object once; the API server's objects differ in resourceVersion,
// managedFields, timestamps), and keeping such results held objects for the whole run.
// Only where the very same object comes back again and again did sharing pay: the Go
// benchmarks that evaluate one set of objects in a loop (BenchmarkEvaluateDeployment
// 121 -> 136 µs) and the load generator, which sends 117 manifests over and over (523
// -> 548 µs of CPU per review, RSS 115 -> 88 MiB). A cross-object helper is shared by
// calling it with a name, not with the inventory's subtree (default-deny's
// _ns_covered).
//
// A query's results join the memo only when the query succeeds, so that a rule error
// (a conflict between two definitions of a function) is reported the same way on every
// object, and the memo is dropped whenever the inventory changes.

// maxMemoEntries bounds the memo; past it, results are no longer shared (still correct).
// Results keyed by distinct scalars that seldom come back would fill it in step with
// the input: 65,536 entries are some 6 MB, where a million held 80 MB through a
// 100,000-file run. What repeats (a namespace's answer) is stored long before that.
const maxMemoEntries = 1 << 16

// purity is the static analysis behind the memo: which rule paths are input-independent.
type purity struct {
	root *pureNode
	// paramsFixed: no rule replaces input with "with", so input.parameters is the same
	// in every part of a rule's query, and results that read only it (and data) may be
	// memoized per rule (each rule has its own memo: its parameters are fixed for the
	// Evaluator's life).
	paramsFixed bool
}

// pureNode is a node of the tree of rule paths (data.ward.lib.k8s.api_group).
type pureNode struct {
	children map[string]*pureNode
	// pure is set on nodes that hold rules, all of them input-independent but for
	// input.parameters.
	pure bool
	// params: some rule of the node reads input.parameters, directly or through
	// another rule; memoizable only when purity.paramsFixed.
	params bool
	// reads: some rule of the node reads data.inventory, directly or through another
	// rule.
	reads bool
	// fn: the node holds a function.
	fn bool
}

// analyse computes which rules may be memoized. It returns nil when nothing may: when
// some rule replaces data or a function with "with", results would depend on where they
// are computed.
func analyse(c *ast.Compiler) *purity {
	p, _ := analyseRules(c)
	return p
}

// analyseRules is analyse, and also says which rules read data.inventory, directly or
// through other rules (reads). One walk of the compiler's dependency graph answers
// both. When the graph cannot be used (a "with" on data, which may swap in anything; a
// cycle), reads is nil: every rule must be taken to read the inventory.
func analyseRules(c *ast.Compiler) (p *purity, reads map[*ast.Rule]bool) {
	var rules []*ast.Rule
	for _, m := range c.Modules {
		ast.WalkRules(m, func(r *ast.Rule) bool {
			rules = append(rules, r)
			return false
		})
	}
	impure := make(map[*ast.Rule]bool, len(rules))
	params := make(map[*ast.Rule]bool, len(rules))
	reads = make(map[*ast.Rule]bool, len(rules))
	paramsFixed := true
	for _, r := range rules {
		if withOtherThanInput(r) {
			return nil, nil
		}
		if hasWith(r) {
			paramsFixed = false
		}
		impure[r], params[r], reads[r] = directRefs(r)
	}
	// Propagate along the compiler's dependency graph (which over-approximates refs
	// with variables): a rule that depends on an impure rule is impure, one that
	// depends on a rule reading the inventory reads it. Rules come sorted after their
	// dependencies.
	sorted, ok := c.Graph.Sort()
	if !ok {
		return nil, nil
	}
	for _, x := range sorted {
		r, ok := x.(*ast.Rule)
		if !ok {
			continue
		}
		for d := range c.Graph.Dependencies(r) {
			dr, ok := d.(*ast.Rule)
			if !ok {
				impure[r], reads[r] = true, true
				break
			}
			impure[r] = impure[r] || impure[dr]
			params[r] = params[r] || params[dr]
			reads[r] = reads[r] || reads[dr]
		}
	}
	p = &purity{root: &pureNode{}, paramsFixed: paramsFixed}
	type state struct{ pure, params, reads, fn bool }
	nodes := map[*pureNode]*state{}
	for _, r := range rules {
		ref := r.Ref()
		ground := ref.GroundPrefix()
		n := p.root
		ok := true
		for _, t := range ground[1:] {
			s, isStr := t.Value.(ast.String)
			if !isStr {
				ok = false
				break
			}
			if n.children == nil {
				n.children = map[string]*pureNode{}
			}
			c := n.children[string(s)]
			if c == nil {
				c = &pureNode{}
				n.children[string(s)] = c
			}
			n = c
		}
		st := nodes[n]
		if st == nil {
			st = &state{pure: true}
			nodes[n] = st
		}
		// A rule whose ref has a variable before its last term (a general ref head)
		// stores values below a key path the memo does not model.
		if !ok || len(ref)-len(ground) > 1 || impure[r] {
			st.pure = false
		}
		st.params = st.params || params[r]
		st.reads = st.reads || reads[r]
		st.fn = st.fn || len(r.Head.Args) > 0
	}
	for n, st := range nodes {
		n.pure = st.pure
		n.params = st.params
		n.reads = st.reads
		n.fn = st.fn
	}
	return p, reads
}

// inventoryKey is the only document below data that is not a rule: the engine's store
// holds data.inventory and nothing else.
var inventoryKey = ast.InternedTerm("inventory")

// directRefs reports what a rule reads itself: input, other than input.parameters, or a
// non-deterministic built-in (impure); input.parameters (params); data.inventory, or a
// part of data that may be it (reads: data itself, data[x]).
func directRefs(r *ast.Rule) (impure, params, reads bool) {
	var vis *ast.GenericVisitor
	vis = ast.NewGenericVisitor(func(x any) bool {
		switch t := x.(type) {
		case ast.Ref:
			switch {
			case t[0].Equal(ast.InputRootDocument):
				if len(t) > 1 && t[1].Equal(ast.InternedTerm("parameters")) {
					params = true
				} else {
					impure = true
				}
			case t[0].Equal(ast.DefaultRootDocument):
				if len(t) == 1 || t[1].Equal(inventoryKey) {
					reads = true
				} else if _, isStr := t[1].Value.(ast.String); !isStr {
					reads = true
				}
			default:
				vis.Walk(t[0])
			}
			for _, e := range t[1:] {
				vis.Walk(e)
			}
			return true
		case ast.Var:
			if t.Equal(ast.InputRootDocument.Value) {
				impure = true
			}
			if t.Equal(ast.DefaultRootDocument.Value) {
				reads = true
			}
		case *ast.Expr:
			if op := t.OperatorTerm(); op != nil {
				if ref, ok := op.Value.(ast.Ref); ok {
					if b, ok := ast.BuiltinMap[ref.String()]; ok && b.Nondeterministic {
						impure = true
					}
				}
			}
		}
		return false
	})
	vis.Walk(r)
	return impure, params, reads
}

// hasWith reports whether a rule uses "with" at all.
func hasWith(r *ast.Rule) bool {
	found := false
	ast.WalkExprs(r, func(e *ast.Expr) bool {
		found = found || len(e.With) > 0
		return found
	})
	return found
}

func withOtherThanInput(r *ast.Rule) bool {
	found := false
	ast.WalkExprs(r, func(e *ast.Expr) bool {
		for _, w := range e.With {
			if ref, ok := w.Target.Value.(ast.Ref); !ok || !ref.HasPrefix(ast.InputRootRef) {
				found = true
			}
		}
		return found
	})
	return found
}

// lookup returns the pure rule node a virtual cache key refers to and the key terms
// below it (a partial rule's key, a function's arguments); ok is false when the key must
// not be memoized: when a key term is not a scalar.
func (p *purity) lookup(key ast.Ref) (node *pureNode, rest []*ast.Term, ok bool) {
	if p == nil || len(key) == 0 {
		return nil, nil, false
	}
	path, rest := key, []*ast.Term(nil)
	if fn, isRef := key[0].Value.(ast.Ref); isRef {
		// A function call: [function ref, arg1, ..., argN].
		path, rest = fn, key[1:]
	}
	if len(path) == 0 || !path[0].Equal(ast.DefaultRootDocument) {
		return nil, nil, false
	}
	n := p.root
	i := 1
	for ; i < len(path) && !n.pure; i++ {
		s, isStr := path[i].Value.(ast.String)
		if !isStr {
			return nil, nil, false
		}
		if n = n.children[string(s)]; n == nil {
			return nil, nil, false
		}
	}
	if !n.pure || (n.params && !p.paramsFixed) {
		return nil, nil, false
	}
	if i < len(path) {
		if len(rest) > 0 {
			return nil, nil, false // a function ref that goes below a rule
		}
		rest = path[i:]
	}
	for _, t := range rest {
		switch t.Value.(type) {
		case ast.Null, ast.Boolean, ast.Number, ast.String:
		default:
			return nil, nil, false
		}
	}
	return n, rest, true
}

// memo holds the shared results for one inventory state.
type memo struct {
	p   *purity
	gen uint64 // the inventory state it belongs to
	mu  sync.RWMutex
	// entries are keyed by rule node and the hash of the key terms.
	entries map[memoKey][]memoEntry
	n       int
	// probes holds, for each function that reads no inventory, how its lookups went
	// (*probe by *pureNode).
	probes sync.Map
}

// A function that reads no inventory is worth sharing only if its arguments come back:
// k8s.capability("NET_RAW") or k8s.pod_spec_path("apps/v1", "Deployment") are asked
// for by every workload, where cidr-base-address's helpers are called with each CIDR
// of the input, seldom twice. For those, the memo costs more than it saves (a lookup,
// then a locked insert and a freeze of each result: 0.3 CPU s over 10,000 files), so
// each such function is probed: once probeLookups lookups have been made, a function
// found in fewer than one in probeMinHitRate of them is no longer memoized in this
// memo. Functions that read the inventory are always memoized: they are what keeps a
// cross-object rule from scanning a namespace for every object of it.
const (
	probeLookups    = 512
	probeMinHitRate = 4
)

type probe struct {
	lookups, hits atomic.Int64
	off           atomic.Bool
}

// probeOf returns node's probe, nil for a node that is always memoized.
func (m *memo) probeOf(node *pureNode) *probe {
	if !node.fn || node.reads {
		return nil
	}
	if p, ok := m.probes.Load(node); ok {
		return p.(*probe)
	}
	p, _ := m.probes.LoadOrStore(node, new(probe))
	return p.(*probe)
}

// on says whether the results of the node p probes are memoized; a nil probe (a node
// that is always memoized) is on.
func (p *probe) on() bool { return p == nil || !p.off.Load() }

// record counts a lookup, found or not, and turns memoizing off once the node is seen
// to be seldom found. A nil probe records nothing.
func (p *probe) record(hit bool) {
	if p == nil {
		return
	}
	if hit {
		p.hits.Add(1)
	}
	if n := p.lookups.Add(1); n == probeLookups && p.hits.Load()*probeMinHitRate < n {
		p.off.Store(true)
	}
}

type memoKey struct {
	node *pureNode
	hash int
}

type memoEntry struct {
	key   []*ast.Term
	value *ast.Term // nil: undefined
}

func newMemo(p *purity, gen uint64) *memo {
	return &memo{p: p, gen: gen, entries: map[memoKey][]memoEntry{}}
}

func hashTerms(ts []*ast.Term) int {
	h := 0
	for _, t := range ts {
		h = h*31 + t.Hash()
	}
	return h
}

func termsEqual(a, b []*ast.Term) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func (m *memo) get(node *pureNode, rest []*ast.Term) (*ast.Term, bool, bool) {
	k := memoKey{node, hashTerms(rest)}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, e := range m.entries[k] {
		if termsEqual(e.key, rest) {
			return e.value, e.value == nil, true
		}
	}
	return nil, false, false
}

func (m *memo) commit(puts []memoPut) {
	if len(puts) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range puts {
		if m.n >= maxMemoEntries {
			return
		}
		k := memoKey{p.node, hashTerms(p.key)}
		dup := false
		for _, e := range m.entries[k] {
			if termsEqual(e.key, p.key) {
				dup = true
				break
			}
		}
		if !dup {
			for _, t := range p.key {
				freeze(t.Value)
			}
			if p.value != nil {
				freeze(p.value.Value)
			}
			m.entries[k] = append(m.entries[k], memoEntry{key: p.key, value: p.value})
			m.n++
		}
	}
}

type memoPut struct {
	node  *pureNode
	key   []*ast.Term
	value *ast.Term
}

// queryCache is the topdown.VirtualCache of one query: OPA's own cache, with the memo
// consulted first for memoizable keys. Results computed by this query are kept aside
// and joined to the memo by done, only when the query succeeded.
type queryCache struct {
	m     *memo
	local topdown.VirtualCache
	puts  []memoPut
}

func newQueryCache(m *memo) *queryCache {
	return &queryCache{m: m, local: topdown.NewVirtualCache()}
}

func (c *queryCache) Push() { c.local.Push() }
func (c *queryCache) Pop()  { c.local.Pop() }

func (c *queryCache) Get(ref ast.Ref) (*ast.Term, bool) {
	if node, rest, ok := c.m.p.lookup(ref); ok {
		if p := c.m.probeOf(node); p.on() {
			v, undefined, hit := c.m.get(node, rest)
			p.record(hit)
			if hit {
				return v, undefined
			}
		}
	}
	return c.local.Get(ref)
}

func (c *queryCache) Put(ref ast.Ref, value *ast.Term) {
	c.local.Put(ref, value)
	if node, rest, ok := c.m.p.lookup(ref); ok && c.m.probeOf(node).on() {
		c.puts = append(c.puts, memoPut{node: node, key: append([]*ast.Term(nil), rest...), value: value})
	}
}

func (c *queryCache) Keys() []ast.Ref { return c.local.Keys() }

// done joins this query's memoizable results to the memo.
func (c *queryCache) done() { c.m.commit(c.puts) }

// freeze makes v safe to share between goroutines. OPA sorts the keys of an object or a
// set in place the first time it needs them in order (a comparison, an ordered walk),
// while other code reads them unsorted (Copy, which "with" applies to input; set
// union). A value that other evaluations may read at the same time, an inventory object
// or a memoized result, is therefore sorted through before it is shared: later sorts
// find nothing to do and write nothing.
func freeze(v ast.Value) {
	switch x := v.(type) {
	case ast.Object:
		x.Foreach(func(k, v *ast.Term) {
			freeze(k.Value)
			freeze(v.Value)
		})
	case ast.Set:
		x.Foreach(func(t *ast.Term) { freeze(t.Value) })
	case *ast.Array:
		x.Foreach(func(t *ast.Term) { freeze(t.Value) })
	}
}

// freezeLevels freezes the first levels of nested objects of v only, for a tree whose
// leaves are frozen already.
func freezeLevels(v ast.Value, levels int) {
	o, ok := v.(ast.Object)
	if !ok || levels == 0 {
		return
	}
	o.Foreach(func(_, v *ast.Term) { freezeLevels(v.Value, levels-1) })
}
