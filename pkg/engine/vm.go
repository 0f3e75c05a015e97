package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// The interpreter of planned rules (plan.go). It runs the IR the way OPA's Wasm
// compiler translates it (internal/compiler/wasm), on OPA's own values, and calls OPA's
// own built-in functions (topdown.GetBuiltin): a rule's verdict is topdown's, which
// TestPlannedMatchesTopdown holds on every test document and the fuzz target on
// arbitrary ones. What the Wasm target handles differently from topdown, or what needs
// state this interpreter does not keep, is not run here (newProgram refuses it, and the
// rule stays with topdown):
//   - "with" (WithStmt), calls to functions chosen at run time (CallDynamicStmt), and
//     the merge of base and virtual documents (ObjectMergeStmt);
//   - built-ins that are not deterministic, print, and any built-in topdown does not
//     implement.
//
// Errors differ in their text between the two evaluators (a conflict is "var assignment
// conflict" here), so the caller evaluates a rule that fails here again with topdown,
// whose error is the one reported.

// errUnsupported is a plan that uses what the interpreter does not run.
var errUnsupported = errors.New("not supported by the interpreter")

// program is one rule's plan, ready to run.
type program struct {
	plan     *ir.Plan
	link     *linker
	nlocals  int // the plan's frame
	machines sync.Pool
}

// linker resolves the calls of one policy's plans, once for all of them: each
// CallStmt is replaced by a callStmt that holds its callee, so that a call costs no
// lookup. The plans of one policy share its functions, and so their resolution and
// their memo slots.
type linker struct {
	strings  []*ast.Term // the policy's string constants
	numbers  []*ast.Term // the same constants read as numbers (MakeNumberRefStmt)
	funcs    map[string]*ir.Func
	resolved map[string]*function
	failed   map[string]error
	// memoized is the number of functions memoized per evaluation (rules, which take
	// input and data alone); each has its slot.
	memoized int
}

// function is a planned function with what the interpreter needs to call it.
type function struct {
	fn      *ir.Func
	nlocals int
	memo    int // slot in the evaluation's memo, -1 if not memoized
}

// callee is a resolved call: a planned function or a built-in.
type callee struct {
	fn      *function
	builtin topdown.BuiltinFunc
}

// callStmt is a CallStmt with its callee resolved.
type callStmt struct {
	*ir.CallStmt
	callee callee
}

func newLinker(policy *ir.Policy) *linker {
	l := &linker{funcs: map[string]*ir.Func{}, resolved: map[string]*function{}, failed: map[string]error{}}
	for _, s := range policy.Static.Strings {
		l.strings = append(l.strings, ast.StringTerm(s.Value))
		l.numbers = append(l.numbers, ast.NumberTerm(json.Number(s.Value)))
	}
	if policy.Funcs != nil {
		for _, f := range policy.Funcs.Funcs {
			l.funcs[f.Name] = f
		}
	}
	return l
}

// newProgram links the plan named entrypoint of policy. It fails when the plan uses
// what the interpreter does not run (errUnsupported).
func newProgram(policy *ir.Policy, l *linker, entrypoint string) (*program, error) {
	var plan *ir.Plan
	for _, p := range policy.Plans.Plans {
		if p.Name == entrypoint {
			plan = p
		}
	}
	if plan == nil {
		return nil, fmt.Errorf("no plan %q", entrypoint)
	}
	p := &program{plan: plan, link: l}
	if err := l.blocks(plan.Blocks, &p.nlocals); err != nil {
		return nil, err
	}
	p.nlocals = max(p.nlocals, int(ir.Data)+1, int(ir.Input)+1)
	return p, nil
}

// resolve finds a call's callee, checking a planned function's body the first time.
func (l *linker) resolve(name string) (callee, error) {
	if f, ok := l.resolved[name]; ok {
		return callee{fn: f}, nil
	}
	if err, ok := l.failed[name]; ok {
		return callee{}, err
	}
	if f, ok := l.funcs[name]; ok {
		fn := &function{fn: f, memo: -1}
		for _, loc := range f.Params {
			fn.nlocals = max(fn.nlocals, int(loc)+1)
		}
		fn.nlocals = max(fn.nlocals, int(f.Return)+1)
		// Rego has no recursion, so the function cannot be reached again while its
		// body is checked.
		if err := l.blocks(f.Blocks, &fn.nlocals); err != nil {
			l.failed[name] = err
			return callee{}, err
		}
		if len(f.Params) == 2 {
			fn.memo = l.memoized
			l.memoized++
		}
		l.resolved[name] = fn
		return callee{fn: fn}, nil
	}
	decl, ok := ast.BuiltinMap[name]
	bi := topdown.GetBuiltin(name)
	if !ok || bi == nil || decl.Nondeterministic || name == ast.InternalPrint.Name || name == ast.Print.Name {
		return callee{}, fmt.Errorf("%w: built-in %s", errUnsupported, name)
	}
	return callee{builtin: bi}, nil
}

