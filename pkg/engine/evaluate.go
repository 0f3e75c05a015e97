package engine

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/wardsec/ward/internal/parallel"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/wardsec/ward/pkg/rules"
)

// Settings say which rules run and with what parameters.
type Settings struct {
	// Enabled lists the IDs of the rules to evaluate; nil means every rule.
	Enabled []string
	// Parameters override a rule's default parameters key by key, by rule ID.
	Parameters map[string]map[string]any
	// ExcludedNamespaces are exempt from every rule.
	ExcludedNamespaces []string
}

// Violation is one finding of a rule on one review.
type Violation struct {
	RuleID  string
	Message string
	// Path is the object path of the offending field: string keys and int indexes.
	Path []any
	// Key, when set, makes findings of one rule that share it a single finding (the
	// first in input order): default-deny reports a namespace once.
	Key string
	// Reason is the exemption's reason, for violations exempted by annotation.
	Reason string
}

// RuleError is a rule that failed to evaluate (a runtime error, conflicting values).
type RuleError struct {
	RuleID string
	Err    error
}

func (e RuleError) Error() string { return fmt.Sprintf("rule %s: %v", e.RuleID, e.Err) }

// Outcome is the verdict on one review.
type Outcome struct {
	Violations []Violation
	// Exempted are violations an ignore.ward.dev/<rule> annotation exempts.
	Exempted []Violation
	// Errors are rules that could not be evaluated; the other rules' results stand.
	Errors []RuleError
	// Excluded is true when the review's namespace is excluded and nothing ran.
	Excluded bool
}

// Evaluator evaluates reviews against the compiled rules and one inventory. It is safe
// for concurrent use.
type Evaluator struct {
	engine   *Engine
	inv      *Inventory
	rules    []preparedRule // the enabled rules, in registry order
	excluded map[string]bool
	// noData is data for the rules the interpreter runs, which read no base document.
	noData ast.Value
}

// preparedRule is one enabled rule, ready to evaluate: its compiled query and its
// parameters. Each rule is its own query, evaluated with its own input
// {"review": ..., "parameters": ...}: no rule replaces input with "with" (which makes
// OPA copy the input and drop its caches), a failing rule fails alone, and a rule whose
// kinds cannot match the review is not evaluated at all (dispatch.go).
type preparedRule struct {
	rule   *rules.Rule
	query  ast.Body
	params *ast.Term
	kinds  kindFilter
	// memo shares the rule's input-independent results across evaluations (memo.go);
	// it is replaced whenever the inventory changes. One memo per rule, because
	// results that read input.parameters hold for this rule's parameters only.
	memo *atomic.Pointer[memo]
}

// resultVar is the variable the rule queries bind their violation set to.
var resultVar = ast.Var("violations")

// Prepare binds the compiled rules to an inventory and settings. It is cheap next to
// New: the rules are compiled already; only the queries are.
func (e *Engine) Prepare(_ context.Context, inv *Inventory, s Settings) (*Evaluator, error) {
	if inv == nil {
		var err error
		if inv, err = NewInventory(nil); err != nil {
			return nil, err
		}
	}
	ev := &Evaluator{engine: e, inv: inv, excluded: map[string]bool{}, noData: ast.NewObject()}
	for _, ns := range s.ExcludedNamespaces {
		ev.excluded[ns] = true
	}
	ids := s.Enabled
	if ids == nil {
		ids = e.registry.IDs()
	}
	for _, id := range ids {
		rule, ok := e.registry.Get(id)
		if !ok {
			return nil, fmt.Errorf("%w %q", rules.ErrUnknownRule, id)
		}
		params := maps.Clone(rule.Parameters)
		if params == nil {
			params = map[string]any{}
		}
		maps.Copy(params, s.Parameters[id])
		pv, err := ast.InterfaceToValue(params)
		if err != nil {
			return nil, fmt.Errorf("parameters of %s: %w", id, err)
		}
		freeze(pv)
		query, err := e.compiler.QueryCompiler().Compile(ast.NewBody(ast.Equality.Expr(ast.NewTerm(resultVar), ast.NewTerm(violationRef(rule.Package)))))
		if err != nil {
			return nil, fmt.Errorf("prepare rule %s: %w", id, err)
		}
		ev.rules = append(ev.rules, preparedRule{rule: rule, query: query, params: ast.NewTerm(pv), kinds: e.kinds[rule.Package], memo: new(atomic.Pointer[memo])})
	}
	return ev, nil
}

