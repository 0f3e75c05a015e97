// Package lint is ward's offline pipeline: read manifests, build the inventory, evaluate
// every object with the engine, and place each finding at its file, line and column.
package lint

import (
	"context"
	"fmt"
	"slices"

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
func Run(ctx context.Context, eng *engine.Engine, opts Options) (*report.Result, error) {
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	set := read(ctx, opts.Paths, opts)
	res := &report.Result{Summary: report.Summary{Files: set.Files, Objects: len(set.Objects)}}
	for _, e := range set.Errors {
		res.Errors = append(res.Errors, inputError(e))
	}

	// Every object is converted for evaluation once, and its decoded map let go: the
	// converted value is both its review's input and its inventory entry.
	reviews, items, err := convert(set.Objects, ns)
	if err != nil {
		return nil, err
	}
	if len(opts.InventoryPaths) > 0 {
		// Inventory is context and never reported, its input errors included: a file
		// that is also linted reports its own once, and a broken file elsewhere in the
		// repository (a Helm template) must not fail a pre-commit run over others.
		ctxSet := read(ctx, opts.InventoryPaths, opts)
		_, ctxItems, err := convert(ctxSet.Objects, ns)
		if err != nil {
			return nil, err
		}
		// Inventory objects first, so that the linted objects' own versions win.
		items = append(ctxItems, items...)
	}
	inv, err := engine.NewInventory(items)
	if err != nil {
		return nil, err
	}
	es := opts.Settings.Engine()
	ev, err := eng.Prepare(ctx, inv, es)
	if err != nil {
		return nil, err
	}
	outcomes := ev.EvaluateAll(ctx, reviews)
	positions := locateAll(set.Objects, outcomes)
	for i, out := range outcomes {
		o := set.Objects[i]
		check := report.Check{File: o.File, Line: o.Line, Object: objectOf(o, reviews[i])}
		if !out.Excluded {
			check.Rules = es.Enabled
		}
		res.Checks = append(res.Checks, check)
		pos := positions[i]
		for j, v := range out.Violations {
			res.Findings = append(res.Findings, finding(opts.Settings, o, reviews[i], v, pos[j]))
		}
		for j, v := range out.Exempted {
			f := finding(opts.Settings, o, reviews[i], v, pos[len(out.Violations)+j])
			f.Reason = v.Reason
			res.Exempted = append(res.Exempted, f)
		}
		for _, e := range out.Errors {
			res.Errors = append(res.Errors, report.InputError{File: o.File, Line: o.Line, Message: e.Error()})
		}
	}
	res.Sort()
	return res, nil
}

// locateAll places findings on every core: the positions of each object's violations,
// then of its exemptions. An object's positions come from parsing its YAML again, once
// for all of its findings; the parse is let go as soon as they are placed.
func locateAll(objects []*manifest.Object, outcomes []engine.Outcome) [][]manifest.Position {
	positions := make([][]manifest.Position, len(outcomes))
	parallel.For(len(outcomes), func(i int) {
		vs := slices.Concat(outcomes[i].Violations, outcomes[i].Exempted)
		if len(vs) == 0 {
			return
		}
		positions[i] = make([]manifest.Position, len(vs))
		for j, v := range vs {
			positions[i][j] = objects[i].Locate(v.Path)
		}
	})
	return positions
}

// read reads paths and, with opts.Kustomize, renders the kustomizations among them.
func read(ctx context.Context, paths []string, opts Options) *manifest.Set {
	mo := opts.Manifest
	mo.Kustomize = opts.Kustomize
	if mo.Builder == nil {
		// Decode straight into the values the rules read.
		mo.Builder = engine.Builder{}
	}
	set := manifest.Read(ctx, paths, mo)
	if len(set.Kustomizations) == 0 {
		return set
	}
	k := kustomize.RenderWith(ctx, set.Kustomizations, mo.Builder)
	set.Objects = append(set.Objects, k.Objects...)
	set.Errors = append(set.Errors, k.Errors...)
	set.Files += k.Files
	return set
}

// convert makes the review and the inventory item of every object, with one converted
// value shared by both, and releases the objects' decoded maps.
func convert(objects []*manifest.Object, ns string) ([]engine.Review, []engine.InventoryItem, error) {
	decoded := make([]any, len(objects))
	for i, o := range objects {
		decoded[i] = o.Decoded()
	}
	values, err := engine.NewValues(decoded)
	if err != nil {
		return nil, nil, err
	}
	reviews := make([]engine.Review, len(objects))
	items := make([]engine.InventoryItem, len(objects))
	for i, o := range objects {
		id := engine.ObjectID{APIVersion: o.APIVersion(), Kind: o.Kind(), Name: o.Name(), Namespace: o.Namespace()}
		r := engine.ReviewOf(id, ns, o.ARM)
		r.Value = values[i]
		name := r.Name
		if name == "" {
			// Objects with generateName only still count (a Job created by a script).
			name = fmt.Sprintf("%s:%d", o.File, o.Line)
		}
		reviews[i] = r
		items[i] = engine.InventoryItem{Namespace: r.Namespace, APIVersion: o.APIVersion(), Kind: o.Kind(), Name: name, Value: values[i]}
		o.Release()
	}
	return reviews, items, nil
}

func finding(s *config.Settings, o *manifest.Object, r engine.Review, v engine.Violation, pos manifest.Position) report.Finding {
	return report.Finding{
		Rule:     v.RuleID,
		Severity: string(s.Rules[v.RuleID].Severity),
		Message:  v.Message,
		File:     o.File,
		Line:     pos.Line,
		Column:   pos.Column,
		Object:   objectOf(o, r),
		Path:     engine.PathString(v.Path),
	}
}

func objectOf(o *manifest.Object, r engine.Review) report.Object {
	return report.Object{APIVersion: o.APIVersion(), Kind: o.Kind(), Namespace: r.Namespace, Name: r.Name}
}

func inputError(e *manifest.Error) report.InputError {
	return report.InputError{File: e.File, Line: e.Line, Message: e.Err.Error()}
}
