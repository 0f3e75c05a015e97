package engine

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/wardsec/ward/pkg/manifest"
)

// The interpreter must give topdown's verdict on every rule it runs. These tests
// evaluate each planned rule both ways on every document of the test corpora, as a
// CREATE, as an UPDATE from a changed copy and as a DELETE, and on fuzzed documents.

// bothWays evaluates every planned rule of ev on r with the interpreter and with
// topdown, and fails where they disagree.
func bothWays(t *testing.T, ev *Evaluator, r Review, name string) (planned int) {
	t.Helper()
	ctx := context.Background()
	review, err := ev.reviewValue(r)
	if err != nil {
		return 0
	}
	txn, err := ev.inv.store.NewTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.inv.store.Abort(ctx, txn)
	for i := range ev.rules {
		pr := ev.rules[i]
		prog := ev.engine.plans.program(pr.rule.Package)
		if prog == nil {
			continue
		}
		planned++
		got, gotErr := ev.eval(ctx, txn, nil, &pr, ast.NewTerm(review))
		input := ast.NewObject(
			ast.Item(ast.InternedTerm("review"), ast.NewTerm(review)),
			ast.Item(ast.InternedTerm("parameters"), pr.params),
		)
		v, vmErr := runProgram(ctx, nil, prog, input, ev.noData)
		pr.topdownOnly = true
		want, wantErr := ev.eval(ctx, txn, nil, &pr, ast.NewTerm(review))
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: rule %s:\ninterpreter: %v %v\ntopdown:     %v %v\nreview: %v", name, pr.rule.ID, got, gotErr, want, wantErr, review)
		}
		if wantErr == nil && vmErr != nil {
			t.Errorf("%s: rule %s: the interpreter failed where topdown did not: %v", name, pr.rule.ID, vmErr)
		}
		if vmErr == nil {
			vs, err := violationsOf(pr.rule.ID, v)
			if err != nil || !reflect.DeepEqual(vs, want) {
				t.Fatalf("%s: rule %s: interpreter alone: %v %v, topdown %v", name, pr.rule.ID, vs, err, want)
			}
		}
	}
	return planned
}

// reviewsOf makes the reviews of one document: CREATE, UPDATE from the document with
// its spec dropped, DELETE.
func reviewsOf(doc []byte) []Review {
	v, err := manifest.DecodeDocument(doc, manifest.MapBuilder{})
	obj, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil
	}
	kind, _ := obj["kind"].(string)
	old := map[string]any{}
	for k, x := range obj {
		if k != "spec" {
			old[k] = x
		}
	}
	base := Review{Kind: GroupVersionKind{Kind: kind}, Namespace: "default", Name: "x"}
	create, update, del := base, base, base
	create.Operation, create.Object = OperationCreate, obj
	update.Operation, update.Object, update.OldObject = OperationUpdate, obj, old
	del.Operation, del.OldObject = OperationDelete, obj
	return []Review{create, update, del}
}

func TestPlannedMatchesTopdown(t *testing.T) {
	e, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Plan(t.Context()); err != nil {
		t.Fatal(err)
	}
	ev, err := e.Prepare(context.Background(), nil, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	planned, docs := 0, 0
	eachCorpusDocument(t, func(name string, doc []byte) {
		for _, r := range reviewsOf(doc) {
			planned += bothWays(t, ev, r, name)
		}
		docs++
	})
	if planned == 0 || docs < 50 {
		t.Fatalf("%d evaluations of planned rules over %d documents: the corpora or the plans are missing", planned, docs)
	}
	t.Logf("%d evaluations over %d documents", planned, docs)
}

// FuzzPlannedMatchesTopdown holds the interpreter to topdown on arbitrary documents,
// seeded with those of the test corpora.
func FuzzPlannedMatchesTopdown(f *testing.F) {
	eachCorpusDocument(f, func(_ string, doc []byte) { f.Add(doc) })
	e, err := New(context.Background(), Options{})
	if err != nil {
		f.Fatal(err)
	}
	if err := e.Plan(context.Background()); err != nil {
		f.Fatal(err)
	}
	ev, err := e.Prepare(context.Background(), nil, Settings{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, r := range reviewsOf(doc) {
			bothWays(t, ev, r, "fuzzed")
		}
	})
}