// Evaluate judges one review: excluded namespaces skip every rule; violations on an
// object carrying ignore.ward.dev/<rule> are moved to Exempted with the reason.
func (ev *Evaluator) Evaluate(ctx context.Context, r Review) Outcome {
	if ev.excluded[r.Namespace] {
		return Outcome{Excluded: true}
	}
	ev.engine.plans.judged()
	review, err := ev.reviewValue(r)
	if err != nil {
		return Outcome{Errors: []RuleError{{RuleID: "*", Err: err}}}
	}
	// The inventory does not change while a review is evaluated, so that results shared
	// through the memo are those of the state this evaluation reads.
	ev.inv.rw.RLock()
	defer ev.inv.rw.RUnlock()
	var out Outcome
	txn, err := ev.inv.store.NewTransaction(ctx)
	if err != nil {
		return Outcome{Errors: []RuleError{{RuleID: "*", Err: fmt.Errorf("read inventory: %w", err)}}}
	}
	defer ev.inv.store.Abort(ctx, txn)
	// A deadline or cancellation of ctx stops the rule being evaluated (the webhook's
	// evaluation timeout). OPA's evaluator polls a Cancel, not the context, so one is
	// made, once, when a rule goes to topdown; the interpreter polls ctx itself.
	var cancel lazyCancel
	defer cancel.stop()
	reviewTerm := ast.NewTerm(review)
	objectKind, oldKind := r.objectKind(), kindOf(r.OldObject)
	var found []Violation
	for i := range ev.rules {
		pr := &ev.rules[i]
		if !pr.kinds.admits(objectKind, oldKind) {
			continue
		}
		if err := ctx.Err(); err != nil {
			out.Errors = append(out.Errors, RuleError{RuleID: pr.rule.ID, Err: err})
			continue
		}
		vs, err := ev.eval(ctx, txn, &cancel, pr, reviewTerm)
		if err != nil {
			out.Errors = append(out.Errors, RuleError{RuleID: pr.rule.ID, Err: err})
			continue
		}
		found = append(found, vs...)
	}
	annotations := r.ignoreAnnotations()
	for _, v := range found {
		if reason, ok := annotations[rules.IgnoreAnnotationPrefix+v.RuleID]; ok {
			v.Reason = reason
			out.Exempted = append(out.Exempted, v)
			continue
		}
		out.Violations = append(out.Violations, v)
	}
	return out
}

