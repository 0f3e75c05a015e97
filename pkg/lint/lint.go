// Package lint is ward's offline pipeline: read manifests, build the inventory, evaluate
// every object with the engine, and place each finding at its file, line and column.
package lint

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/wardsec/ward/internal/parallel"

	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/kustomize"
	"github.com/wardsec/ward/pkg/manifest"
	"github.com/wardsec/ward/pkg/report"
)

// DefaultNamespace is the namespace of objects that name none, as kubectl assumes.
const DefaultNamespace = "default"

// Options say what to lint and how.
type Options struct {
	// Paths are linted: files, directories, "-" for stdin.
	Paths []string
	// InventoryPaths are read only as context for cross-object rules (default-deny),
	// never reported: a pre-commit hook lints changed files against the whole repository.
	InventoryPaths []string
	// Namespace is given to objects that name none; "" means DefaultNamespace.
	Namespace string
	// Settings are the resolved config and flags.
	Settings *config.Settings
	// Manifest tunes reading.
	Manifest manifest.Options
	// Kustomize renders directories that hold a kustomization file, and lints the
	// rendered objects instead of the files below them (pkg/kustomize).
	Kustomize bool
}

// Run lints and returns the result, sorted. An error is returned only when the run
// itself cannot proceed; unreadable inputs and failing rules are in Result.Errors.
//
// It never holds every object converted for evaluation (~12 KB each; 175,000 objects
// would be 2 GB of live heap). The enabled rules are split by whether they read
// data.inventory (engine.ReadsInventory):
//
//  1. While the files are read, on every core, each object is converted, the rules
//     that do not read the inventory are evaluated on it at once (no other object can
//     change their verdict), and their findings are placed while the nodes of the
//     document's first parse are alive. What is kept of the object is its identity and
//     its findings, encoded in a record that shares one string with those of its
//     file's objects (record.go), and its value in compact form (engine.Compact), a few
//     hundred bytes; its source text is read again from its file if the second pass
//     has a finding to place on it (manifest.Object.ReleaseText).
//  2. data.inventory is built from the compact values when a rule reads it
//     (engine.NewCompactInventory), and the rules that read it are evaluated on the
//     objects of the kinds they look at, each value built again from its compact form.
//
// Outcomes are then merged per object in rule order, deduplicated across objects in
// input order, and placed, as one pass over everything would.
func Run(ctx context.Context, eng *engine.Engine, opts Options) (*report.Result, error) {
	return run(ctx, eng, opts, nil)
}