// blocks checks and links every statement of blocks, noting the locals they use.
func (l *linker) blocks(blocks []*ir.Block, nlocals *int) error {
	for _, b := range blocks {
		for i, s := range b.Stmts {
			linked, err := l.check(s, nlocals)
			if err != nil {
				return err
			}
			b.Stmts[i] = linked
		}
	}
	return nil
}

// check validates one statement and notes the locals it uses; it returns the
// statement to run in its place (a CallStmt linked to its callee).
func (l *linker) check(s ir.Stmt, nlocals *int) (ir.Stmt, error) {
	use := func(ls ...ir.Local) {
		for _, l := range ls {
			*nlocals = max(*nlocals, int(l)+1)
		}
	}
	// Operands first (operands lists them for every statement), then the locals a
	// statement names outside its operands.
	for _, o := range operands(s) {
		normalise(o)
		switch v := o.Value.(type) {
		case ir.Local:
			use(v)
		case ir.StringIndex:
			if int(v) < 0 || int(v) >= len(l.strings) {
				return nil, fmt.Errorf("string constant %d out of range", v)
			}
		case ir.Bool:
		default:
			return nil, fmt.Errorf("%w: operand %T", errUnsupported, v)
		}
	}
	switch s := s.(type) {
	case *ir.CallStmt:
		c, err := l.resolve(s.Func)
		if err != nil {
			return nil, err
		}
		use(s.Result)
		return &callStmt{CallStmt: s, callee: c}, nil
	case *callStmt: // linked for another plan of the policy
		use(s.Result)
	case *ir.BlockStmt:
		return s, l.blocks(s.Blocks, nlocals)
	case *ir.ScanStmt:
		use(s.Source, s.Key, s.Value)
		return s, l.blocks([]*ir.Block{s.Block}, nlocals)
	case *ir.NotStmt:
		return s, l.blocks([]*ir.Block{s.Block}, nlocals)
	case *ir.MakeNumberRefStmt:
		if s.Index < 0 || s.Index >= len(l.numbers) {
			return nil, fmt.Errorf("number constant %d out of range", s.Index)
		}
		use(s.Target)
	case *ir.ReturnLocalStmt:
		use(s.Source)
	case *ir.IsDefinedStmt:
		use(s.Source)
	case *ir.IsUndefinedStmt:
		use(s.Source)
	case *ir.ResultSetAddStmt:
		use(s.Value)
	case *ir.DotStmt:
		use(s.Target)
	case *ir.LenStmt:
		use(s.Target)
	case *ir.AssignVarStmt:
		use(s.Target)
	case *ir.AssignVarOnceStmt:
		use(s.Target)
	case *ir.ArrayAppendStmt:
		use(s.Array)
	case *ir.ObjectInsertStmt:
		use(s.Object)
	case *ir.ObjectInsertOnceStmt:
		use(s.Object)
	case *ir.SetAddStmt:
		use(s.Set)
	case *ir.EqualStmt, *ir.NotEqualStmt, *ir.IsArrayStmt, *ir.IsObjectStmt, *ir.IsSetStmt, *ir.BreakStmt, *ir.NopStmt:
	default:
		t, made := madeLocal(s)
		if !made {
			return nil, fmt.Errorf("%w: %T", errUnsupported, s)
		}
		use(t)
	}
	return s, nil
}