// eval evaluates one rule's query on one review, straight through OPA's evaluator:
// the rego package's per-call set-up (a transaction, metrics, converting results to
// JSON) costs as much as a small rule.
func (ev *Evaluator) eval(ctx context.Context, txn storage.Transaction, cancel *lazyCancel, pr *preparedRule, review *ast.Term) (_ []Violation, err error) {
	// OPA panics where a value it reads cannot be converted (ast.MustInterfaceToValue,
	// on an inventory object read lazily: lazyObject): one rule on one object fails,
	// not the run.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("evaluation failed: %v", p)
		}
	}()
	input := ast.NewObject(
		ast.Item(ast.InternedTerm("review"), review),
		ast.Item(ast.InternedTerm("parameters"), pr.params),
	)
	if prog := ev.engine.plans.program(pr.rule.Package); prog != nil {
		// A rule that fails in the interpreter is evaluated again by topdown below,
		// whose error is the one reported (vm.go).
		if v, err := runProgram(ctx, prog, input, ev.noData); err == nil {
			return violationsOf(pr.rule.ID, v)
		}
	}
	cache := newQueryCache(ev.currentMemo(pr))
	q := topdown.NewQuery(pr.query).
		WithCompiler(ev.engine.compiler).
		WithStore(ev.inv.store).
		WithTransaction(txn).
		WithInput(ast.NewTerm(input)).
		WithVirtualCache(cache).
		WithCancel(cancel.get(ctx))
	var set ast.Set
	err = q.Iter(ctx, func(qr topdown.QueryResult) error {
		t := qr[resultVar]
		if t == nil {
			return nil
		}
		s, ok := t.Value.(ast.Set)
		if !ok {
			return fmt.Errorf("violation is %s, want a set", ast.ValueName(t.Value))
		}
		set = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	cache.done()
	return violationsOf(pr.rule.ID, set)
}

// violationsOf reads a rule's violation set, sorted; v nil is an undefined set.
func violationsOf(ruleID string, v ast.Value) ([]Violation, error) {
	if v == nil {
		return nil, nil
	}
	set, ok := v.(ast.Set)
	if !ok {
		return nil, fmt.Errorf("violation is %s, want a set", ast.ValueName(v))
	}
	if set.Len() == 0 {
		return nil, nil
	}
	out := make([]Violation, 0, set.Len())
	for _, item := range set.Slice() {
		v, err := violationOf(ruleID, item.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, compareViolations)
	return out, nil
}

// lazyCancel is the topdown.Cancel of one evaluation, made when first needed: arming
// it (context.AfterFunc) costs as much as a small rule in the interpreter.
type lazyCancel struct {
	cancel  topdown.Cancel
	release func() bool
}

// get returns the Cancel that ctx's end triggers; nil when ctx cannot end.
func (c *lazyCancel) get(ctx context.Context) topdown.Cancel {
	if c.cancel == nil && ctx.Done() != nil {
		c.cancel = topdown.NewCancel()
		c.release = context.AfterFunc(ctx, c.cancel.Cancel)
	}
	return c.cancel
}

func (c *lazyCancel) stop() {
	if c.release != nil {
		c.release()
	}
}

// currentMemo returns the rule's memo of the inventory's current state. The caller
// holds the inventory's read lock.
func (ev *Evaluator) currentMemo(pr *preparedRule) *memo {
	gen := ev.inv.gen
	m := pr.memo.Load()
	for m == nil || m.gen != gen {
		fresh := newMemo(ev.engine.purity, gen)
		if pr.memo.CompareAndSwap(m, fresh) {
			return fresh
		}
		m = pr.memo.Load()
	}
	return m
}

// violationOf reads one member of a rule's violation set:
// {"msg": string, "details": {"path": [...], "key": string}}.
func violationOf(ruleID string, item ast.Value) (Violation, error) {
	obj, ok := item.(ast.Object)
	if !ok {
		return Violation{}, fmt.Errorf("violation is %s, want an object", ast.ValueName(item))
	}
	v := Violation{RuleID: ruleID}
	msg, ok := termString(obj.Get(ast.InternedTerm("msg")))
	if !ok {
		return Violation{}, fmt.Errorf("violation msg is %s, want a string", valueName(obj.Get(ast.InternedTerm("msg"))))
	}
	v.Message = msg
	details, _ := termValue(obj.Get(ast.InternedTerm("details"))).(ast.Object)
	if details == nil {
		return v, nil
	}
	if p, ok := termValue(details.Get(ast.InternedTerm("path"))).(*ast.Array); ok {
		v.Path = pathOf(p)
	}
	v.Key, _ = termString(details.Get(ast.InternedTerm("key")))
	return v, nil
}

func termValue(t *ast.Term) ast.Value {
	if t == nil {
		return nil
	}
	return t.Value
}

func termString(t *ast.Term) (string, bool) {
	s, ok := termValue(t).(ast.String)
	return string(s), ok
}

func valueName(t *ast.Term) string {
	if t == nil {
		return "undefined"
	}
	return ast.ValueName(t.Value)
}

// pathOf turns a details.path array into Go: string keys, int indexes; other values
// (a rule's mistake) are kept as their text so the path still names something.
func pathOf(a *ast.Array) []any {
	out := make([]any, 0, a.Len())
	a.Foreach(func(t *ast.Term) {
		switch x := t.Value.(type) {
		case ast.String:
			out = append(out, string(x))
		case ast.Number:
			if n, ok := x.Int(); ok {
				out = append(out, n)
			} else {
				out = append(out, x.String())
			}
		default:
			out = append(out, t.String())
		}
	})
	return out
}

func compareViolations(a, b Violation) int {
	return cmp.Or(
		strings.Compare(a.RuleID, b.RuleID),
		strings.Compare(PathString(a.Path), PathString(b.Path)),
		strings.Compare(a.Message, b.Message),
	)
}

// PathString renders an object path as spec.containers[0].securityContext.
func PathString(p []any) string {
	var b strings.Builder
	for _, e := range p {
		switch x := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", x)
		default:
			s := fmt.Sprint(x)
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			if strings.ContainsAny(s, ".[]") {
				fmt.Fprintf(&b, "[%q]", s)
				continue
			}
			b.WriteString(s)
		}
	}
	return b.String()
}

// reviewValue converts a review to input.review. The object is converted once: a
// review that carries its Value (ward lint's) evaluates that very value.
func (ev *Evaluator) reviewValue(r Review) (ast.Value, error) {
	items := make([][2]*ast.Term, 0, 8)
	items = append(items,
		ast.Item(ast.InternedTerm("operation"), ast.StringTerm(r.Operation)),
		ast.Item(ast.InternedTerm("kind"), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("group"), ast.StringTerm(r.Kind.Group)),
			ast.Item(ast.InternedTerm("version"), ast.StringTerm(r.Kind.Version)),
			ast.Item(ast.InternedTerm("kind"), ast.StringTerm(r.Kind.Kind)),
		)),
		ast.Item(ast.InternedTerm("namespace"), ast.StringTerm(r.Namespace)),
		ast.Item(ast.InternedTerm("name"), ast.StringTerm(r.Name)),
	)
	add := func(key string, obj map[string]any) error {
		if obj == nil {
			return nil
		}
		v, err := ast.InterfaceToValue(obj)
		if err != nil {
			return fmt.Errorf("convert review of %s %s/%s: %w", r.Kind.Kind, r.Namespace, r.Name, err)
		}
		items = append(items, ast.Item(ast.InternedTerm(key), ast.NewTerm(v)))
		return nil
	}
	if r.Value != nil {
		items = append(items, ast.Item(ast.InternedTerm("object"), ast.NewTerm(r.Value.value)))
	} else if err := add("object", r.Object); err != nil {
		return nil, err
	}
	if err := add("oldObject", r.OldObject); err != nil {
		return nil, err
	}
	if err := add("userInfo", r.UserInfo); err != nil {
		return nil, err
	}
	return ast.NewObject(items...), nil
}

