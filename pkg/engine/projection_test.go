package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/wardsec/ward/pkg/manifest"
)

// projectionCases are rules written to use input each way the analysis tells apart,
// with what it must find that they observe (of ward lint's reviews, with no oldObject
// and no userInfo, when absent). Each fires on some documents of the test corpora, so
// that TestProjectionKeepsVerdicts compares findings as well as their absence.
var projectionCases = []struct {
	name, body string
	absent     bool
	want       string
}{
	{"lookups", `input.review.object.metadata.name != "a"`, false,
		`{"review": {"object": {"metadata": {"name": *}}}}`},
	{"type checks keep the type only", `is_object(input.review.object.spec); is_string(input.review.object.kind)`, false,
		`{"review": {"object": {"kind": {}, "spec": {}}}}`},
	{"a value used as a condition is compared", `input.review.object.spec.replicas`, false,
		`{"review": {"object": {"spec": {"replicas": *}}}}`},
	{"through a local and a function", `o := input.review.object; _labels(o)["app.kubernetes.io/name"] != "x"`, false,
		`{"review": {"object": {"metadata": {"labels": {"app.kubernetes.io/name": *}}}}}`},
	{"compared whole", `_labels(input.review.object) != {}`, false,
		`{"review": {"object": {"metadata": {"labels": *}}}}`},
	{"two parts compared", `input.review.object.spec.selector.matchLabels == input.review.object.spec.template.metadata.labels`, false,
		`{"review": {"object": {"spec": {"selector": {"matchLabels": *}, "template": {"metadata": {"labels": *}}}}}}`},
	{"counted", `count(input.review.object.spec.template.spec.containers) > 1`, false,
		`{"review": {"object": {"spec": {"template": {"spec": {"containers": *}}}}}}`},
	{"scanned", `some k, _ in input.review.object.metadata; k == "labels"`, false,
		`{"review": {"object": {"metadata": *}}}`},
	{"a key that is not constant", `some k in ["kind"]; input.review.object[k] == "Service"`, false,
		`{"review": {"object": *}}`},
	{"given to a built-in", `contains(json.marshal(input.review), "NET_RAW")`, false,
		`{"review": *}`},
	{"object.get with a key", `object.get(input.review.object, "spec", {}).replicas >= 2`, false,
		`{"review": {"object": {"spec": {"replicas": *}}}}`},
	{"object.get with a path", `object.get(input.review.object, ["spec", "replicas"], 0) == 1`, false,
		`{"review": {"object": *}}`},
	{"in the result", `x := input.review.object.metadata.labels; x["app.kubernetes.io/name"]`, false,
		`{"review": {"object": {"metadata": {"labels": *}}}}`},
	{"an absent old object ends the body", `input.review.oldObject.kind == "Deployment"; input.review.object.spec != {}`, true,
		`{"review": {}}`},
	{"an old object that may be there does not", `input.review.oldObject.kind == "Deployment"; input.review.object.spec != {}`, false,
		`{"review": {"object": {"spec": *}, "oldObject": {"kind": *}}}`},
	{"a function given the old object or the new one", `is_object(_labels(input.review.object)); _labels(object.get(input.review, "oldObject", {}))["app.kubernetes.io/name"]`, true,
		`{"review": {"object": {"metadata": {"labels": {"app.kubernetes.io/name": *}}}}}`},
	{"a lookup of an absent part in what may be another value", `_replicas({"oldObject": 1}) > 1; _replicas(input.review) > 0`, true,
		`{"review": {"object": {"spec": {"replicas": *}}}}`},
}

// projectionDocs are documents on which a wrong projection of projectionCases would
// change a verdict, whatever the corpora hold.
var projectionDocs = []string{`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mismatched
  labels: {app.kubernetes.io/name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: a, image: a}, {name: b, image: b}]
`, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: matched
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: a, image: a, securityContext: {capabilities: {add: [NET_RAW]}}}]
`}

// projectionModule is case i of projectionCases as a rule of its own package.
func projectionModule(i int) (pkg, src string) {
	pkg = fmt.Sprintf("projected_%d", i)
	body := projectionCases[i].body
	if !strings.Contains(body, "x :=") {
		body += "\n\tx := 1"
	}
	return pkg, fmt.Sprintf(`# METADATA
# title: Projected rule %d
# custom:
#   id: projected-%d
#   severity: warning
#   remediation: None.
package ward.rules.%s

_labels(o) := o.metadata.labels

_replicas(r) := input.review.object.spec.replicas if r.oldObject

