package engine

import (
	"context"
	"errors"
	"fmt"

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

// program is one rule's plan, ready to run: its calls resolved to functions or
// built-ins, its constants made values.
type program struct {
	plan    *ir.Plan
	strings []ast.Value // the plan's string constants
	numbers []ast.Value // the same constants read as numbers (MakeNumberRefStmt)
	calls   map[*ir.CallStmt]callee
	// memoized is the number of functions memoized per evaluation (rules, which take
	// input and data alone); each has its slot.
	memoized int
	nlocals  int // the plan's frame
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
	name    string
}

// newProgram resolves the plan named entrypoint of policy. It fails when the plan uses
// what the interpreter does not run (errUnsupported).
func newProgram(policy *ir.Policy, entrypoint string) (*program, error) {
	var plan *ir.Plan
	for _, p := range policy.Plans.Plans {
		if p.Name == entrypoint {
			plan = p
		}
	}
	if plan == nil {
		return nil, fmt.Errorf("no plan %q", entrypoint)
	}
	p := &program{plan: plan, calls: map[*ir.CallStmt]callee{}}
	for _, s := range policy.Static.Strings {
		p.strings = append(p.strings, ast.String(s.Value))
		p.numbers = append(p.numbers, ast.Number(s.Value))
	}
	funcs := map[string]*ir.Func{}
	if policy.Funcs != nil {
		for _, f := range policy.Funcs.Funcs {
			funcs[f.Name] = f
		}
	}
	resolved := map[string]*function{}
	var walkBlocks func(blocks []*ir.Block, nlocals *int) error
	resolve := func(name string) (callee, error) {
		if f, ok := resolved[name]; ok {
			return callee{fn: f, name: name}, nil
		}
		if f, ok := funcs[name]; ok {
			fn := &function{fn: f, memo: -1}
			resolved[name] = fn
			if len(f.Params) == 2 {
				fn.memo = p.memoized
				p.memoized++
			}
			for _, l := range f.Params {
				fn.nlocals = max(fn.nlocals, int(l)+1)
			}
			fn.nlocals = max(fn.nlocals, int(f.Return)+1)
			if err := walkBlocks(f.Blocks, &fn.nlocals); err != nil {
				return callee{}, err
			}
			return callee{fn: fn, name: name}, nil
		}
		decl, ok := ast.BuiltinMap[name]
		bi := topdown.GetBuiltin(name)
		if !ok || bi == nil || decl.Nondeterministic || name == ast.InternalPrint.Name || name == ast.Print.Name {
			return callee{}, fmt.Errorf("%w: built-in %s", errUnsupported, name)
		}
		return callee{builtin: bi, name: name}, nil
	}
	walkBlocks = func(blocks []*ir.Block, nlocals *int) error {
		for _, b := range blocks {
			for _, s := range b.Stmts {
				if err := p.check(s, nlocals, resolve, walkBlocks); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walkBlocks(plan.Blocks, &p.nlocals); err != nil {
		return nil, err
	}
	p.nlocals = max(p.nlocals, int(ir.Data)+1, int(ir.Input)+1)
	return p, nil
}

// check validates one statement, notes the locals it uses, and resolves its calls.
func (p *program) check(s ir.Stmt, nlocals *int, resolve func(string) (callee, error), walk func([]*ir.Block, *int) error) error {
	for _, o := range operands(s) {
		normalise(o)
		switch v := o.Value.(type) {
		case ir.StringIndex:
			if int(v) < 0 || int(v) >= len(p.strings) {
				return fmt.Errorf("string constant %d out of range", v)
			}
		case ir.Local, ir.Bool:
		default:
			return fmt.Errorf("%w: operand %T", errUnsupported, v)
		}
	}
	use := func(ls ...ir.Local) {
		for _, l := range ls {
			*nlocals = max(*nlocals, int(l)+1)
		}
	}
	useOp := func(ops ...ir.Operand) {
		for _, o := range ops {
			if l, ok := o.Value.(ir.Local); ok {
				use(l)
			}
		}
	}
	switch s := s.(type) {
	case *ir.CallStmt:
		c, err := resolve(s.Func)
		if err != nil {
			return err
		}
		p.calls[s] = c
		useOp(s.Args...)
		use(s.Result)
	case *ir.BlockStmt:
		return walk(s.Blocks, nlocals)
	case *ir.ScanStmt:
		use(s.Source, s.Key, s.Value)
		return walk([]*ir.Block{s.Block}, nlocals)
	case *ir.NotStmt:
		return walk([]*ir.Block{s.Block}, nlocals)
	case *ir.ReturnLocalStmt:
		use(s.Source)
	case *ir.BreakStmt, *ir.NopStmt:
	case *ir.DotStmt:
		useOp(s.Source, s.Key)
		use(s.Target)
	case *ir.LenStmt:
		useOp(s.Source)
		use(s.Target)
	case *ir.AssignIntStmt:
		use(s.Target)
	case *ir.AssignVarStmt:
		useOp(s.Source)
		use(s.Target)
	case *ir.AssignVarOnceStmt:
		useOp(s.Source)
		use(s.Target)
	case *ir.ResetLocalStmt:
		use(s.Target)
	case *ir.MakeNullStmt:
		use(s.Target)
	case *ir.MakeNumberIntStmt:
		use(s.Target)
	case *ir.MakeNumberRefStmt:
		if s.Index < 0 || s.Index >= len(p.numbers) {
			return fmt.Errorf("number constant %d out of range", s.Index)
		}
		use(s.Target)
	case *ir.MakeArrayStmt:
		use(s.Target)
	case *ir.MakeObjectStmt:
		use(s.Target)
	case *ir.MakeSetStmt:
		use(s.Target)
	case *ir.EqualStmt:
		useOp(s.A, s.B)
	case *ir.NotEqualStmt:
		useOp(s.A, s.B)
	case *ir.IsArrayStmt:
		useOp(s.Source)
	case *ir.IsObjectStmt:
		useOp(s.Source)
	case *ir.IsSetStmt:
		useOp(s.Source)
	case *ir.IsDefinedStmt:
		use(s.Source)
	case *ir.IsUndefinedStmt:
		use(s.Source)
	case *ir.ArrayAppendStmt:
		useOp(s.Value)
		use(s.Array)
	case *ir.ObjectInsertStmt:
		useOp(s.Key, s.Value)
		use(s.Object)
	case *ir.ObjectInsertOnceStmt:
		useOp(s.Key, s.Value)
		use(s.Object)
	case *ir.SetAddStmt:
		useOp(s.Value)
		use(s.Set)
	case *ir.ResultSetAddStmt:
		use(s.Value)
	default:
		return fmt.Errorf("%w: %T", errUnsupported, s)
	}
	return nil
}

// operands returns the operands of the statements that have any, to be read and
// normalised in place.
func operands(s ir.Stmt) []*ir.Operand {
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

// machine runs one evaluation of one program.
type machine struct {
	ctx    context.Context //nolint:containedctx // one evaluation's, for the built-ins
	p      *program
	bctx   topdown.BuiltinContext
	memo   []ast.Value
	memoOK []bool
	ret    ast.Value // the value of the last ReturnLocalStmt
	out    ast.Value // the last built-in's result
	iter   func(*ast.Term) error
	result ast.Value // what the plan added to its result set
	stack  []ast.Value
}

// errConflict is a rule that produced two values where it may produce one.
var errConflict = errors.New("conflicting values")

// runProgram evaluates p on input and data and returns the value of the entrypoint,
// nil if it is undefined.
func runProgram(ctx context.Context, cancel topdown.Cancel, p *program, input, data ast.Value) (ast.Value, error) {
	m := &machine{ctx: ctx, p: p, memo: make([]ast.Value, p.memoized), memoOK: make([]bool, p.memoized)}
	m.bctx = topdown.BuiltinContext{Context: ctx, Cancel: cancel}
	m.iter = func(t *ast.Term) error {
		m.out = t.Value
		return nil
	}
	fr := m.frame(p.nlocals)
	fr[ir.Input] = input
	fr[ir.Data] = data
	for _, b := range p.plan.Blocks {
		if _, err := m.run(fr, b); err != nil {
			return nil, err
		}
	}
	return m.result, nil
}

// frame takes n locals off the machine's stack; release gives them back.
func (m *machine) frame(n int) []ast.Value {
	if cap(m.stack)-len(m.stack) < n {
		// A new backing array: frames already handed out keep the old one.
		m.stack = make([]ast.Value, 0, max(2*cap(m.stack), n, 256))
	}
	l := len(m.stack)
	m.stack = m.stack[:l+n]
	fr := m.stack[l : l+n : l+n]
	clear(fr)
	return fr
}

func (m *machine) release(fr []ast.Value) {
	if l := len(m.stack) - len(fr); l >= 0 && len(fr) > 0 && &m.stack[l] == &fr[0] {
		m.stack = m.stack[:l]
	}
}

func (m *machine) op(fr []ast.Value, o ir.Operand) ast.Value {
	switch v := o.Value.(type) {
	case ir.Local:
		return fr[v]
	case ir.Bool:
		return ast.Boolean(v)
	case ir.StringIndex:
		return m.p.strings[v]
	}
	return nil
}

// run runs one block in frame fr.
func (m *machine) run(fr []ast.Value, b *ir.Block) (int, error) {
	for _, s := range b.Stmts {
		switch s := s.(type) {
		case *ir.AssignVarStmt:
			fr[s.Target] = m.op(fr, s.Source)
		case *ir.CallStmt:
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
				if cur.Compare(v) != 0 {
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
			if a == nil || b == nil || a.Compare(b) == 0 {
				return 0, nil
			}
		case *ir.EqualStmt:
			a, b := m.op(fr, s.A), m.op(fr, s.B)
			if a == nil || b == nil || a.Compare(b) != 0 {
				return 0, nil
			}
		case *ir.ArrayAppendStmt:
			arr, ok := fr[s.Array].(*ast.Array)
			v := m.op(fr, s.Value)
			if !ok || v == nil {
				return 0, fmt.Errorf("append to %s", typeName(fr[s.Array]))
			}
			// In place, as Wasm does: every local that holds the array sees it grow.
			*arr = *arr.Append(ast.NewTerm(v))
		case *ir.ResetLocalStmt:
			fr[s.Target] = nil
		case *ir.ObjectInsertStmt:
			obj, ok := fr[s.Object].(ast.Object)
			k, v := m.op(fr, s.Key), m.op(fr, s.Value)
			if !ok || k == nil || v == nil {
				return 0, fmt.Errorf("insert into %s", typeName(fr[s.Object]))
			}
			obj.Insert(ast.NewTerm(k), ast.NewTerm(v))
		case *ir.ObjectInsertOnceStmt:
			obj, ok := fr[s.Object].(ast.Object)
			k, v := m.op(fr, s.Key), m.op(fr, s.Value)
			if !ok || k == nil || v == nil {
				return 0, fmt.Errorf("insert into %s", typeName(fr[s.Object]))
			}
			kt := ast.NewTerm(k)
			if cur := obj.Get(kt); cur != nil {
				if cur.Value.Compare(v) != 0 {
					return 0, fmt.Errorf("%w: object insert conflict", errConflict)
				}
				continue
			}
			obj.Insert(kt, ast.NewTerm(v))
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
			set, ok := fr[s.Set].(ast.Set)
			v := m.op(fr, s.Value)
			if !ok || v == nil {
				return 0, fmt.Errorf("add to %s", typeName(fr[s.Set]))
			}
			set.Add(ast.NewTerm(v))
		case *ir.MakeArrayStmt:
			fr[s.Target] = ast.NewArray(make([]*ast.Term, 0, max(s.Capacity, 0))...)
		case *ir.MakeObjectStmt:
			fr[s.Target] = ast.NewObject()
		case *ir.MakeSetStmt:
			fr[s.Target] = ast.NewSet()
		case *ir.MakeNullStmt:
			fr[s.Target] = ast.Null{}
		case *ir.MakeNumberIntStmt:
			fr[s.Target] = ast.InternedTerm(int(s.Value)).Value
		case *ir.MakeNumberRefStmt:
			fr[s.Target] = m.p.numbers[s.Index]
		case *ir.AssignIntStmt:
			fr[s.Target] = ast.InternedTerm(int(s.Value)).Value
		case *ir.LenStmt:
			n, ok := length(m.op(fr, s.Source))
			if !ok {
				return 0, nil
			}
			fr[s.Target] = ast.InternedTerm(n).Value
		case *ir.IsArrayStmt:
			if _, ok := m.op(fr, s.Source).(*ast.Array); !ok || !isLocal(s.Source) {
				return 0, nil
			}
		case *ir.IsObjectStmt:
			if _, ok := m.op(fr, s.Source).(ast.Object); !ok || !isLocal(s.Source) {
				return 0, nil
			}
		case *ir.IsSetStmt:
			if _, ok := m.op(fr, s.Source).(ast.Set); !ok || !isLocal(s.Source) {
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
			m.result = resultValue(fr[s.Value])
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
func (m *machine) scan(fr []ast.Value, s *ir.ScanStmt) (int, error) {
	step := func(k, v *ast.Term) (stop bool, d int, err error) {
		fr[s.Key], fr[s.Value] = k.Value, v.Value
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
	switch src := fr[s.Source].(type) {
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
func (m *machine) call(fr []ast.Value, s *ir.CallStmt) (ast.Value, error) {
	c := m.p.calls[s]
	if c.fn != nil {
		return m.callFunc(c.fn, fr, s.Args)
	}
	terms := make([]*ast.Term, len(s.Args))
	for i, a := range s.Args {
		v := m.op(fr, a)
		if v == nil {
			return nil, nil
		}
		terms[i] = ast.NewTerm(v)
	}
	m.out = nil
	if err := c.builtin(m.bctx, terms, m.iter); err != nil {
		// topdown's reading, without strict built-in errors: a built-in that fails
		// is undefined, unless it halts the evaluation.
		if _, ok := err.(topdown.Halt); ok {
			return nil, err
		}
		return nil, nil
	}
	return m.out, nil
}

// callFunc calls a planned function with the operands args of frame fr.
func (m *machine) callFunc(fn *function, fr []ast.Value, args []ir.Operand) (ast.Value, error) {
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
	var out ast.Value
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

// resultValue is the entrypoint's value in a result set entry ({"result": value}).
func resultValue(v ast.Value) ast.Value {
	if obj, ok := v.(ast.Object); ok {
		if t := obj.Get(ast.InternedTerm("result")); t != nil {
			return t.Value
		}
	}
	return nil
}

// dot is source[key], nil where undefined: an object's member, an array's element, a
// set's element itself.
func dot(source, key ast.Value) ast.Value {
	if source == nil || key == nil {
		return nil
	}
	switch s := source.(type) {
	case ast.Object:
		if t := s.Get(ast.NewTerm(key)); t != nil {
			return t.Value
		}
	case *ast.Array:
		n, ok := key.(ast.Number)
		if !ok {
			return nil
		}
		i, ok := n.Int()
		if !ok || i < 0 || i >= s.Len() {
			return nil
		}
		return s.Elem(i).Value
	case ast.Set:
		if s.Contains(ast.NewTerm(key)) {
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

func typeName(v ast.Value) string {
	if v == nil {
		return "undefined"
	}
	return ast.ValueName(v)
}