func annotationsOf(obj map[string]any) map[string]string {
	meta, _ := obj["metadata"].(map[string]any)
	raw, _ := meta["annotations"].(map[string]any)
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if s, ok := v.(string); ok && strings.HasPrefix(k, rules.IgnoreAnnotationPrefix) {
			out[k] = s
		}
	}
	return out
}

// EvaluateAll judges reviews concurrently and returns their outcomes in input order.
// Findings that share a rule and a Key are kept once, at the first review in input order
// that has one (so default-deny names each namespace once).
func (ev *Evaluator) EvaluateAll(ctx context.Context, reviews []Review) []Outcome {
	out := make([]Outcome, len(reviews))
	parallel.For(len(reviews), func(i int) { out[i] = ev.Evaluate(ctx, reviews[i]) })
	dedup(out)
	return out
}

func dedup(outcomes []Outcome) {
	var violations, exempted Dedup
	for i := range outcomes {
		outcomes[i].Violations = slices.DeleteFunc(outcomes[i].Violations, func(v Violation) bool { return !violations.Keep(v) })
		outcomes[i].Exempted = slices.DeleteFunc(outcomes[i].Exempted, func(v Violation) bool { return !exempted.Keep(v) })
	}
}

// Dedup keeps the first of the findings that share a rule and a Key, as EvaluateAll
// does: ward lint, which evaluates in two passes, applies it to the merged outcomes in
// input order. Violations and exemptions each need their own. The zero value is ready.
type Dedup struct {
	seen map[[2]string]bool
}

// Keep reports whether v is to be kept: it has no Key, or it is the first with its rule
// and Key.
func (d *Dedup) Keep(v Violation) bool {
	if v.Key == "" {
		return true
	}
	k := [2]string{v.RuleID, v.Key}
	if d.seen[k] {
		return false
	}
	if d.seen == nil {
		d.seen = map[[2]string]bool{}
	}
	d.seen[k] = true
	return true
}