// run is Run. firstPassOver, if not nil, is called once the first pass is over and
// before the second begins, when what the run holds is what it keeps of the objects
// between its passes: BenchmarkRun measures that.
func run(ctx context.Context, eng *engine.Engine, opts Options, firstPassOver func()) (*report.Result, error) {
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	es := opts.Settings.Engine()
	enabled := es.Enabled
	if enabled == nil {
		enabled = eng.Rules().IDs()
	}
	local, global := es, es
	local.Enabled, global.Enabled = []string{}, []string{}
	order := map[string]int{"*": -1}
	for i, id := range enabled {
		order[id] = i
		if eng.ReadsInventory(id) {
			global.Enabled = append(global.Enabled, id)
		} else {
			local.Enabled = append(local.Enabled, id)
		}
	}
	first, err := eng.Prepare(ctx, nil, local)
	if err != nil {
		return nil, err
	}
	p := &pass{ctx: ctx, ns: ns, eng: eng, eval: first, later: global.Enabled}

	set, checks := p.read(opts.Paths, opts, true)
	if firstPassOver != nil {
		firstPassOver()
	}
	res := &report.Result{Summary: report.Summary{Files: set.Files, Objects: len(checks)}}
	for _, e := range set.Errors {
		res.Errors = append(res.Errors, inputError(e))
	}
	for _, c := range checks {
		if c.err != nil {
			return nil, c.err
		}
	}

	if p.keep() {
		var ctxChecks []*checked
		if len(opts.InventoryPaths) > 0 {
			// Inventory is context and never reported, its input errors included: a
			// file that is also linted reports its own once, and a broken file
			// elsewhere in the repository (a Helm template) must not fail a pre-commit
			// run over others.
			_, ctxChecks = p.read(opts.InventoryPaths, opts, false)
			for _, c := range ctxChecks {
				if c.err != nil {
					return nil, c.err
				}
			}
		}
		// Inventory objects first, so that the linted objects' own versions win.
		items := func(yield func(engine.CompactItem) bool) {
			for _, c := range slices.Concat(ctxChecks, checks) {
				if !yield(c.item()) {
					return
				}
			}
		}
		second, err := eng.Prepare(ctx, engine.NewCompactInventory(items), global)
		if err != nil {
			return nil, err
		}
		p.evaluateInventoryRules(second, checks)
	}

	// Merge in rule order, keep the first of the findings that share a key (in input
	// order, across objects), then place what the second pass found.
	var violations, exempted engine.Dedup
	byRule := func(a, b placed) int { return order[a.v.RuleID] - order[b.v.RuleID] }
	outcomes := make([]merged, len(checks))
	for i, c := range checks {
		m := c.merge()
		slices.SortStableFunc(m.violations, byRule)
		slices.SortStableFunc(m.exempted, byRule)
		slices.SortStableFunc(m.errors, func(a, b engine.RuleError) int { return order[a.RuleID] - order[b.RuleID] })
		m.violations = slices.DeleteFunc(m.violations, func(x placed) bool { return !violations.Keep(x.v) })
		m.exempted = slices.DeleteFunc(m.exempted, func(x placed) bool { return !exempted.Keep(x.v) })
		outcomes[i] = m
	}
	parallel.For(len(checks), func(i int) {
		m := outcomes[i]
		for _, list := range [][]placed{m.violations, m.exempted} {
			for j := range list {
				if !list[j].located {
					list[j].locate(checks[i].at)
				}
			}
		}
	})

	for i, c := range checks {
		m, object := outcomes[i], c.object()
		check := report.Check{File: c.file, Line: c.at.Line(), Object: object}
		if !c.excluded {
			check.Rules = es.Enabled
		}
		res.Checks = append(res.Checks, check)
		for _, x := range m.violations {
			res.Findings = append(res.Findings, finding(opts.Settings, c.file, object, x))
		}
		for _, x := range m.exempted {
			f := finding(opts.Settings, c.file, object, x)
			f.Reason = x.v.Reason
			res.Exempted = append(res.Exempted, f)
		}
		for _, e := range m.errors {
			res.Errors = append(res.Errors, report.InputError{File: c.file, Line: c.at.Line(), Message: e.Error()})
		}
	}
	res.Sort()
	return res, nil
}

// checked is what a run keeps of one object between the two passes: no
// manifest.Object, whose value and strings are let go, but the object's record
// (record.go) and what places the findings of the second pass on it.
type checked struct {
	// record holds the object's identity and the findings of the first pass.
	record string
	file   string // as manifest.Object's
	// at places findings on the object, and has its line; its source text is held
	// (or can be read again) only if the second pass may have findings on it.
	at    manifest.Locator
	value engine.Compact // when a rule reads the inventory
	arm   bool
	// excluded: the namespace is excluded, nothing runs on the object.
	excluded bool
	errors   []engine.RuleError
	// later is the outcome of the second pass, if it ran on the object.
	later *engine.Outcome
	// err is a failure to convert the object, which ends the run.
	err error
}

func (c *checked) identity() identity {
	r := recordReader{s: c.record}
	return r.identity()
}

// object is the object as the report names it.
func (c *checked) object() report.Object {
	id := c.identity()
	return report.Object{APIVersion: id.APIVersion, Kind: id.Kind, Namespace: id.resolved, Name: id.Name}
}

// merged is the outcome of both passes on one object.
type merged struct {
	violations, exempted []placed
	errors               []engine.RuleError
}

// merge reads the findings of the first pass back and adds those of the second.
func (c *checked) merge() merged {
	r := recordReader{s: c.record}
	r.identity()
	var m merged
	m.violations, m.exempted = r.findings()
	m.errors = c.errors
	if l := c.later; l != nil {
		for _, v := range l.Violations {
			m.violations = append(m.violations, placed{v: v})
		}
		for _, v := range l.Exempted {
			m.exempted = append(m.exempted, placed{v: v})
		}
		m.errors = append(m.errors, l.Errors...)
	}
	return m
}

