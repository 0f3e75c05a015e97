package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
)

// ward lint's second pass evaluates the rules that read the inventory on every
// pod-bearing object, each built again from its compact form. default-deny reads five
// fields of a review, and building a whole Deployment for it (and hashing it, where
// topdown caches a function called with it) is most of the pass. A Projection is the
// part of input that a set of rules can observe; the second pass builds each object's
// projection alone, and the verdicts are the same as on the whole object.
//
// What rules can observe is found on their plans (plan.go): in the IR, input is one
// local, and every way a value reaches a rule is a statement on locals. The analysis
// follows which locals may hold which parts of input (a part is a path of keys below
// input), through assignments, lookups by a constant key, function calls and returns,
// to fixpoint; and records how each part is used:
//   - looked up by a constant key (DotStmt, object.get): the key's part is kept, the rest
//     of an object is not;
//   - tested for its type or definedness: it is kept, with its type;
//   - anything else (compared, counted, scanned, put into a value, given to any other
//     built-in, a key that is not constant): it is kept whole, and so is everything in it.
//
// It overestimates, never under: after a block, or where calls of a function meet, a
// local holds everything that may reach it there, and a use of it is a use of each. A plan it does not understand (with, dynamic calls,
// a statement it does not know) observes all of input. TestProjectionKeepsVerdicts holds
// every rule of the library to the same verdicts on projected and whole objects.

// Projection is the part of a value that is observed. A nil *Projection observes
// nothing; whole observes everything below; otherwise the value is observed with its
// type, and, if it is an object, the keys in keys with their own projections.
type Projection struct {
	whole bool
	keys  map[string]*Projection
}

// wholeProjection observes all of a value.
var wholeProjection = &Projection{whole: true}

// Whole says whether p observes all of the value.
func (p *Projection) Whole() bool { return p != nil && p.whole }

// At returns the projection of the value at path below p's: whole if p is whole at or
// above it, nil if nothing there is observed.
func (p *Projection) At(path ...string) *Projection {
	for _, k := range path {
		if p == nil || p.whole {
			return p
		}
		p = p.keys[k]
	}
	return p
}

// String writes p for tests and logs: {"a": *, "b": {}} observes a whole, b by type.
func (p *Projection) String() string {
	switch {
	case p == nil:
		return "-"
	case p.whole:
		return "*"
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(p.keys)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q: %s", k, p.keys[k])
	}
	b.WriteByte('}')
	return b.String()
}

// observe marks the value at path as observed (with its type), whole or not.
func (p *Projection) observe(path []string, whole bool) {
	for _, k := range path {
		if p.whole {
			return
		}
		if p.keys == nil {
			p.keys = map[string]*Projection{}
		}
		next := p.keys[k]
		if next == nil {
			next = &Projection{}
			p.keys[k] = next
		}
		p = next
	}
	if whole {
		p.whole, p.keys = true, nil
	}
}

// projectValue is Compact.Project on a value: the part of v that p observes.
func projectValue(v ast.Value, p *Projection) ast.Value {
	switch {
	case p == nil:
		return ast.NewObject()
	case p.whole:
		return v
	}
	obj, ok := v.(ast.Object)
	if !ok {
		return v
	}
	out := ast.NewObject()
	obj.Foreach(func(k, x *ast.Term) {
		if s, ok := k.Value.(ast.String); ok && p.keys[string(s)] != nil {
			out.Insert(k, ast.NewTerm(projectValue(x.Value, p.keys[string(s)])))
		}
	})
	return out
}

// maxProjectedDepth bounds the paths the analysis follows: a part deeper than this is
// observed whole at this depth. Manifests are far shallower where rules look.
const maxProjectedDepth = 32

// parts is a set of paths below input, by their key.
type parts map[string][]string

func partKey(path []string) string { return strings.Join(path, "\x00") }

// union returns the parts of a and b, and whether there are more than in a. Neither is
// written to.
func union(a, b parts) (parts, bool) {
	var out parts
	for k, p := range b {
		if _, ok := a[k]; ok {
			continue
		}
		if out == nil {
			out = make(parts, len(a)+len(b))
			maps.Copy(out, a)
		}
		out[k] = p
	}
	if out == nil {
		return a, false
	}
	return out, true
}

// holding is what a local may hold: parts of input, or (other) a value that is not
// part of input, made by the rule or read from data.
type holding struct {
	parts parts
	other bool
}

// anything is what the analysis knows of a local it has not followed.
var anything = holding{other: true}

func (h holding) join(g holding) (holding, bool) {
	ps, grew := union(h.parts, g.parts)
	if g.other && !h.other {
		grew = true
	}
	return holding{parts: ps, other: h.other || g.other}, grew
}

// flow is what each local of a frame may hold at one point of a plan. A local not in
// it may hold anything that is not part of input.
type flow map[ir.Local]holding

