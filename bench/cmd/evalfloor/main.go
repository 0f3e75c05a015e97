// Command evalfloor is the evaluation floor of the benchmark: what OPA alone costs to
// evaluate ward's rules over every object, with nothing else to do. It reads and decodes
// the manifests, converts every review to an OPA value, builds the inventory and prepares
// the query first, untimed; then it times one evaluation of the prepared query
// data.ward.main.violations per object, on every core, exactly as ward's engine shapes
// the input (input.review, input.rules), and prints one line of JSON.
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
	rulesObj := ast.NewObject()
	byPackage := map[string]string{}
	for _, r := range eng.Rules().List() {
		params := r.Parameters
		if params == nil {
			params = map[string]any{}
		}
		pv, err := ast.InterfaceToValue(params)
		if err != nil {
			return err
		}
		rulesObj.Insert(ast.StringTerm(r.Package), ast.NewTerm(pv))
		byPackage[r.Package] = r.ID
	}

	// The inventory and the reviews, converted once, untimed.
	namespaced, cluster := ast.NewObject(), ast.NewObject()
	inputs := make([]ast.Value, 0, len(set.Objects))
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
		inputs = append(inputs, ast.NewObject(
			ast.Item(ast.StringTerm("review"), ast.NewTerm(review)),
			ast.Item(ast.StringTerm("rules"), ast.NewTerm(rulesObj)),
		))
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
	q, err := rego.New(
		rego.Query("data.ward.main.violations"),
		rego.Compiler(compiler),
		rego.Store(inmem.NewFromASTObject(data)),
	).PrepareForEval(ctx)
	if err != nil {
		return err
	}

	// Timed: one evaluation per object, on every core.
	runtime.GC()
	t := measure.Start()
	results := make([][]any, len(inputs))
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Value
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(inputs); i = int(next.Add(1)) - 1 {
				rs, err := q.Eval(ctx, rego.EvalParsedInput(inputs[i]))
				if err != nil {
					first.CompareAndSwap(nil, err)
					continue
				}
				if len(rs) > 0 && len(rs[0].Expressions) > 0 {
					results[i], _ = rs[0].Expressions[0].Value.([]any)
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
	for _, rs := range results {
		for _, x := range rs {
			m, _ := x.(map[string]any)
			pkg, _ := m["rule"].(string)
			details, _ := m["details"].(map[string]any)
			if key, _ := details["key"].(string); key != "" {
				k := [2]string{pkg, key}
				if seen[k] {
					continue
				}
				seen[k] = true
			}
			byRule[byPackage[pkg]]++
			total++
		}
	}
	measure.Result{Wall: wall, CPU: cpu, Documents: len(inputs), Findings: total, FindingsByRule: byRule}.Print()
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
