package engine

import (
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/wardsec/ward/pkg/rules"
)

// A rule whose every violation body requires the reviewed object to be of certain kinds
// cannot find anything in an object of another kind, and evaluating it there only costs
// time: a few microseconds for each rule that OPA's index turns away, and more for a
// rule whose helpers run before its body can fail. Most objects of a manifest set are of
// a kind that only one or two rules look at.
//
// The engine reads the kinds off the compiled rules rather than from a list kept beside
// them, so that the list cannot drift from what the rule really checks: a violation body
// is restricted when one of its conjuncts is
//
//	input.review.object.kind == "NetworkPolicy"
//	input.review.object.kind in {"Pod", "Deployment", ...}
//
// (or the same on input.review.oldObject.kind), unnegated and without "with". A body
// without such a conjunct, which a user rule may well have, makes its rule run on every
// review. The result only skips evaluations whose result is known to be empty; it never
// changes a verdict.

// kindFilter says which reviews a rule can find anything in.
type kindFilter struct {
	// all: some violation body is not restricted by kind.
	all bool
	// object and oldObject: kinds of input.review.object / input.review.oldObject that
	// some restricted body accepts.
	object, oldObject map[string]bool
}

// admits reports whether a rule may find something in a review whose object and old
// object have these kinds ("" when absent or not a string).
func (f kindFilter) admits(objectKind, oldKind string) bool {
	return f.all || f.object[objectKind] || f.oldObject[oldKind]
}

var (
	rulesRef      = ast.MustParseRef("data.ward.rules")
	objectKindRef = ast.MustParseRef("input.review.object.kind")
	oldKindRef    = ast.MustParseRef("input.review.oldObject.kind")
)

// Admits reports whether one of the rules ids (unknown ones are skipped) may find
// anything in the review of an object of this kind: a caller may skip building the
// review of an object that none of them looks at.
func (e *Engine) Admits(ids []string, kind string) bool {
	for _, id := range ids {
		if rule, ok := e.registry.Get(id); ok && e.kinds[rule.Package].admits(kind, "") {
			return true
		}
	}
	return false
}

// violationRef is data.ward.rules.<pkg>.violation, a rule's violation set.
func violationRef(pkg string) ast.Ref {
	return rulesRef.Append(ast.StringTerm(pkg)).Append(ast.StringTerm("violation"))
}

// dispatch computes the kind filter of every rule of the registry.
func dispatch(c *ast.Compiler, reg *rules.Registry) map[string]kindFilter {
	out := map[string]kindFilter{}
	for _, id := range reg.IDs() {
		rule, _ := reg.Get(id)
		ref := violationRef(rule.Package)
		f := kindFilter{object: map[string]bool{}, oldObject: map[string]bool{}}
		for _, r := range c.GetRulesExact(ref) {
			field, kinds, ok := bodyKinds(r.Body)
			if !ok {
				f.all = true
				break
			}
			target := f.object
			if field == "oldObject" {
				target = f.oldObject
			}
			for _, k := range kinds {
				target[k] = true
			}
		}
		out[rule.Package] = f
	}
	return out
}

// bodyKinds finds a conjunct of body that restricts the kind of the reviewed object
// ("object") or of the old object ("oldObject") to a list of string literals.
func bodyKinds(body ast.Body) (field string, kinds []string, ok bool) {
	// The compiler rewrites "input.review.object.kind in S" into
	// "__local1__ = input.review.object.kind; internal.member_2(__local1__, S)".
	aliases := map[ast.Var]ast.Ref{}
	for _, expr := range body {
		if expr.Negated || len(expr.With) > 0 || !expr.IsEquality() {
			continue
		}
		ops := expr.Operands()
		for i := range 2 {
			v, isVar := ops[i].Value.(ast.Var)
			r, isRef := ops[1-i].Value.(ast.Ref)
			if isVar && isRef && (r.Equal(objectKindRef) || r.Equal(oldKindRef)) {
				aliases[v] = r
			}
		}
	}
	for _, expr := range body {
		if expr.Negated || len(expr.With) > 0 || !expr.IsCall() {
			continue
		}
		op := expr.Operator()
		ops := expr.Operands()
		if len(ops) != 2 {
			continue
		}
		var subject, literal *ast.Term
		switch {
		case op.Equal(ast.Equality.Ref()) || op.Equal(ast.Equal.Ref()):
			subject, literal = ops[0], ops[1]
			if _, isRef := literal.Value.(ast.Ref); isRef {
				subject, literal = literal, subject
			}
		case op.Equal(ast.Member.Ref()):
			subject, literal = ops[0], ops[1]
		default:
			continue
		}
		ref, isRef := subject.Value.(ast.Ref)
		if v, isVar := subject.Value.(ast.Var); isVar {
			ref, isRef = aliases[v]
		}
		if !isRef {
			continue
		}
		switch {
		case ref.Equal(objectKindRef):
			field = "object"
		case ref.Equal(oldKindRef):
			field = "oldObject"
		default:
			continue
		}
		if kinds, ok := stringLiterals(literal, op.Equal(ast.Member.Ref())); ok {
			return field, kinds, true
		}
	}
	return "", nil, false
}

// stringLiterals returns the strings of a string literal, or, for membership, of a set
// or array literal of strings.
func stringLiterals(t *ast.Term, member bool) ([]string, bool) {
	if !member {
		s, ok := t.Value.(ast.String)
		return []string{string(s)}, ok
	}
	var out []string
	all := true
	collect := func(e *ast.Term) {
		s, ok := e.Value.(ast.String)
		if !ok {
			all = false
			return
		}
		out = append(out, string(s))
	}
	switch v := t.Value.(type) {
	case ast.Set:
		v.Foreach(collect)
	case *ast.Array:
		v.Foreach(collect)
	default:
		return nil, false
	}
	return out, all
}

// kindOf returns an object's kind, "" when it has none or it is not a string.
func kindOf(obj map[string]any) string {
	s, _ := obj["kind"].(string)
	return s
}