// madeLocal returns the local a statement sets to a value it makes from constants
// alone, reading no local: a reset, a new null, number, array, object or set.
func madeLocal(s ir.Stmt) (ir.Local, bool) {
	switch s := s.(type) {
	case *ir.ResetLocalStmt:
		return s.Target, true
	case *ir.MakeNullStmt:
		return s.Target, true
	case *ir.MakeNumberIntStmt:
		return s.Target, true
	case *ir.MakeNumberRefStmt:
		return s.Target, true
	case *ir.MakeArrayStmt:
		return s.Target, true
	case *ir.MakeObjectStmt:
		return s.Target, true
	case *ir.MakeSetStmt:
		return s.Target, true
	case *ir.AssignIntStmt:
		return s.Target, true
	}
	return 0, false
}

// operands returns the operands of the statements that have any, to be read and
// normalised in place.
func operands(s ir.Stmt) []*ir.Operand {
	if c, ok := s.(*callStmt); ok {
		s = c.CallStmt
	}
	switch s := s.(type) {
	case *ir.CallStmt:
		out := make([]*ir.Operand, len(s.Args))
		for i := range s.Args {
			out[i] = &s.Args[i]
		}
		return out
	case *ir.DotStmt:
		return []*ir.Operand{&s.Source, &s.Key}
	case *ir.LenStmt:
		return []*ir.Operand{&s.Source}
	case *ir.AssignVarStmt:
		return []*ir.Operand{&s.Source}
	case *ir.AssignVarOnceStmt:
		return []*ir.Operand{&s.Source}
	case *ir.EqualStmt:
		return []*ir.Operand{&s.A, &s.B}
	case *ir.NotEqualStmt:
		return []*ir.Operand{&s.A, &s.B}
	case *ir.IsArrayStmt:
		return []*ir.Operand{&s.Source}
	case *ir.IsObjectStmt:
		return []*ir.Operand{&s.Source}
	case *ir.IsSetStmt:
		return []*ir.Operand{&s.Source}
	case *ir.ArrayAppendStmt:
		return []*ir.Operand{&s.Value}
	case *ir.ObjectInsertStmt:
		return []*ir.Operand{&s.Key, &s.Value}
	case *ir.ObjectInsertOnceStmt:
		return []*ir.Operand{&s.Key, &s.Value}
	case *ir.SetAddStmt:
		return []*ir.Operand{&s.Value}
	}
	return nil
}

// normalise makes an operand's value a value: the plan's JSON decoder makes pointers
// (*ir.Local), which op would not recognise.
func normalise(o *ir.Operand) {
	switch v := o.Value.(type) {
	case *ir.Local:
		o.Value = *v
	case *ir.Bool:
		o.Value = *v
	case *ir.StringIndex:
		o.Value = *v
	}
}

// Control flow. A block's statements run in order until one is undefined or breaks.
// run returns how far control leaves: fellThrough when the block ran to its end,
// d >= 0 when a break left it d blocks further out than itself (an undefined statement
// is a break with d = 0), or returned when a function returned.
const (
	fellThrough = -1
	returned    = -2
)

// machine runs evaluations of one program, one at a time; runProgram takes one from
// the program's pool. Locals hold terms, as OPA's built-ins and collections take them,
// so that a value is wrapped once, where it is made.
type machine struct {
	ctx     context.Context //nolint:containedctx // the evaluation's, for the built-ins
	p       *program
	bctx    topdown.BuiltinContext
	memo    []*ast.Term
	memoOK  []bool
	ret     *ast.Term // the value of the last ReturnLocalStmt
	out     *ast.Term // the last built-in's result
	iter    func(*ast.Term) error
	result  *ast.Term // what the plan added to its result set
	stack   []*ast.Term
	scratch []*ast.Term // a built-in call's operands
	steps   int         // elements scanned
}

// errConflict is a rule that produced two values where it may produce one.
var errConflict = errors.New("conflicting values")