violation contains {"msg": "m", "details": {"path": []}, "x": x} if {
	%s
}
`, i, i, pkg, body)
}

// TestProjectionOfRules: what the analysis finds that each of projectionCases observes.
func TestProjectionOfRules(t *testing.T) {
	for i, tc := range projectionCases {
		t.Run(tc.name, func(t *testing.T) {
			pkg, src := projectionModule(i)
			modules := map[string]*ast.Module{pkg + ".rego": ast.MustParseModuleWithOpts(src, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})}
			var absent [][]string
			if tc.absent {
				absent = lintAbsent
			}
			p, err := projectRules(modules, []string{pkg}, absent...)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.String(); got != tc.want {
				t.Errorf("projection %s, want %s", got, tc.want)
			}
		})
	}
}

// TestProjectionOfWithRule: a rule that replaces input with "with" observes all of it.
func TestProjectionOfWithRule(t *testing.T) {
	e := plannedEngine(t)
	rule, _ := e.registry.Get("with-rule")
	if _, err := projectRules(e.plans.modules, []string{rule.Package}); !errors.Is(err, errUnsupported) {
		t.Fatalf("with-rule: error %v, want errUnsupported", err)
	}
}

// TestObservedObject: what ward lint's second pass builds of each object for the
// library's default-deny.
func TestObservedObject(t *testing.T) {
	e := plannedEngine(t)
	if got, want := e.ObservedObject().String(), `{"apiVersion": *, "kind": *, "metadata": {"namespace": *}}`; got != want {
		t.Errorf("observed %s, want %s", got, want)
	}
	if !withoutPlans(e).ObservedObject().Whole() {
		t.Error("an engine without plans must observe whole objects")
	}
}

// TestProjectionKeepsVerdicts holds the analysis to what it promises: every rule of
// the library and the feature rules, evaluated by topdown on every document of the test
// corpora, gives the same outcome on the projected review as on the whole one, as ward
// lint's second pass builds it (a CREATE, projected from its compact form) and as the
// webhook sees it (CREATE, UPDATE and DELETE, with an old object).
func TestProjectionKeepsVerdicts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for name, src := range featureRules {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range projectionCases {
		pkg, src := projectionModule(i)
		if err := os.WriteFile(filepath.Join(dir, pkg+".rego"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	planned, err := New(ctx, Options{PolicyDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	modules := planned.plans.modules
	e := withoutPlans(planned)
	// default-deny fires on workloads in "default" and "open", not in "covered", and
	// on the deletion of a deny-all policy in "open", which has a workload.
	inv, err := NewInventory([]InventoryItem{{
		Namespace: "covered", APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy", Name: "deny",
		Object: map[string]any{
			"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
			"metadata": map[string]any{"name": "deny", "namespace": "covered"},
			"spec":     map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"}},
		},
	}, {
		Namespace: "open", APIVersion: "apps/v1", Kind: "Deployment", Name: "web",
		Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "open"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	type ruleCase struct {
		id        string
		ev        *Evaluator
		lint, all *Projection
	}
	// The rules that observe part of a review: for the others, the projection is the
	// review itself.
	var cases []ruleCase
	for _, id := range e.registry.IDs() {
		rule, _ := e.registry.Get(id)
		lint, err := projectRules(modules, []string{rule.Package}, lintAbsent...)
		if err != nil {
			lint = wholeProjection
		}
		all, err := projectRules(modules, []string{rule.Package})
		if err != nil {
			all = wholeProjection
		}
		if lint.At("review", "object").Whole() && all.At("review").Whole() {
			continue
		}
		ev, err := e.Prepare(ctx, inv, Settings{Enabled: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, ruleCase{id, ev, lint.At("review", "object"), all.At("review")})
	}
	if len(cases) < len(projectionCases)/2 {
		t.Fatalf("only %d rules observe part of a review: the comparison would show little", len(cases))
	}
	namespaces := []string{"default", "covered", "open"}
	found := map[string]int{}
	judged := 0
	check := func(name string, doc []byte) {
		x, err := manifest.DecodeDocument(doc, manifest.MapBuilder{})
		obj, ok := x.(map[string]any)
		if err != nil || !ok {
			return
		}
		whole, err := NewValue(obj)
		if err != nil {
			return
		}
		c, err := whole.Compact()
		if err != nil {
			t.Fatal(err)
		}
		kind, _ := obj["kind"].(string)
		for _, rc := range cases {
			// Only a rule that reads the inventory tells namespaces apart.
			namespaces := namespaces
			if !e.ReadsInventory(rc.id) {
				namespaces = namespaces[:1]
			}
			// As ward lint's second pass.
			projected, err := c.Project(rc.lint)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, ns := range namespaces {
				if rc.lint.Whole() {
					break
				}
				r := Review{Operation: OperationCreate, Kind: GroupVersionKind{Kind: kind}, Namespace: ns, Name: "x", Value: whole}
				want := rc.ev.Evaluate(ctx, r)
				r.Value = projected
				if got := rc.ev.Evaluate(ctx, r); !reflect.DeepEqual(got, want) {
					t.Fatalf("%s in %s: rule %s on the projection %s:\n got %+v\nwant %+v", name, ns, rc.id, rc.lint, got, want)
				}
				found[rc.id] += len(want.Violations) + len(want.Errors)
				judged++
			}
			// As the webhook would, with old objects.
			for _, r := range reviewsOf(doc) {
				for _, ns := range namespaces {
					if rc.all.Whole() {
						break
					}
					r.Namespace = ns
					review, err := rc.ev.reviewValue(r)
					if err != nil {
						continue
					}
					want, wantErr := evalOne(ctx, rc.ev, review)
					got, gotErr := evalOne(ctx, rc.ev, projectValue(review, rc.all))
					if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: rule %s on the projection %s of %s in %s:\n got %v %v\nwant %v %v", name, rc.id, rc.all, r.Operation, ns, got, gotErr, want, wantErr)
					}
					found[rc.id+" "+r.Operation] += len(want)
					if wantErr != nil {
						found[rc.id+" "+r.Operation]++
					}
					judged++
				}
			}
		}
	}
	eachCorpusDocument(t, check)
	eachGeneratedDocument(t, 60, check)
	for i, doc := range projectionDocs {
		check(fmt.Sprintf("projectionDocs[%d]", i), []byte(doc))
	}
	for _, id := range []string{"default-deny", "default-deny UPDATE", "default-deny DELETE"} {
		if found[id] == 0 {
			t.Errorf("%s: no finding to compare", id)
		}
	}
	for _, rc := range cases {
		if found[rc.id]+found[rc.id+" UPDATE"]+found[rc.id+" DELETE"] == 0 {
			t.Errorf("%s: no finding or error to compare", rc.id)
		}
	}
	t.Logf("%d outcomes compared; findings and errors: %v", judged, found)
}

// evalOne evaluates ev's one rule on review with topdown.
func evalOne(ctx context.Context, ev *Evaluator, review ast.Value) ([]Violation, error) {
	txn, err := ev.inv.store.NewTransaction(ctx)
	if err != nil {
		return nil, err
	}
	defer ev.inv.store.Abort(ctx, txn)
	return ev.eval(ctx, txn, &lazyCancel{}, &ev.rules[0], ast.NewTerm(review))
}

// TestSharedOutcomes: reviews alike in what default-deny observes share one outcome;
// a namespace, a kind or an exemption of their own does not.
func TestSharedOutcomes(t *testing.T) {
	ctx := t.Context()
	e := plannedEngine(t)
	ev, err := e.Prepare(ctx, nil, Settings{Enabled: []string{"default-deny"}})
	if err != nil {
		t.Fatal(err)
	}
	shared := ev.SharedOutcomes()
	review := func(ns, kind, name string, replicas int, annotations map[string]any) Review {
		v, err := NewValue(map[string]any{
			"apiVersion": "apps/v1", "kind": kind,
			"metadata": map[string]any{"name": name, "namespace": ns, "annotations": annotations},
			"spec":     map[string]any{"replicas": replicas},
		})
		if err != nil {
			t.Fatal(err)
		}
		return Review{Operation: OperationCreate, Kind: GroupVersionKind{Group: "apps", Version: "v1", Kind: kind}, Namespace: ns, Name: name, Value: v}
	}
	for _, r := range []Review{
		review("a", "Deployment", "one", 1, nil),
		review("a", "Deployment", "two", 3, nil), // alike
		review("b", "Deployment", "one", 1, nil),
		review("a", "StatefulSet", "one", 1, nil),
		review("a", "Deployment", "three", 1, map[string]any{"ignore.ward.dev/default-deny": "test"}),
	} {
		got, want := shared.Evaluate(ctx, r), ev.Evaluate(ctx, r)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %s/%s: shared %+v, alone %+v", r.Kind.Kind, r.Namespace, r.Name, got, want)
		}
	}
	if len(shared.outcomes) != 4 {
		t.Errorf("%d outcomes kept, want 4: %v", len(shared.outcomes), slices.Collect(maps.Keys(shared.outcomes)))
	}
}
