package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/wardsec/ward/bench/gen"
	"github.com/wardsec/ward/pkg/manifest"
)

// The interpreter must give topdown's verdict on every rule it runs. These tests
// evaluate each planned rule both ways on every document of the test corpora, as a
// CREATE, as an UPDATE from a changed copy and as a DELETE, and on fuzzed documents.

// withoutPlans returns a copy of e that leaves every rule to topdown, as
// Options.TopdownOnly makes one.
func withoutPlans(e *Engine) *Engine {
	c := *e
	c.setOptions(Options{TopdownOnly: true, Logger: e.log})
	return &c
}

// plannedAndTopdown prepares e's rules, with no inventory and the default settings,
// as e runs them and as topdown alone does (withoutPlans).
func plannedAndTopdown(tb testing.TB, e *Engine) (planned, td *Evaluator) {
	tb.Helper()
	planned, err := e.Prepare(context.Background(), nil, Settings{})
	if err != nil {
		tb.Fatal(err)
	}
	td, err = withoutPlans(e).Prepare(context.Background(), nil, Settings{})
	if err != nil {
		tb.Fatal(err)
	}
	return planned, td
}

// bothWays evaluates every planned rule of ev on r with the interpreter, and with
// topdown through td (the same rules and settings, withoutPlans), and fails where they
// disagree.
func bothWays(t *testing.T, ev, td *Evaluator, r Review, name string, seen map[string]int) (planned int) {
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
		pr := &ev.rules[i]
		prog := ev.engine.plans.program(pr.rule.Package)
		if prog == nil {
			continue
		}
		planned++
		got, gotErr := ev.eval(ctx, txn, &lazyCancel{}, pr, ast.NewTerm(review))
		input := ast.NewObject(
			ast.Item(ast.InternedTerm("review"), ast.NewTerm(review)),
			ast.Item(ast.InternedTerm("parameters"), pr.params),
		)
		v, vmErr := runProgram(ctx, prog, input, ev.noData)
		want, wantErr := td.eval(ctx, txn, &lazyCancel{}, &td.rules[i], ast.NewTerm(review))
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: rule %s:\ninterpreter: %v %v\ntopdown:     %v %v\nreview: %v", name, pr.rule.ID, got, gotErr, want, wantErr, review)
		}
		if seen != nil {
			seen[pr.rule.ID] += len(want)
			if wantErr != nil {
				seen[pr.rule.ID+" error"]++
			}
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

// featureRules are user rules written to reach what the planner and the interpreter
// do differently from topdown if anything: every kind of iteration, negation, else
// chains, comprehensions of each kind, functions with several bodies, numbers,
// strings, built-ins that fail on the wrong type (undefined, not an error), a complete
// rule with two values (an error in both), and what the interpreter leaves to topdown
// (with, print).
var featureRules = map[string]string{
	"features.rego": `# METADATA
# title: Feature rule
# custom:
#   id: feature-rule
#   severity: warning
#   remediation: None.
package ward.rules.feature_rule

_obj := input.review.object

_labels := object.get(_obj, ["metadata", "labels"], {})

_containers := [c | some c in object.get(_obj, ["spec", "template", "spec", "containers"], [])]

_ports contains p if {
	some c in _containers
	some port in c.ports
	p := port.containerPort
}

_names := {name: i | some i, c in _containers; name := c.name}

_kind_class := "workload" if {
	_obj.kind in {"Deployment", "StatefulSet", "DaemonSet"}
} else := "network" if {
	_obj.kind in {"Service", "NetworkPolicy"}
} else := "other"

_size(x) := count(x) if is_array(x)

_size(x) := count(x) if is_object(x)

_size(x) := -1 if is_string(x)

_total := sum([n | some c in _containers; n := count(object.keys(c))])

violation contains {"msg": msg, "details": {"path": ["metadata", "name"]}} if {
	every c in _containers {
		is_string(c.image)
		not startswith(c.image, "docker.io/")
	}
	count(_containers) > 0
	msg := sprintf("%s %v: %d containers, class %s, ports %v, total %d", [_obj.kind, _names, count(_containers), _kind_class, sort(_ports), _total])
}

violation contains {"msg": msg, "details": {"path": ["spec"]}} if {
	some k, v in _labels
	upper(k) != k
	n := _size(v)
	msg := sprintf("label %s has size %d, bits %d", [k, n, bits.and(n, 3)])
}

violation contains {"msg": msg, "details": {"path": ["spec"]}} if {
	some i
	port := _containers[i].ports[_].containerPort
	port > 1000
	half := port / 2
	msg := sprintf("container %d port %v half %v round %v", [i, port, half, round(half)])
}

violation contains {"msg": "odd", "details": {"path": []}} if {
	x := _obj.spec.replicas
	x % 2 == 1
	not _obj.metadata.annotations
}

violation contains {"msg": msg, "details": {"path": []}} if {
	# upper of a number fails: undefined in topdown without strict errors.
	v := upper(object.get(_obj, ["spec", "replicas"], "none"))
	msg := concat("-", ["replicas", v])
}

violation contains {"msg": msg, "details": {"path": []}} if {
	cidrs := {c | some c in object.get(_obj, ["spec", "loadBalancerSourceRanges"], [])}
	merged := net.cidr_merge(cidrs)
	msg := sprintf("merged %v into %v; split %v", [count(cidrs), merged, [split(c, "/") | some c in cidrs]])
}

violation contains {"msg": msg, "details": {"path": []}} if {
	input.review.operation == "UPDATE"
	changed := {k | some k, v in input.review.object; input.review.oldObject[k] != v}
	removed := object.keys(input.review.oldObject) - object.keys(input.review.object)
	msg := sprintf("changed %v removed %v union %v", [changed, removed, changed | removed])
}
`,
	"conflict.rego": `# METADATA
# title: Conflicting rule
# custom:
#   id: conflict-rule
#   severity: warning
#   remediation: None.
package ward.rules.conflict_rule

_one := input.review.object.kind

_one := input.review.object.metadata.name

violation contains {"msg": _one, "details": {"path": []}} if input.review.object.kind == "ConfigMap"
`,
	"with.rego": `# METADATA
# title: With rule
# custom:
#   id: with-rule
#   severity: warning
#   remediation: None.
package ward.rules.with_rule

_kind := input.review.object.kind

violation contains {"msg": msg, "details": {"path": []}} if {
	k := _kind with input.review.object.kind as "Pod"
	print("kind", k)
	msg := sprintf("%s as %s", [_kind, k])
}
`,
}

// plannedEngine compiles the library with featureRules and plans it.
func plannedEngine(tb testing.TB) *Engine {
	tb.Helper()
	return plannedEngineLogging(tb, logr.Discard())
}

func plannedEngineLogging(tb testing.TB, log logr.Logger) *Engine {
	tb.Helper()
	dir := tb.TempDir()
	for name, src := range featureRules {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	e, err := New(context.Background(), Options{PolicyDirs: []string{dir}, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.Plan(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return e
}

// TestPlannedRules: the library's rules and the feature rules are run by the
// interpreter; the rule with "with" and print is left to topdown, and the log says so
// at V(1), with the reason.
func TestPlannedRules(t *testing.T) {
	var lines []string
	var mu sync.Mutex // the plans are made, and logged, in a goroutine of their own
	e := plannedEngineLogging(t, funcr.New(func(_, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, args)
	}, funcr.Options{Verbosity: 1}))
	mu.Lock()
	log := strings.Join(lines, "\n")
	mu.Unlock()
	for _, want := range []string{
		`"msg"="rule planned" "package"="drop_net_raw"`,
		`"msg"="rule left to topdown" "package"="with_rule" "reason"="not supported by the interpreter: `,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s:\n%s", want, log)
		}
	}
	for _, pkg := range []string{"drop_net_raw", "cidr_base_address", "namespace_scoped_ingress", "feature_rule", "conflict_rule"} {
		if e.plans.program(pkg) == nil {
			t.Errorf("%s is not planned", pkg)
		}
	}
	for _, pkg := range []string{"default_deny", "with_rule"} {
		if e.plans.program(pkg) != nil {
			t.Errorf("%s is planned: it reads the inventory, or uses with and print", pkg)
		}
	}
}

func TestPlannedMatchesTopdown(t *testing.T) {
	e := plannedEngine(t)
	if err := e.Plan(t.Context()); err != nil {
		t.Fatal(err)
	}
	ev, td := plannedAndTopdown(t, e)
	planned, docs := 0, 0
	seen := map[string]int{}
	check := func(name string, doc []byte) {
		for _, r := range reviewsOf(doc) {
			planned += bothWays(t, ev, td, r, name, seen)
		}
		docs++
	}
	eachCorpusDocument(t, check)
	eachGeneratedDocument(t, 300, check)
	if planned == 0 || docs < 50 {
		t.Fatalf("%d evaluations of planned rules over %d documents: the corpora or the plans are missing", planned, docs)
	}
	// Every planned rule found something, and the conflicting one failed: the
	// comparison covered findings and errors, not only empty sets.
	for _, id := range []string{"drop-net-raw", "cidr-base-address", "namespace-scoped-ingress", "feature-rule", "conflict-rule error"} {
		if seen[id] == 0 {
			t.Errorf("%s: nothing to compare", id)
		}
	}
	t.Logf("%d evaluations over %d documents: %v", planned, docs, seen)
}

// FuzzPlannedMatchesTopdown holds the interpreter to topdown on arbitrary documents,
// seeded with those of the test corpora.
func FuzzPlannedMatchesTopdown(f *testing.F) {
	eachCorpusDocument(f, func(_ string, doc []byte) { f.Add(doc) })
	ev, td := plannedAndTopdown(f, plannedEngine(f))
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, r := range reviewsOf(doc) {
			bothWays(t, ev, td, r, "fuzzed", nil)
		}
	})
}

// TestPlannedConcurrently evaluates the corpus on every core at once, twice over, with
// planned rules (their machines pooled, their plans shared) and with topdown alone:
// the outcomes are the same, and -race (make test) sees no shared write.
func TestPlannedConcurrently(t *testing.T) {
	ctx := t.Context()
	var reviews []Review
	eachCorpusDocument(t, func(_ string, doc []byte) { reviews = append(reviews, reviewsOf(doc)...) })
	reviews = append(reviews, reviews...)
	ev, td := plannedAndTopdown(t, plannedEngine(t))
	got := ev.EvaluateAll(ctx, reviews)
	want := td.EvaluateAll(ctx, reviews)
	if len(reviews) < 500 || !reflect.DeepEqual(got, want) {
		t.Fatalf("%d reviews: the outcomes of planned and topdown evaluation differ", len(reviews))
	}
}

// eachGeneratedDocument calls fn on every document of files files of the benchmark's
// corpus: every variant of capabilities, CIDRs and peers it makes.
func eachGeneratedDocument(tb testing.TB, files int, fn func(name string, doc []byte)) {
	tb.Helper()
	dir := tb.TempDir()
	if _, err := gen.Generate(dir, files, 11); err != nil {
		tb.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, doc := range manifest.Documents(data) {
			fn(fmt.Sprintf("%s#%d", p, i), doc)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}
