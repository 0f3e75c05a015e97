package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	opacompile "github.com/open-policy-agent/opa/v1/compile"
	"github.com/open-policy-agent/opa/v1/ir"
)

// Planning: OPA's planner (the front half of its Wasm compiler, reached through the
// compile package) turns each rule's violation set into IR, a small imperative
// program that the interpreter in vm.go runs over the input without topdown's
// unification, bindings and continuations: the same rule, several times faster.

// plans makes and holds an engine's planned rules. Planning costs some 30 ms (the
// compile package compiles the modules again before it plans), more than a one-file
// ward lint takes in all, so it happens in the background once the engine has judged
// planAfter reviews, or when Plan asks for it (ward serve, at start); until the plans
// are ready, topdown evaluates every rule. Both give the same verdict, so which one
// judged a review is never seen in its outcome.
type plans struct {
	modules map[string]*ast.Module // read only, shared with the compiler
	pkgs    []string               // the rule packages to plan
	// inventory are the rule packages left to topdown because they read the inventory:
	// their plans are not run, but tell what they observe of a review (observed).
	inventory []string
	reviews   atomic.Int64 // reviews judged so far
	once      sync.Once
	done      chan struct{} // closed when ready and observed are set; made by start
	ready     atomic.Pointer[map[string]*program]
	observed  atomic.Pointer[Projection]
	log       logr.Logger // set by Engine.setLogger before any review
}

// planAfter is how many reviews an engine judges with topdown before it plans its
// rules. Planning costs some 30 CPU ms, which a review in the interpreter pays back
// at 30-40 µs: a run needs a thousand reviews or so after it to gain. ward lint -o json
// over 206 documents (100 files of the benchmark corpus), median of 15: 73 ms planning
// after 64 reviews, 58.5 after 256 (it never plans); over 560 documents 125-134 ms
// after 64, 134-136 after 256, 120-124 never planning; over 1,867 documents 274 ms
// after 64, 279 after 256, 293 after 512, 321 after 1,024.
const planAfter = 256

// program returns the planned rule of package pkg, nil while the plans are not ready or
// when topdown evaluates that rule.
func (p *plans) program(pkg string) *program {
	if m := p.ready.Load(); m != nil {
		return (*m)[pkg]
	}
	return nil
}

// judged counts one review and starts planning once there have been planAfter.
func (p *plans) judged() {
	if p.ready.Load() == nil && p.reviews.Add(1) == planAfter {
		p.start()
	}
}

// start plans in the background, once; the returned channel is closed when the plans
// are ready.
func (p *plans) start() <-chan struct{} {
	p.once.Do(func() {
		p.done = make(chan struct{})
		go func() {
			defer close(p.done)
			// A plan that cannot be made leaves every rule to topdown; it is not an
			// error in the user's rules, which have compiled, so it is said at info
			// level, and at V(1) which rule went where.
			progs, skipped, err := planRules(p.modules, p.pkgs)
			if err != nil {
				p.log.Info("rules not planned: topdown evaluates every rule", "reason", err.Error())
			}
			for _, pkg := range p.pkgs {
				if why, ok := skipped[pkg]; ok {
					p.log.V(1).Info("rule left to topdown", "package", pkg, "reason", why.Error())
				} else if progs[pkg] != nil {
					p.log.V(1).Info("rule planned", "package", pkg)
				}
			}
			if progs == nil {
				progs = map[string]*program{}
			}
			p.ready.Store(&progs)
			p.observed.Store(p.observe())
		}()
	})
	return p.done
}

// observe finds what the rules that read the inventory observe of the input of a
// review without an old object or user info (ward lint's): all of it when that cannot
// be known.
func (p *plans) observe() *Projection {
	if len(p.inventory) == 0 {
		return wholeProjection
	}
	in, err := projectRules(p.modules, p.inventory, lintAbsent...)
	if err != nil {
		p.log.V(1).Info("what the inventory rules read of a review is not known: they get all of it", "reason", err.Error())
		return wholeProjection
	}
	return in
}

// lintAbsent are the parts of input that ward lint's reviews never have.
var lintAbsent = [][]string{{"review", "oldObject"}, {"review", "userInfo"}}

// ObservedObject returns what the rules that read the inventory can observe of the
// object of a review without an old object or user info (ward lint's second pass): a
// value projected to it (Compact.Project) gets the verdicts the whole object gets. It
// is the whole object until the plans are ready (Plan).
func (e *Engine) ObservedObject() *Projection {
	return e.observedInput().At("review", "object")
}

// observedInput is what the rules that read the inventory observe of the input of a
// review without an old object or user info: all of it until the plans are ready.
func (e *Engine) observedInput() *Projection {
	if p := e.plans.observed.Load(); p != nil {
		return p
	}
	return wholeProjection
}

// Plan plans the rules the interpreter can run and waits for the plans, or for the end
// of ctx. ward serve calls it at start; ward lint lets the engine plan once it has
// judged enough objects to pay for it.
func (e *Engine) Plan(ctx context.Context) error {
	select {
	case <-e.plans.start():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("plan rules: %w", ctx.Err())
	}
}

// planEntrypoint is the compile package's entrypoint for a rule package's violation
// set, from its package below ward.rules: "ward/rules/drop_net_raw/violation".
func planEntrypoint(pkg string) string {
	return strings.ReplaceAll(rulesPackage+pkg, ".", "/") + "/violation"
}

// planRules plans the violation sets of the rule packages pkgs over modules, and
// returns a program for each package whose plan the interpreter can run, and why each
// other one cannot be run there (skipped); those are evaluated by topdown. An error is a plan that could not be
// made at all (the modules compile, so this is the planner's limit, never the user's
// mistake): every rule is then evaluated by topdown.
func planRules(modules map[string]*ast.Module, pkgs []string) (progs map[string]*program, skipped map[string]error, err error) {
	if len(pkgs) == 0 {
		return nil, nil, nil
	}
	policy, err := planPolicy(modules, pkgs)
	if err != nil {
		return nil, nil, err
	}
	progs, skipped = map[string]*program{}, map[string]error{}
	l := newLinker(policy)
	for _, pkg := range pkgs {
		p, err := newProgram(policy, l, planEntrypoint(pkg))
		if err != nil {
			skipped[pkg] = err
			continue
		}
		progs[pkg] = p
	}
	return progs, skipped, nil
}

// planPolicy plans the violation sets of the rule packages pkgs over modules, as IR.
func planPolicy(modules map[string]*ast.Module, pkgs []string) (*ir.Policy, error) {
	b := &bundle.Bundle{}
	b.SetRegoVersion(ast.RegoV1)
	b.Manifest.Init()
	for _, name := range slices.Sorted(maps.Keys(modules)) {
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: name, Path: name, Parsed: modules[name]})
	}
	entrypoints := make([]string, len(pkgs))
	for i, pkg := range pkgs {
		entrypoints[i] = planEntrypoint(pkg)
	}
	c := opacompile.New().
		WithTarget(opacompile.TargetPlan).
		WithRegoVersion(ast.RegoV1).
		WithCapabilities(capabilities()).
		WithEntrypoints(entrypoints...).
		WithPruneUnused(true).
		WithBundle(b)
	if err := c.Build(context.Background()); err != nil {
		return nil, fmt.Errorf("plan rules: %w", err)
	}
	out := c.Bundle()
	if out == nil || len(out.PlanModules) == 0 {
		return nil, errors.New("plan rules: no plan")
	}
	var policy ir.Policy
	if err := json.Unmarshal(out.PlanModules[0].Raw, &policy); err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	return &policy, nil
}
