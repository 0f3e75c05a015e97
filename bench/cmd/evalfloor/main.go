// Command evalfloor is the evaluation floor of the benchmark: what OPA alone costs to
// evaluate ward's rules over every object, with nothing else to do. It reads and decodes
// the manifests, converts every review to an OPA value, builds the inventory and prepares
// the queries first, untimed; then it times, per object, one evaluation of every rule's
// prepared query data.ward.rules.<rule>.violation, on every core, with the input shaped
// as ward's engine shapes it (input.review, input.parameters), and prints one line of
// JSON. It evaluates every rule on every object through the rego package, without
// ward's memo and kind dispatch: the floor is OPA as a user of its API would run it.
//
//	evalfloor PATH...
//
// It imports OPA outside pkg/engine on purpose: it measures OPA itself.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/wardsec/ward/bench/internal/measure"
	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/manifest"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "evalfloor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, paths []string) error {
	set := manifest.Read(ctx, paths, manifest.Options{})
	if len(set.Errors) > 0 {
		return set.Errors[0]
	}
	eng, err := engine.New(ctx, engine.Options{})
	if err != nil {
		return err
	}
	type ruleInput struct {
		id     string
		params *ast.Term
	}
	var ruleInputs []ruleInput
	for _, r := range eng.Rules().List() {
		params := r.Parameters
		if params == nil {
			params = map[string]any{}
		}
		pv, err := ast.InterfaceToValue(params)
		if err != nil {
			return err
		}
		ruleInputs = append(ruleInputs, ruleInput{id: r.ID, params: ast.NewTerm(pv)})
	}

	// The inventory and the reviews, converted once, untimed.
	namespaced, cluster := ast.NewObject(), ast.NewObject()
	reviews := make([]*ast.Term, 0, len(set.Objects))
	for i, o := range set.Objects {
		r := engine.NewReview(o.Value, "default", o.ARM)
		v, err := ast.InterfaceToValue(o.Value)
		if err != nil {
			return err
		}
		root := cluster
		if r.Namespace != "" {
			root = child(namespaced, r.Namespace)
		}
		name := r.Name
		if name == "" {
			name = fmt.Sprint(i)
		}
		child(child(root, o.APIVersion()), o.Kind()).Insert(ast.StringTerm(name), ast.NewTerm(v))
		review := ast.NewObject(
			ast.Item(ast.StringTerm("operation"), ast.StringTerm(r.Operation)),
			ast.Item(ast.StringTerm("kind"), ast.ObjectTerm(
				ast.Item(ast.StringTerm("group"), ast.StringTerm(r.Kind.Group)),
				ast.Item(ast.StringTerm("version"), ast.StringTerm(r.Kind.Version)),
				ast.Item(ast.StringTerm("kind"), ast.StringTerm(r.Kind.Kind)),
			)),
			ast.Item(ast.StringTerm("namespace"), ast.StringTerm(r.Namespace)),
			ast.Item(ast.StringTerm("name"), ast.StringTerm(r.Name)),
			ast.Item(ast.StringTerm("object"), ast.NewTerm(v)),
		)
		reviews = append(reviews, ast.NewTerm(review))
	}
	data := ast.NewObject(ast.Item(ast.StringTerm("inventory"), ast.ObjectTerm(
		ast.Item(ast.StringTerm("namespace"), ast.NewTerm(namespaced)),
		ast.Item(ast.StringTerm("cluster"), ast.NewTerm(cluster)),
	)))
	modules, err := engine.Library()
	if err != nil {
		return err
	}
	compiler := ast.NewCompiler()
	if compiler.Compile(modules); compiler.Failed() {
		return compiler.Errors
	}
	store := inmem.NewFromASTObject(data)
	queries := make([]rego.PreparedEvalQuery, len(ruleInputs))
	for i, r := range eng.Rules().List() {
		queries[i], err = rego.New(
			rego.Query(fmt.Sprintf("data.ward.rules[%q].violation", r.Package)),
			rego.Compiler(compiler),
			rego.Store(store),
		).PrepareForEval(ctx)
		if err != nil {
			return err
		}
	}

	// Timed: one evaluation per object, on every core.
	runtime.GC()
	t := measure.Start()
	// results[i][j]: the violations of rule j on object i.
	results := make([][][]any, len(reviews))
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Value
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(reviews); i = int(next.Add(1)) - 1 {
				results[i] = make([][]any, len(queries))
				for j, q := range queries {
					input := ast.NewObject(
						ast.Item(ast.StringTerm("review"), reviews[i]),
						ast.Item(ast.StringTerm("parameters"), ruleInputs[j].params),
					)
					rs, err := q.Eval(ctx, rego.EvalParsedInput(input))
					if err != nil {
						first.CompareAndSwap(nil, err)
						continue
					}
					if len(rs) > 0 && len(rs[0].Expressions) > 0 {
						results[i][j], _ = rs[0].Expressions[0].Value.([]any)
					}
				}
			}
		})
	}
	wg.Wait()
	wall, cpu := t.Stop()
	if err, ok := first.Load().(error); ok {
		return err
	}

	// Count findings as ward reports them: keyed findings once per rule and key.
	byRule := map[string]int{}
	seen := map[[2]string]bool{}
	total := 0
	for _, perRule := range results {
		for j, rs := range perRule {
			id := ruleInputs[j].id
			for _, x := range rs {
				m, _ := x.(map[string]any)
				details, _ := m["details"].(map[string]any)
				if key, _ := details["key"].(string); key != "" {
					k := [2]string{id, key}
					if seen[k] {
						continue
					}
					seen[k] = true
				}
				byRule[id]++
				total++
			}
		}
	}
	measure.Result{Wall: wall, CPU: cpu, Documents: len(reviews), Findings: total, FindingsByRule: byRule}.Print()
	return nil
}

func child(obj ast.Object, key string) ast.Object {
	k := ast.StringTerm(key)
	if t := obj.Get(k); t != nil {
		if o, ok := t.Value.(ast.Object); ok {
			return o
		}
	}
	o := ast.NewObject()
	obj.Insert(k, ast.NewTerm(o))
	return o
}