func (f flow) get(l ir.Local) holding {
	if h, ok := f[l]; ok {
		return h
	}
	return anything
}

func (f flow) set(l ir.Local, h holding) {
	if len(h.parts) == 0 && h.other {
		delete(f, l)
		return
	}
	f[l] = h
}

func (f flow) clone() flow { return maps.Clone(f) }

// join makes f hold what g holds too, and says whether f changed.
func (f flow) join(g flow) bool {
	changed := false
	for l, h := range f {
		if _, ok := g[l]; !ok && !h.other {
			f.set(l, holding{parts: h.parts, other: true})
			changed = true
		}
	}
	for l, gh := range g {
		fh := f.get(l)
		if merged, grew := fh.join(gh); grew {
			f.set(l, merged)
			changed = true
		}
	}
	return changed
}

// inputFlow is the analysis of one policy's plans. It runs through each plan and
// function in order: an assignment replaces what a local holds, since the planner
// reuses locals for unrelated values within a frame. A block may end after any of its
// statements (one that is undefined), so what a local holds after it is everything it
// may hold at any point within it; a scan's block runs any number of times.
//
// absent are parts of input known not to exist: a lookup that can only reach one of
// them is undefined, and the rest of its block is not run. ward lint's reviews have
// no oldObject and no userInfo, and so default-deny's rule for NetworkPolicy updates,
// which reads the new object's spec, does not count.
type inputFlow struct {
	strings []string
	funcs   map[string]*ir.Func
	absent  map[string]bool
	// params and returns are what each function's parameters may receive, from every
	// call, and what it may return.
	params  map[string]flow
	returns map[string]holding
	root    Projection
	changed bool   // a function's params or returns grew in this pass
	fn      string // the function being run through, "" in a plan
}

// projectInput returns what the plans named entrypoints of policy can observe of an
// input that has none of the parts absent.
func projectInput(policy *ir.Policy, entrypoints []string, absent ...[]string) (*Projection, error) {
	a := &inputFlow{funcs: map[string]*ir.Func{}, absent: map[string]bool{}, params: map[string]flow{}, returns: map[string]holding{}}
	for _, p := range absent {
		a.absent[partKey(p)] = true
	}
	if policy.Static != nil {
		for _, s := range policy.Static.Strings {
			a.strings = append(a.strings, s.Value)
		}
	}
	if policy.Funcs != nil {
		for _, f := range policy.Funcs.Funcs {
			a.funcs[f.Name] = f
		}
	}
	var plans []*ir.Plan
	if policy.Plans != nil {
		for _, p := range policy.Plans.Plans {
			if slices.Contains(entrypoints, p.Name) {
				plans = append(plans, p)
			}
		}
	}
	if len(plans) != len(entrypoints) {
		return nil, fmt.Errorf("%d plans for %d entrypoints", len(plans), len(entrypoints))
	}
	// Each pass runs through every plan and every function called; it ends when no
	// function's parameters or return gained anything. Rego has no recursion, and the
	// parts are bounded (maxProjectedDepth), so it ends.
	for a.changed = true; a.changed; {
		a.changed = false
		a.fn = ""
		for _, p := range plans {
			if _, err := a.blocks(flow{ir.Input: {parts: parts{"": nil}}}, p.Blocks); err != nil {
				return nil, err
			}
		}
		for _, name := range slices.Sorted(maps.Keys(a.params)) {
			a.fn = name
			if _, err := a.blocks(a.params[name].clone(), a.funcs[name].Blocks); err != nil {
				return nil, err
			}
		}
	}
	return &a.root, nil
}

func (a *inputFlow) observe(h holding, whole bool) {
	for _, p := range h.parts {
		a.root.observe(p, whole)
	}
}

// constString returns o's value if it is a string constant.
func (a *inputFlow) constString(o ir.Operand) (string, bool) {
	normalise(&o)
	if i, ok := o.Value.(ir.StringIndex); ok && int(i) >= 0 && int(i) < len(a.strings) {
		return a.strings[i], true
	}
	return "", false
}

// lookup is a lookup of key in what h holds: each key's part is observed (whether it is
// there), and returned, for the local that receives it. undefined says that the lookup
// can only fail: h holds only parts of input whose key is absent.
func (a *inputFlow) lookup(h holding, key string) (out holding, undefined bool) {
	out.other = h.other
	for _, p := range h.parts {
		if len(p) >= maxProjectedDepth {
			a.root.observe(p, true)
			continue
		}
		q := append(slices.Clip(p), key)
		k := partKey(q)
		if a.absent[k] {
			continue
		}
		a.root.observe(q, false)
		if out.parts == nil {
			out.parts = parts{}
		}
		out.parts[k] = q
	}
	return out, len(h.parts) > 0 && !h.other && len(out.parts) == 0
}