// placed is a finding and, once known, its position.
type placed struct {
	v       engine.Violation // without its Path once located
	pos     manifest.Position
	path    string // v.Path as the report writes it
	located bool
}

// locate places the finding and keeps its path as text, as a record does.
func (x *placed) locate(at manifest.Locator) {
	x.pos = at.Locate(x.v.Path)
	x.path = engine.PathString(x.v.Path)
	x.v.Path = nil
	x.located = true
}

func (c *checked) item() engine.CompactItem {
	id := c.identity()
	name := id.Name
	if name == "" {
		// Objects with generateName only still count (a Job created by a script).
		name = fmt.Sprintf("%s:%d", c.file, c.at.Line())
	}
	return engine.CompactItem{Namespace: id.resolved, APIVersion: id.APIVersion, Kind: id.Kind, Name: name, Value: c.value}
}

// pass is the first pass: reading, converting, and evaluating the rules that do not
// read the inventory.
type pass struct {
	ctx  context.Context //nolint:containedctx // one run's context, for the callbacks of manifest.Read
	ns   string
	eng  *engine.Engine
	eval *engine.Evaluator
	// later are the rules of the second pass, those that read the inventory: the
	// objects of the kinds they look at may have findings placed after the first pass.
	later []string
}

// keep says whether some enabled rule reads the inventory, so that the compact values
// are kept.
func (p *pass) keep() bool { return len(p.later) > 0 }

// checkFile checks the objects of one file (or one rendered object), makes their
// records parts of one string, and lets go what the rest of the run does not need of
// them: the nodes of their first parse, and the source text of those the second pass
// will not look at (the others' is read again from its file to place a finding, or
// copied out of its file's buffer where it cannot be: manifest.Object.ReleaseText).
// Objects that share a document (a List's items) are done together.
func (p *pass) checkFile(objects []*manifest.Object, lint bool) []checked {
	out := make([]checked, len(objects))
	ends := make([]int, len(objects))
	b := make([]byte, 0, 512*len(objects)) // copied into records; most fit
	for j, o := range objects {
		b = p.check(&out[j], b, o, lint)
		ends[j] = len(b)
	}
	records := string(b)
	start := 0
	for j, o := range objects {
		c := &out[j]
		c.record, start = records[start:ends[j]], ends[j]
		o.ReleasePositions()
		if lint && p.keep() && !c.excluded && p.eng.Admits(p.later, o.Kind()) {
			o.ReleaseText()
		} else {
			o.ReleaseSource()
		}
		c.at = o.Locator()
	}
	return out
}

// read reads paths and, with opts.Kustomize, renders the kustomizations among them,
// checking each object as it comes (lint false: only its compact value is made, for
// the inventory). The objects come back in input order: files in the order Read gives
// them, then the rendered objects.
func (p *pass) read(paths []string, opts Options, lint bool) (*manifest.Set, []*checked) {
	mo := opts.Manifest
	mo.Kustomize = opts.Kustomize
	if mo.Builder == nil {
		// Decode straight into the values the rules read.
		mo.Builder = engine.Builder{}
	}
	var perFile [][]checked
	var mu sync.Mutex
	mo.OnFile = func(i int, objects []*manifest.Object) {
		out := p.checkFile(objects, lint)
		mu.Lock()
		defer mu.Unlock()
		if i >= len(perFile) {
			perFile = append(perFile, make([][]checked, i+1-len(perFile))...)
		}
		perFile[i] = out
	}
	set := manifest.Read(p.ctx, paths, mo)
	n := 0
	for _, out := range perFile {
		n += len(out)
	}
	checks := make([]*checked, 0, n)
	for _, out := range perFile {
		for j := range out {
			checks = append(checks, &out[j])
		}
	}
	if len(set.Kustomizations) > 0 {
		k := kustomize.RenderWith(p.ctx, set.Kustomizations, mo.Builder)
		rendered := make([]*checked, len(k.Objects))
		parallel.For(len(k.Objects), func(i int) { rendered[i] = &p.checkFile(k.Objects[i:i+1], lint)[0] })
		checks = append(checks, rendered...)
		set.Errors = append(set.Errors, k.Errors...)
		set.Files += k.Files
	}
	return set, checks
}