// runProgram evaluates p on input and data and returns the value of the entrypoint,
// nil if it is undefined.
func runProgram(ctx context.Context, p *program, input, data ast.Value) (_ ast.Value, err error) {
	m, _ := p.machines.Get().(*machine)
	if m == nil {
		m = &machine{p: p, memo: make([]*ast.Term, p.link.memoized), memoOK: make([]bool, p.link.memoized)}
		m.iter = func(t *ast.Term) error {
			m.out = t
			return nil
		}
	}
	m.ctx = ctx
	m.bctx = topdown.BuiltinContext{Context: ctx}
	clear(m.memo)
	clear(m.memoOK)
	m.result = nil
	defer func() {
		// A built-in that panics (topdown's own evaluator recovers none either) fails
		// the rule here, and topdown evaluates it again.
		if r := recover(); r != nil {
			err = fmt.Errorf("interpreter: %v", r)
		}
		// Nothing of this evaluation stays reachable from the pool.
		m.ctx, m.bctx, m.ret, m.out, m.result = nil, topdown.BuiltinContext{}, nil, nil, nil
		clear(m.memo)
		clear(m.stack[:cap(m.stack)])
		m.stack = m.stack[:0]
		p.machines.Put(m)
	}()
	fr := m.frame(p.nlocals)
	fr[ir.Input] = ast.NewTerm(input)
	fr[ir.Data] = ast.NewTerm(data)
	for _, b := range p.plan.Blocks {
		if _, err := m.run(fr, b); err != nil {
			return nil, err
		}
	}
	if m.result == nil {
		return nil, nil
	}
	return m.result.Value, nil
}

// frame takes n locals off the machine's stack; release gives them back.
func (m *machine) frame(n int) []*ast.Term {
	if cap(m.stack)-len(m.stack) < n {
		// A new backing array: frames already handed out keep the old one.
		m.stack = make([]*ast.Term, 0, max(2*cap(m.stack), n, 256))
	}
	l := len(m.stack)
	m.stack = m.stack[:l+n]
	fr := m.stack[l : l+n : l+n]
	clear(fr)
	return fr
}

func (m *machine) release(fr []*ast.Term) {
	if l := len(m.stack) - len(fr); l >= 0 && len(fr) > 0 && &m.stack[l] == &fr[0] {
		m.stack = m.stack[:l]
	}
}

func (m *machine) op(fr []*ast.Term, o ir.Operand) *ast.Term {
	switch v := o.Value.(type) {
	case ir.Local:
		return fr[v]
	case ir.Bool:
		return ast.InternedTerm(bool(v))
	case ir.StringIndex:
		return m.p.link.strings[v]
	}
	return nil
}