// typeChecks are the built-ins that observe no more of their argument than its type.
var typeChecks = map[string]bool{
	"is_object": true, "is_string": true, "is_array": true, "is_set": true,
	"is_number": true, "is_boolean": true, "is_null": true, "type_name": true,
}

// blocks runs through blocks that run one after the other (the next one starts when
// one ends, early or not), and returns everything the locals may hold at any point.
func (a *inputFlow) blocks(in flow, blocks []*ir.Block) (flow, error) {
	cur := in
	for _, b := range blocks {
		out, err := a.block(cur, b)
		if err != nil {
			return nil, err
		}
		cur = out
	}
	return cur, nil
}

// block runs through b from in, and returns everything the locals may hold at any
// point of it.
func (a *inputFlow) block(in flow, b *ir.Block) (flow, error) {
	cur := in.clone()
	all := in.clone()
	held := func(o ir.Operand) holding {
		normalise(&o)
		if l, ok := o.Value.(ir.Local); ok {
			return cur.get(l)
		}
		return anything // a constant
	}
	whole := func(os ...ir.Operand) {
		for _, o := range os {
			a.observe(held(o), true)
		}
	}
	local := func(l ir.Local) ir.Operand { return ir.Operand{Value: l} }
	for _, s := range b.Stmts {
		if c, ok := s.(*callStmt); ok { // linked for the interpreter
			s = c.CallStmt
		}
		switch s := s.(type) {
		case *ir.AssignVarStmt:
			cur.set(s.Target, held(s.Source))
		case *ir.AssignVarOnceStmt:
			cur.set(s.Target, held(s.Source))
		case *ir.DotStmt:
			key, ok := a.constString(s.Key)
			if !ok {
				whole(s.Source, s.Key)
				cur.set(s.Target, anything)
				break
			}
			out, undefined := a.lookup(held(s.Source), key)
			if undefined {
				return all, nil // the rest of the block never runs
			}
			cur.set(s.Target, out)
		case *ir.CallStmt:
			result, err := a.call(s, held)
			if err != nil {
				return nil, err
			}
			cur.set(s.Result, result)
		case *ir.ReturnLocalStmt:
			a.returned(held(local(s.Source)))
		case *ir.IsDefinedStmt:
			a.observe(held(local(s.Source)), false)
		case *ir.IsUndefinedStmt:
			a.observe(held(local(s.Source)), false)
		case *ir.IsArrayStmt:
			a.observe(held(s.Source), false)
		case *ir.IsObjectStmt:
			a.observe(held(s.Source), false)
		case *ir.IsSetStmt:
			a.observe(held(s.Source), false)
		case *ir.LenStmt:
			whole(s.Source)
			cur.set(s.Target, anything)
		case *ir.EqualStmt:
			whole(s.A, s.B)
		case *ir.NotEqualStmt:
			whole(s.A, s.B)
		case *ir.ArrayAppendStmt:
			whole(s.Value, local(s.Array))
		case *ir.ObjectInsertStmt:
			whole(s.Key, s.Value, local(s.Object))
		case *ir.ObjectInsertOnceStmt:
			whole(s.Key, s.Value, local(s.Object))
		case *ir.SetAddStmt:
			whole(s.Value, local(s.Set))
		case *ir.ResultSetAddStmt:
			whole(local(s.Value))
		case *ir.ScanStmt:
			// Everything in a scanned value is observed: its keys and elements are
			// then held by locals of no interest here.
			whole(local(s.Source))
			body := cur.clone()
			for {
				body.set(s.Key, anything)
				body.set(s.Value, anything)
				out, err := a.block(body, s.Block)
				if err != nil {
					return nil, err
				}
				if !body.join(out) {
					break
				}
			}
			cur.join(body)
		case *ir.BlockStmt:
			out, err := a.blocks(cur, s.Blocks)
			if err != nil {
				return nil, err
			}
			cur.join(out)
		case *ir.NotStmt:
			out, err := a.block(cur, s.Block)
			if err != nil {
				return nil, err
			}
			cur.join(out)
		case *ir.BreakStmt, *ir.NopStmt:
		default:
			t, made := madeLocal(s)
			if !made {
				// with (which replaces input), dynamic calls, object merges, and what
				// this does not know.
				return nil, fmt.Errorf("%w: %T", errUnsupported, s)
			}
			cur.set(t, anything)
		}
		all.join(cur)
	}
	return all, nil
}

// returned records what the function being run through may return.
func (a *inputFlow) returned(h holding) {
	if a.fn == "" {
		return // a plan's frame
	}
	have, ok := a.returns[a.fn]
	if !ok {
		a.returns[a.fn] = h
		a.changed = true
		return
	}
	if merged, grew := have.join(h); grew {
		a.returns[a.fn] = merged
		a.changed = true
	}
}