// check converts one object into c, evaluates the first pass's rules on it (lint),
// appends its record to b with their findings placed, keeps its compact value if the
// inventory needs it, and lets the decoded value go.
func (p *pass) check(c *checked, b []byte, o *manifest.Object, lint bool) []byte {
	id := objectID(o)
	r := engine.ReviewOf(id, p.ns, o.ARM)
	c.file, c.arm = o.File, o.ARM
	b = appendRecord(b, identity{ObjectID: id, resolved: r.Namespace})
	defer o.Release()
	v, err := engine.ValueOf(o.Decoded())
	if err != nil {
		c.err = fmt.Errorf("convert %s:%d: %w", o.File, o.Line, err)
		return b
	}
	r.Value = v
	if lint {
		out := p.eval.Evaluate(p.ctx, r)
		c.excluded = out.Excluded
		c.errors = out.Errors
		b = appendFindings(b, o.Locator(), out.Violations, false)
		b = appendFindings(b, o.Locator(), out.Exempted, true)
	}
	if p.keep() {
		if c.value, err = v.Compact(); err != nil {
			c.err = fmt.Errorf("%s:%d: %w", o.File, o.Line, err)
		}
	}
	return b
}

// evaluateInventoryRules is the second pass: the rules that read the inventory, on the
// objects of the kinds they look at, each value built again from its compact form.
// Their findings are placed later, once deduplicated: default-deny finds its namespace
// on every workload of it and reports it once.
func (p *pass) evaluateInventoryRules(ev *engine.Evaluator, checks []*checked) {
	var todo []*checked
	for _, c := range checks {
		if !c.excluded && p.eng.Admits(p.later, c.identity().Kind) {
			todo = append(todo, c)
		}
	}
	// The first object of each namespace goes first, no two of one namespace at once,
	// then the others. Cross-object rules look at a namespace as a whole (default-deny:
	// does it hold a deny-all policy), and the engine's memo shares that answer across
	// the namespace's objects once one evaluation has it. Two evaluations of one
	// namespace at the same time would both build it from the compact inventory.
	//
	// Each object is built again with only what these rules can observe of it, and
	// objects alike in that are judged once (engine.SharedOutcomes): for default-deny,
	// its apiVersion, kind and namespace. Working that out takes about as long as
	// building a thousand objects whole, so a run with fewer does without it unless it
	// is known already.
	if len(todo) >= projectAfter {
		_ = p.eng.Plan(p.ctx) // an error is ctx's end, which the evaluations report
	}
	shared := ev.SharedOutcomes()
	var firsts, rest []*checked
	seen := map[string]bool{}
	for _, c := range todo {
		ns := c.identity().resolved
		if seen[ns] {
			rest = append(rest, c)
			continue
		}
		seen[ns] = true
		firsts = append(firsts, c)
	}
	for _, list := range [][]*checked{firsts, rest} {
		parallel.For(len(list), func(i int) { p.evaluateLater(shared, list[i]) })
	}
}

// projectAfter is how many objects the second pass must have to wait for the plans,
// and so evaluate each on a projection of it (evaluateInventoryRules).
const projectAfter = 2048

func (p *pass) evaluateLater(ev *engine.SharedOutcomes, c *checked) {
	v, err := c.value.Project(ev.Object())
	if err != nil {
		c.later = &engine.Outcome{Errors: []engine.RuleError{{RuleID: "*", Err: err}}}
		return
	}
	r := engine.ReviewOf(c.identity().ObjectID, p.ns, c.arm)
	r.Value = v
	out := ev.Evaluate(p.ctx, r)
	c.later = &out
}

// objectID is o's identity as written; a released object still has it.
func objectID(o *manifest.Object) engine.ObjectID {
	return engine.ObjectID{APIVersion: o.APIVersion(), Kind: o.Kind(), Name: o.Name(), Namespace: o.Namespace()}
}

func finding(s *config.Settings, file string, object report.Object, x placed) report.Finding {
	v, pos := x.v, x.pos
	return report.Finding{
		Rule:     v.RuleID,
		Severity: string(s.Rules[v.RuleID].Severity),
		Message:  v.Message,
		File:     file,
		Line:     pos.Line,
		Column:   pos.Column,
		Object:   object,
		Path:     x.path,
	}
}

func inputError(e *manifest.Error) report.InputError {
	return report.InputError{File: e.File, Line: e.Line, Message: e.Err.Error()}
}
