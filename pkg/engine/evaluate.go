package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/wardsec/ward/internal/parallel"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

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
	query    rego.PreparedEvalQuery
	rules    ast.Value // input.rules: package name -> parameters, enabled rules only
	enabled  []*rules.Rule
	excluded map[string]bool
	// single holds one prepared input.rules per rule, for isolating a failing rule.
	single map[string]ast.Value
	// memo shares input-independent results across evaluations (memo.go); it is
	// replaced whenever the inventory changes.
	memo atomic.Pointer[memo]
}

// Prepare binds the compiled rules to an inventory and settings. It is cheap next to
// New: the rules are compiled already; only the query is prepared.
func (e *Engine) Prepare(ctx context.Context, inv *Inventory, s Settings) (*Evaluator, error) {
	if inv == nil {
		var err error
		if inv, err = NewInventory(nil); err != nil {
			return nil, err
		}
	}
	ev := &Evaluator{engine: e, inv: inv, excluded: map[string]bool{}, single: map[string]ast.Value{}}
	for _, ns := range s.ExcludedNamespaces {
		ev.excluded[ns] = true
	}
	ids := s.Enabled
	if ids == nil {
		ids = e.registry.IDs()
	}
	all := ast.NewObject()
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
		all.Insert(ast.StringTerm(rule.Package), ast.NewTerm(pv))
		ev.single[id] = ast.NewObject(ast.Item(ast.StringTerm(rule.Package), ast.NewTerm(pv)))
		ev.enabled = append(ev.enabled, rule)
	}
	ev.rules = all
	q, err := rego.New(
		rego.Query(entrypoint),
		rego.Compiler(e.compiler),
		rego.Store(inv.store),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare query: %w", err)
	}
	ev.query = q
	return ev, nil
}

// Evaluate judges one review: excluded namespaces skip every rule; violations on an
// object carrying ignore.ward.dev/<rule> are moved to Exempted with the reason.
func (ev *Evaluator) Evaluate(ctx context.Context, r Review) Outcome {
	if ev.excluded[r.Namespace] {
		return Outcome{Excluded: true}
	}
	review, err := ev.reviewValue(r)
	if err != nil {
		return Outcome{Errors: []RuleError{{RuleID: "*", Err: err}}}
	}
	// The inventory does not change while a review is evaluated, so that results shared
	// through the memo are those of the state this evaluation reads.
	ev.inv.rw.RLock()
	defer ev.inv.rw.RUnlock()
	found, err := ev.eval(ctx, review, ev.rules)
	var out Outcome
	if err != nil {
		// One rule failed and took the query with it: evaluate the rules one by one so
		// the failing one is named and the others still report.
		found = nil
		for _, rule := range ev.enabled {
			vs, err := ev.eval(ctx, review, ev.single[rule.ID])
			if err != nil {
				var re RuleError
				if !errors.As(err, &re) {
					re = RuleError{RuleID: rule.ID, Err: err}
				}
				out.Errors = append(out.Errors, re)
				continue
			}
			found = append(found, vs...)
		}
	}
	annotations := annotationsOf(r.subject())
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

func (ev *Evaluator) eval(ctx context.Context, review ast.Value, rulesValue ast.Value) ([]Violation, error) {
	input := ast.NewObject(
		ast.Item(ast.StringTerm("review"), ast.NewTerm(review)),
		ast.Item(ast.StringTerm("rules"), ast.NewTerm(rulesValue)),
	)
	cache := newQueryCache(ev.currentMemo())
	rs, err := ev.query.Eval(ctx, rego.EvalParsedInput(input), rego.EvalVirtualCache(cache))
	if err != nil {
		return nil, err
	}
	cache.done()
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil
	}
	set, _ := rs[0].Expressions[0].Value.([]any)
	out := make([]Violation, 0, len(set))
	for _, item := range set {
		v, err := ev.violation(item)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, compareViolations)
	return out, nil
}

// currentMemo returns the memo of the inventory's current state. The caller holds the
// inventory's read lock.
func (ev *Evaluator) currentMemo() *memo {
	gen := ev.inv.gen
	m := ev.memo.Load()
	for m == nil || m.gen != gen {
		fresh := newMemo(ev.engine.purity, gen)
		if ev.memo.CompareAndSwap(m, fresh) {
			return fresh
		}
		m = ev.memo.Load()
	}
	return m
}

func (ev *Evaluator) violation(item any) (Violation, error) {
	m, _ := item.(map[string]any)
	pkg, _ := m["rule"].(string)
	rule, ok := ev.engine.registry.ByPackage(pkg)
	if !ok {
		return Violation{}, fmt.Errorf("violation from unknown rule package %q", pkg)
	}
	v := Violation{RuleID: rule.ID}
	switch msg := m["msg"].(type) {
	case string:
		v.Message = msg
	default:
		return Violation{}, RuleError{RuleID: rule.ID, Err: fmt.Errorf("violation msg is %T, want a string", msg)}
	}
	details, _ := m["details"].(map[string]any)
	if p, ok := details["path"].([]any); ok {
		v.Path = normalizePath(p)
	}
	v.Key, _ = details["key"].(string)
	return v, nil
}

// normalizePath turns OPA's JSON numbers into ints so paths index arrays in Go.
func normalizePath(p []any) []any {
	out := make([]any, len(p))
	for i, e := range p {
		switch x := e.(type) {
		case json.Number:
			if n, err := strconv.Atoi(string(x)); err == nil {
				out[i] = n
			} else {
				out[i] = string(x)
			}
		case string:
			out[i] = x
		default:
			out[i] = fmt.Sprint(x)
		}
	}
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

// reviewValue converts a review to input.review. The object is converted once: the
// inventory's value of the same object is reused when there is one.
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
		v := ev.inv.value(obj)
		if v == nil {
			var err error
			if v, err = ast.InterfaceToValue(obj); err != nil {
				return fmt.Errorf("convert review of %s %s/%s: %w", r.Kind.Kind, r.Namespace, r.Name, err)
			}
		}
		items = append(items, ast.Item(ast.InternedTerm(key), ast.NewTerm(v)))
		return nil
	}
	if err := add("object", r.Object); err != nil {
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
	seen := map[[2]string]bool{}
	seenExempt := map[[2]string]bool{}
	for i := range outcomes {
		outcomes[i].Violations = keepFirst(outcomes[i].Violations, seen)
		outcomes[i].Exempted = keepFirst(outcomes[i].Exempted, seenExempt)
	}
}

func keepFirst(vs []Violation, seen map[[2]string]bool) []Violation {
	return slices.DeleteFunc(vs, func(v Violation) bool {
		if v.Key == "" {
			return false
		}
		k := [2]string{v.RuleID, v.Key}
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	})
}