// run runs one block in frame fr.
func (m *machine) run(fr []*ast.Term, b *ir.Block) (int, error) {
	for _, s := range b.Stmts {
		switch s := s.(type) {
		case *ir.AssignVarStmt:
			fr[s.Target] = m.op(fr, s.Source)
		case *callStmt:
			v, err := m.call(fr, s)
			if err != nil {
				return 0, err
			}
			if v == nil {
				return 0, nil
			}
			fr[s.Result] = v
		case *ir.AssignVarOnceStmt:
			v := m.op(fr, s.Source)
			if cur := fr[s.Target]; cur != nil {
				if v == nil || cur.Value.Compare(v.Value) != 0 {
					return 0, fmt.Errorf("%w: var assignment conflict", errConflict)
				}
				continue
			}
			fr[s.Target] = v
		case *ir.DotStmt:
			v := dot(m.op(fr, s.Source), m.op(fr, s.Key))
			if v == nil {
				return 0, nil
			}
			fr[s.Target] = v
		case *ir.NotEqualStmt:
			a, b := m.op(fr, s.A), m.op(fr, s.B)
			if a == nil || b == nil || a.Value.Compare(b.Value) == 0 {
				return 0, nil
			}
		case *ir.EqualStmt:
			a, b := m.op(fr, s.A), m.op(fr, s.B)
			if a == nil || b == nil || a.Value.Compare(b.Value) != 0 {
				return 0, nil
			}
		case *ir.ArrayAppendStmt:
			arr, v := fr[s.Array], m.op(fr, s.Value)
			a, ok := termValue(arr).(*ast.Array)
			if !ok || v == nil {
				return 0, fmt.Errorf("append to %s", valueName(arr))
			}
			// In place, as Wasm does: every local that holds the array sees it grow.
			*a = *a.Append(v)
		case *ir.ResetLocalStmt:
			fr[s.Target] = nil
		case *ir.ObjectInsertStmt:
			obj, ok := termValue(fr[s.Object]).(ast.Object)
			k, v := m.op(fr, s.Key), m.op(fr, s.Value)
			if !ok || k == nil || v == nil {
				return 0, fmt.Errorf("insert into %s", valueName(fr[s.Object]))
			}
			obj.Insert(k, v)
		case *ir.ObjectInsertOnceStmt:
			obj, ok := termValue(fr[s.Object]).(ast.Object)
			k, v := m.op(fr, s.Key), m.op(fr, s.Value)
			if !ok || k == nil || v == nil {
				return 0, fmt.Errorf("insert into %s", valueName(fr[s.Object]))
			}
			if cur := obj.Get(k); cur != nil {
				if cur.Value.Compare(v.Value) != 0 {
					return 0, fmt.Errorf("%w: object insert conflict", errConflict)
				}
				continue
			}
			obj.Insert(k, v)
		case *ir.IsDefinedStmt:
			if fr[s.Source] == nil {
				return 0, nil
			}
		case *ir.IsUndefinedStmt:
			if fr[s.Source] != nil {
				return 0, nil
			}
		case *ir.ReturnLocalStmt:
			m.ret = fr[s.Source]
			return returned, nil
		case *ir.SetAddStmt:
			set, ok := termValue(fr[s.Set]).(ast.Set)
			v := m.op(fr, s.Value)
			if !ok || v == nil {
				return 0, fmt.Errorf("add to %s", valueName(fr[s.Set]))
			}
			set.Add(v)
		case *ir.MakeArrayStmt:
			fr[s.Target] = ast.NewTerm(ast.NewArray(make([]*ast.Term, 0, max(s.Capacity, 0))...))
		case *ir.MakeObjectStmt:
			fr[s.Target] = ast.NewTerm(ast.NewObject())
		case *ir.MakeSetStmt:
			fr[s.Target] = ast.NewTerm(ast.NewSet())
		case *ir.MakeNullStmt:
			fr[s.Target] = ast.InternedNullTerm
		case *ir.MakeNumberIntStmt:
			fr[s.Target] = ast.InternedTerm(int(s.Value))
		case *ir.MakeNumberRefStmt:
			fr[s.Target] = m.p.link.numbers[s.Index]
		case *ir.AssignIntStmt:
			fr[s.Target] = ast.InternedTerm(int(s.Value))
		case *ir.LenStmt:
			n, ok := length(termValue(m.op(fr, s.Source)))
			if !ok {
				return 0, nil
			}
			fr[s.Target] = ast.InternedTerm(n)
		case *ir.IsArrayStmt:
			if _, ok := termValue(m.op(fr, s.Source)).(*ast.Array); !ok || !isLocal(s.Source) {
				return 0, nil
			}
		case *ir.IsObjectStmt:
			if _, ok := termValue(m.op(fr, s.Source)).(ast.Object); !ok || !isLocal(s.Source) {
				return 0, nil
			}
		case *ir.IsSetStmt:
			if _, ok := termValue(m.op(fr, s.Source)).(ast.Set); !ok || !isLocal(s.Source) {
				return 0, nil
			}
		case *ir.BlockStmt:
			for _, inner := range s.Blocks {
				d, err := m.run(fr, inner)
				if err != nil || d == returned {
					return d, err
				}
				if d > 0 {
					return d - 1, nil
				}
			}
		case *ir.ScanStmt:
			d, err := m.scan(fr, s)
			if err != nil || d == returned {
				return d, err
			}
			if d >= 0 {
				return d, nil
			}
		case *ir.NotStmt:
			d, err := m.run(fr, s.Block)
			if err != nil || d == returned {
				return d, err
			}
			switch {
			case d == fellThrough: // the negated block holds: not fails
				return 0, nil
			case d > 0:
				return d - 1, nil
			}
		case *ir.BreakStmt:
			return int(s.Index), nil
		case *ir.ResultSetAddStmt:
			m.result = resultTerm(fr[s.Value])
		case *ir.NopStmt:
		default:
			return 0, fmt.Errorf("%w: %T", errUnsupported, s)
		}
	}
	return fellThrough, nil
}

