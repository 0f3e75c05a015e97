package lint

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wardsec/ward/bench/gen"
	"github.com/wardsec/ward/internal/parallel"
	"github.com/wardsec/ward/internal/wardtest"
	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/kustomize"
	"github.com/wardsec/ward/pkg/manifest"
	"github.com/wardsec/ward/pkg/report"
)

// userRules are --policy rules for the comparison: two that read the inventory (one
// per namespace with a key, like default-deny; one that reads all of it, and so
// builds every object of it, without a key) and one that does not, with a key (its
// findings are deduplicated across objects in the first pass's results).
var userRules = map[string]string{
	"has_configmap.rego": `# METADATA
# title: Namespaces with workloads hold a ConfigMap
# custom:
#   id: has-configmap
#   severity: warning
#   remediation: Add one.
package ward.rules.has_configmap

_has(ns) := true if {
	some _ in data.inventory.namespace[ns].v1.ConfigMap
} else := false

violation contains {"msg": sprintf("no ConfigMap in %s", [ns]), "details": {"path": ["metadata"], "key": ns}} if {
	input.review.object.kind in {"Deployment", "StatefulSet"}
	ns := input.review.namespace
	not _has(ns)
}
`,
	"crowded.rego": `# METADATA
# title: Not the only object of its name
# custom:
#   id: same-name
#   severity: warning
#   remediation: Rename it.
package ward.rules.same_name

violation contains {"msg": sprintf("%d objects named %s", [n, name]), "details": {"path": ["metadata", "name"]}} if {
	input.review.object.kind == "Service"
	name := input.review.name
	n := count([1 |
		some _, versions in data.inventory.namespace
		some _, kinds in versions
		some _, names in kinds
		names[name]
	])
	n > 1
}
`,
	"first_job.rego": `# METADATA
# title: One Job per namespace is reported
# custom:
#   id: first-job
#   severity: warning
#   remediation: None.
package ward.rules.first_job

violation contains {"msg": "a Job", "details": {"path": ["spec", "template"], "key": input.review.namespace}} if {
	input.review.object.kind == "Job"
}
`,
}

// extraFiles are inputs the generated corpus lacks: exemptions of both kinds of rule,
// a List, an object with generateName only, an identity given twice, a cluster-scoped
// object, one in an excluded namespace.
var extraFiles = map[string]string{
	"extra/exempt.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: exempt
  namespace: lonely
  annotations:
    ignore.ward.dev/default-deny: "a test namespace"
    ignore.ward.dev/drop-net-raw: "needs ping"
spec:
  template:
    spec:
      containers:
      - name: a
        image: x
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: second
  namespace: lonely
spec:
  template:
    spec:
      containers:
      - name: a
        image: x
`,
	"extra/list.yaml": `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    generateName: job-
    namespace: lonely
  spec:
    containers:
    - name: a
      image: x
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: twice
    namespace: lonely
  data: {a: "1"}
`,
	"extra/twice.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: twice
  namespace: lonely
data: {a: "2"}
---
apiVersion: v1
kind: Namespace
metadata:
  name: lonely
---
apiVersion: v1
kind: Pod
metadata:
  name: system
  namespace: kube-system
spec:
  containers:
  - name: a
    image: x
`,
}