// call follows a call and returns what its result may hold: to a planned function, the
// arguments flow into its parameters and its return into the result; a built-in
// observes its arguments.
func (a *inputFlow) call(s *ir.CallStmt, held func(ir.Operand) holding) (holding, error) {
	if fn, ok := a.funcs[s.Func]; ok {
		if len(s.Args) != len(fn.Params) {
			return anything, fmt.Errorf("call of %s with %d arguments for %d parameters", s.Func, len(s.Args), len(fn.Params))
		}
		in := flow{}
		for i, arg := range s.Args {
			in.set(fn.Params[i], held(arg))
		}
		if have, ok := a.params[fn.Name]; !ok {
			a.params[fn.Name] = in
			a.changed = true
		} else if have.join(in) {
			a.changed = true
		}
		// Until the function has been run through, its call returns nothing, and what
		// follows is not run in this pass; the pass after it is.
		if r, ok := a.returns[fn.Name]; ok {
			return r, nil
		}
		return holding{}, nil
	}
	switch {
	case s.Func == "object.get" && len(s.Args) == 3:
		// object.get(x, "key", default): x's type (object.get fails on a non-object),
		// its key, and the default, which may be the result too.
		if key, ok := a.constString(s.Args[1]); ok {
			src := held(s.Args[0])
			a.observe(src, false)
			out, _ := a.lookup(src, key)
			out, _ = out.join(held(s.Args[2]))
			return out, nil
		}
	case typeChecks[s.Func]:
		for _, arg := range s.Args {
			a.observe(held(arg), false)
		}
		return anything, nil
	}
	for _, arg := range s.Args {
		a.observe(held(arg), true)
	}
	return anything, nil
}

// projectRules plans the violation sets of the rule packages pkgs over modules and
// returns what they observe of an input that has none of the parts absent.
func projectRules(modules map[string]*ast.Module, pkgs []string, absent ...[]string) (*Projection, error) {
	policy, err := planPolicy(modules, pkgs)
	if err != nil {
		return nil, err
	}
	entrypoints := make([]string, len(pkgs))
	for i, pkg := range pkgs {
		entrypoints[i] = planEntrypoint(pkg)
	}
	return projectInput(policy, entrypoints, absent...)
}

// SharedOutcomes evaluates the reviews of ward lint's second pass once for each set of
// them that the rules cannot tell apart: reviews equal in every part the rules observe
// of them (Engine's observedInput) get the same verdicts, so the outcome of the first
// is the outcome of the others. default-deny observes a workload's namespace, apiVersion
// and kind: 8,893 workloads of the benchmark's 10,000 files are some 300 evaluations.
// Safe for concurrent use; two reviews alike evaluated at once are both evaluated.
type SharedOutcomes struct {
	ev       *Evaluator
	review   *Projection // what the rules observe of a review, as the engine knew it
	mu       sync.Mutex
	outcomes map[string]Outcome
}

// SharedOutcomes returns an evaluator of reviews that shares outcomes between reviews
// alike. It shares none before the engine's plans are ready (Engine.Plan).
func (ev *Evaluator) SharedOutcomes() *SharedOutcomes {
	return &SharedOutcomes{ev: ev, review: ev.engine.observedInput().At("review"), outcomes: map[string]Outcome{}}
}

// Object is what the rules observe of a review's object: its projection
// (Compact.Project) gets the outcome the whole object gets.
func (s *SharedOutcomes) Object() *Projection { return s.review.At("object") }

// Evaluate is Evaluator.Evaluate, with the outcome of an earlier review alike. The
// outcome's slices are shared between reviews: the caller copies what it changes.
func (s *SharedOutcomes) Evaluate(ctx context.Context, r Review) Outcome {
	if s.review.Whole() || r.Value == nil || r.OldObject != nil || r.UserInfo != nil {
		return s.ev.Evaluate(ctx, r) // not ward lint's kind of review, or nothing known
	}
	review, err := s.ev.reviewValue(r)
	if err != nil {
		return s.ev.Evaluate(ctx, r)
	}
	// The exemptions are read from the object by Evaluate, not by the rules.
	var key strings.Builder
	key.WriteString(projectValue(review, s.review).String())
	ignore := r.ignoreAnnotations()
	for _, k := range slices.Sorted(maps.Keys(ignore)) {
		fmt.Fprintf(&key, "\x00%s\x00%s", k, ignore[k])
	}
	s.mu.Lock()
	out, ok := s.outcomes[key.String()]
	s.mu.Unlock()
	if ok {
		return out
	}
	out = s.ev.Evaluate(ctx, r)
	s.mu.Lock()
	s.outcomes[key.String()] = out
	s.mu.Unlock()
	return out
}