// scan runs s's block for every element of its source, as Wasm does (a block around a
// loop around the body): a break of 0 goes on to the next element, of 1 ends the scan,
// of d > 1 leaves the block that holds the scan d-2 blocks further out. It returns
// fellThrough when the statement after the scan runs next.
func (m *machine) scan(fr []*ast.Term, s *ir.ScanStmt) (int, error) {
	step := func(k, v *ast.Term) (stop bool, d int, err error) {
		// A long scan heeds the end of the evaluation (the webhook's deadline) as
		// topdown's Cancel would.
		if m.steps++; m.steps%256 == 0 {
			if err := m.ctx.Err(); err != nil {
				return true, 0, err
			}
		}
		fr[s.Key], fr[s.Value] = k, v
		d, err = m.run(fr, s.Block)
		switch {
		case err != nil || d == returned:
			return true, d, err
		case d == 1:
			return true, fellThrough, nil
		case d > 1:
			return true, d - 2, nil
		}
		return false, fellThrough, nil
	}
	switch src := termValue(fr[s.Source]).(type) {
	case *ast.Array:
		for i := range src.Len() {
			if stop, d, err := step(ast.InternedTerm(i), src.Elem(i)); stop {
				return d, err
			}
		}
	case ast.Object:
		for _, k := range src.Keys() {
			if stop, d, err := step(k, src.Get(k)); stop {
				return d, err
			}
		}
	case ast.Set:
		for _, e := range src.Slice() {
			if stop, d, err := step(e, e); stop {
				return d, err
			}
		}
	}
	return fellThrough, nil
}

// call runs a CallStmt: nil is an undefined result.
func (m *machine) call(fr []*ast.Term, s *callStmt) (*ast.Term, error) {
	c := s.callee
	if c.fn != nil {
		return m.callFunc(c.fn, fr, s.Args)
	}
	// The operands live in a scratch slice: a built-in reads them during the call and
	// keeps no hold on the slice.
	terms := m.scratch[:0]
	for _, a := range s.Args {
		v := m.op(fr, a)
		if v == nil {
			return nil, nil
		}
		terms = append(terms, v)
	}
	m.scratch = terms
	m.out = nil
	err := c.builtin(m.bctx, terms, m.iter)
	clear(terms)
	if err != nil {
		// topdown's reading, without strict built-in errors: a built-in that fails
		// is undefined, unless it halts the evaluation (which topdown then reports).
		if _, ok := errors.AsType[topdown.Halt](err); ok {
			return nil, err
		}
		return nil, nil
	}
	return m.out, nil
}

// callFunc calls a planned function with the operands args of frame fr.
func (m *machine) callFunc(fn *function, fr []*ast.Term, args []ir.Operand) (*ast.Term, error) {
	if fn.memo >= 0 && m.memoOK[fn.memo] {
		return m.memo[fn.memo], nil
	}
	if err := m.ctx.Err(); err != nil {
		return nil, err
	}
	callee := m.frame(fn.nlocals)
	defer m.release(callee)
	for i, l := range fn.fn.Params {
		v := m.op(fr, args[i])
		if v == nil {
			return nil, nil
		}
		callee[l] = v
	}
	var out *ast.Term
	for _, b := range fn.fn.Blocks {
		d, err := m.run(callee, b)
		if err != nil {
			return nil, err
		}
		if d == returned {
			out = m.ret
			break
		}
	}
	if fn.memo >= 0 {
		m.memo[fn.memo], m.memoOK[fn.memo] = out, true
	}
	return out, nil
}

// resultTerm is the entrypoint's value in a result set entry ({"result": value}).
func resultTerm(t *ast.Term) *ast.Term {
	if obj, ok := termValue(t).(ast.Object); ok {
		return obj.Get(ast.InternedTerm("result"))
	}
	return nil
}

// dot is source[key], nil where undefined: an object's member, an array's element, a
// set's element itself.
func dot(source, key *ast.Term) *ast.Term {
	if source == nil || key == nil {
		return nil
	}
	switch s := source.Value.(type) {
	case ast.Object:
		return s.Get(key)
	case *ast.Array:
		n, ok := key.Value.(ast.Number)
		if !ok {
			return nil
		}
		i, ok := n.Int()
		if !ok || i < 0 || i >= s.Len() {
			return nil
		}
		return s.Elem(i)
	case ast.Set:
		if s.Contains(key) {
			return key
		}
	}
	return nil
}

// length is the number of elements of a collection or of characters of a string.
func length(v ast.Value) (int, bool) {
	switch v := v.(type) {
	case *ast.Array:
		return v.Len(), true
	case ast.Object:
		return v.Len(), true
	case ast.Set:
		return v.Len(), true
	case ast.String:
		return len([]rune(string(v))), true
	}
	return 0, false
}

func isLocal(o ir.Operand) bool {
	_, ok := o.Value.(ir.Local)
	return ok
}