// TestTwoPassesAsAtOnce: the two-pass Run gives the same result as evaluating every
// object at once over one in-memory inventory, on a generated corpus with the inputs
// above, with and without rules that read the inventory, with an inventory-only path,
// excluded namespaces and parameters.
func TestTwoPassesAsAtOnce(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	if _, err := gen.Generate(corpus, 240, 3); err != nil {
		t.Fatal(err)
	}
	wardtest.WriteTree(t, corpus, extraFiles)
	ctxDir := filepath.Join(dir, "context")
	if _, err := gen.Generate(ctxDir, 40, 4); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy")
	wardtest.WriteTree(t, policy, userRules)

	eng, err := engine.New(t.Context(), engine.Options{PolicyDirs: []string{policy}})
	if err != nil {
		t.Fatal(err)
	}
	for id, reads := range map[string]bool{"has-configmap": true, "same-name": true, "first-job": false} {
		if eng.ReadsInventory(id) != reads {
			t.Fatalf("ReadsInventory(%s) = %v", id, !reads)
		}
	}
	// With the plans made, the second pass builds the objects it evaluates projected
	// to what the inventory rules observe (engine.Engine.ObservedObject), as a long
	// run does; the comparison holds that to the whole objects' verdicts.
	if err := eng.Plan(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := eng.ObservedObject().String(), `{"apiVersion": *, "kind": *, "metadata": {"namespace": *}}`; got != want {
		t.Fatalf("the inventory rules observe %s of an object, want %s", got, want)
	}
	settings := func(t *testing.T, disable []string, edit func(*config.Settings)) *config.Settings {
		t.Helper()
		cfg, err := config.Load("")
		if err != nil {
			t.Fatal(err)
		}
		s, err := cfg.Resolve(eng.Rules(), config.Flags{Disable: disable})
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(s)
		}
		return s
	}
	inventoryRules := []string{"default-deny", "has-configmap", "same-name"}
	localRules := []string{"drop-net-raw", "cidr-base-address", "namespace-scoped-ingress", "first-job"}
	for name, tc := range map[string]struct {
		disable   []string
		edit      func(*config.Settings)
		inventory bool
	}{
		"all rules":              {},
		"no inventory rules":     {disable: inventoryRules},
		"inventory rules only":   {disable: localRules},
		"with an inventory path": {inventory: true},
		"excluded namespaces":    {edit: func(s *config.Settings) { s.ExcludedNamespaces = []string{"kube-system", "team-01", "lonely"} }},
		"ingress and egress": {edit: func(s *config.Settings) {
			rs := s.Rules["default-deny"]
			rs.Parameters = map[string]any{"policyTypes": []any{"Ingress", "Egress"}}
			s.Rules["default-deny"] = rs
		}},
	} {
		t.Run(name, func(t *testing.T) {
			s := settings(t, tc.disable, tc.edit)
			opts := Options{Paths: []string{corpus}, Settings: s}
			if tc.inventory {
				opts.InventoryPaths = []string{ctxDir}
			}
			want, err := runAtOnce(t.Context(), eng, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Run(t.Context(), eng, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("two passes differ from at once (-at once +two passes):\n%s", diff)
			}
			if len(got.Findings) == 0 {
				t.Fatal("no findings at all")
			}
		})
	}
}

func runAtOnce(ctx context.Context, eng *engine.Engine, opts Options) (*report.Result, error) {
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	set := readAtOnce(ctx, opts.Paths, opts)
	res := &report.Result{Summary: report.Summary{Files: set.Files, Objects: len(set.Objects)}}
	for _, e := range set.Errors {
		res.Errors = append(res.Errors, inputError(e))
	}

	// Every object is converted for evaluation once, and its decoded map let go: the
	// converted value is both its review's input and its inventory entry.
	reviews, items, err := convertAtOnce(set.Objects, ns)
	if err != nil {
		return nil, err
	}
	if len(opts.InventoryPaths) > 0 {
		// Inventory is context and never reported, its input errors included: a file
		// that is also linted reports its own once, and a broken file elsewhere in the
		// repository (a Helm template) must not fail a pre-commit run over others.
		ctxSet := readAtOnce(ctx, opts.InventoryPaths, opts)
		_, ctxItems, err := convertAtOnce(ctxSet.Objects, ns)
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
	positions := locateAllAtOnce(set.Objects, outcomes)
	for i, out := range outcomes {
		o := set.Objects[i]
		object := report.Object{APIVersion: o.APIVersion(), Kind: o.Kind(), Namespace: reviews[i].Namespace, Name: o.Name()}
		check := report.Check{File: o.File, Line: o.Line, Object: object}
		if !out.Excluded {
			check.Rules = es.Enabled
		}
		res.Checks = append(res.Checks, check)
		pos := positions[i]
		for j, v := range out.Violations {
			res.Findings = append(res.Findings, finding(opts.Settings, o.File, object, placed{v: v, pos: pos[j], path: engine.PathString(v.Path)}))
		}
		for j, v := range out.Exempted {
			f := finding(opts.Settings, o.File, object, placed{v: v, pos: pos[len(out.Violations)+j], path: engine.PathString(v.Path)})
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
func locateAllAtOnce(objects []*manifest.Object, outcomes []engine.Outcome) [][]manifest.Position {
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
func readAtOnce(ctx context.Context, paths []string, opts Options) *manifest.Set {
	mo := opts.Manifest
	mo.Kustomize = opts.Kustomize
	set := manifest.Read(ctx, paths, mo)
	if len(set.Kustomizations) == 0 {
		return set
	}
	k := kustomize.Render(ctx, set.Kustomizations)
	set.Objects = append(set.Objects, k.Objects...)
	set.Errors = append(set.Errors, k.Errors...)
	set.Files += k.Files
	return set
}

// convert makes the review and the inventory item of every object, with one converted
// value shared by both, and releases the objects' decoded maps.
func convertAtOnce(objects []*manifest.Object, ns string) ([]engine.Review, []engine.InventoryItem, error) {
	maps := make([]any, len(objects))
	for i, o := range objects {
		maps[i] = o.Value
	}
	values, err := engine.NewValues(maps)
	if err != nil {
		return nil, nil, err
	}
	reviews := make([]engine.Review, len(objects))
	items := make([]engine.InventoryItem, len(objects))
	for i, o := range objects {
		r := engine.NewReview(o.Value, ns, o.ARM)
		r.Object, r.Value = nil, values[i]
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

// TestInterpreterAsTopdown: a run with the rules planned from the first object (as
// ward serve runs them, and ward lint after its first reviews) reports exactly what a
// run with every rule in topdown does, findings, positions, exemptions and errors,
// on the generated corpus with the inputs and user rules above.
func TestInterpreterAsTopdown(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus")
	if _, err := gen.Generate(corpus, 300, 5); err != nil {
		t.Fatal(err)
	}
	wardtest.WriteTree(t, corpus, extraFiles)
	policy := filepath.Join(dir, "policy")
	wardtest.WriteTree(t, policy, userRules)

	run := func(topdownOnly bool) *report.Result {
		t.Helper()
		eng, s := newEngineWith(t, engine.Options{PolicyDirs: []string{policy}, TopdownOnly: topdownOnly})
		if !topdownOnly {
			if err := eng.Plan(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		res, err := Run(t.Context(), eng, Options{Paths: []string{corpus}, Settings: s})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	want, got := run(true), run(false)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("planned rules differ from topdown (-topdown +planned):\n%s", diff)
	}
	rules := map[string]int{}
	for _, f := range got.Findings {
		rules[f.Rule]++
	}
	for _, id := range []string{"drop-net-raw", "cidr-base-address", "namespace-scoped-ingress", "first-job", "default-deny"} {
		if rules[id] == 0 {
			t.Errorf("no %s finding to compare: %v", id, rules)
		}
	}
}
