package engine

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/wardsec/ward/bench/gen"
	"github.com/wardsec/ward/internal/wardtest"
	"github.com/wardsec/ward/pkg/manifest"
)

// userRule is a --policy rule package with the given violation bodies.
func userRule(pkg string, bodies ...string) string {
	src := fmt.Sprintf("# METADATA\n# title: %s\n# custom:\n#   id: %s\n#   severity: error\n#   remediation: Fix it.\npackage ward.rules.%s\n\n",
		pkg, pkg, pkg)
	for _, b := range bodies {
		src += "violation contains {\"msg\": \"m\"} if {\n" + b + "\n}\n\n"
	}
	return src
}

func TestDispatchReadsKindsOffTheRules(t *testing.T) {
	dir := t.TempDir()
	wardtest.WriteTree(t, dir, map[string]string{
		"eq.rego":      userRule("eq", `input.review.object.kind == "Service"`),
		"unify.rego":   userRule("unify", `"Service" = input.review.object.kind`),
		"member.rego":  userRule("member", `input.review.object.kind in {"Pod", "Job"}`, `input.review.object.kind in ["CronJob"]`),
		"old.rego":     userRule("old", `input.review.oldObject.kind == "NetworkPolicy"`, `input.review.object.kind == "Pod"`),
		"late.rego":    userRule("late", "x := 1\nx > 0\ninput.review.object.kind == \"Pod\""),
		"open.rego":    userRule("open", `input.review.object.kind == "Pod"`, `input.review.object.metadata.name == "x"`),
		"negated.rego": userRule("negated", `not input.review.object.kind == "Pod"`),
		"var.rego":     userRule("var", "some k in {\"Pod\"}\ninput.review.object.kind == k"),
		"mixed.rego":   userRule("mixed", `input.review.object.kind in {"Pod", 1}`),
		"other.rego":   userRule("other", `input.review.kind.kind == "Pod"`),
		"none.rego":    "# METADATA\n# title: none\n# custom:\n#   id: none\n#   severity: error\n#   remediation: Fix it.\npackage ward.rules.none\n\nx := 1\n",
	})
	eng, err := New(t.Context(), Options{PolicyDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		all            bool
		object, oldObj []string
	}
	for pkg, w := range map[string]want{
		"eq":      {object: []string{"Service"}},
		"unify":   {object: []string{"Service"}},
		"member":  {object: []string{"CronJob", "Job", "Pod"}},
		"old":     {object: []string{"Pod"}, oldObj: []string{"NetworkPolicy"}},
		"late":    {object: []string{"Pod"}},
		"open":    {all: true},
		"negated": {all: true},
		"var":     {all: true},
		"mixed":   {all: true},
		"other":   {all: true},
		"none":    {},
		// The built-in rules.
		"drop_net_raw":             {object: []string{"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "PodTemplate", "ReplicaSet", "ReplicationController", "StatefulSet"}},
		"default_deny":             {object: []string{"CronJob", "DaemonSet", "Deployment", "Job", "Pod", "PodTemplate", "ReplicaSet", "ReplicationController", "StatefulSet"}, oldObj: []string{"NetworkPolicy"}},
		"namespace_scoped_ingress": {object: []string{"NetworkPolicy"}},
		"cidr_base_address":        {object: []string{"Microsoft.ContainerService/managedClusters", "NetworkPolicy", "Service"}},
	} {
		f, ok := eng.kinds[pkg]
		if !ok {
			t.Errorf("%s: no kind filter", pkg)
			continue
		}
		got := want{all: f.all, object: slices.Sorted(maps.Keys(f.object)), oldObj: slices.Sorted(maps.Keys(f.oldObject))}
		if got.all && w.all {
			continue // the kinds of the other bodies do not matter
		}
		if got.all != w.all || !slices.Equal(got.object, w.object) || !slices.Equal(got.oldObj, w.oldObj) {
			t.Errorf("%s: got %+v, want %+v", pkg, got, w)
		}
	}
}

// TestDispatchChangesNoVerdict evaluates every object of a generated corpus (every
// kind the rules read, and some they do not) with and without the kind dispatch, and
// wants the very same outcomes.
func TestDispatchChangesNoVerdict(t *testing.T) {
	dir := t.TempDir()
	if _, err := gen.Generate(dir, 300, 7); err != nil {
		t.Fatal(err)
	}
	set := manifest.Read(t.Context(), []string{dir}, manifest.Options{})
	reviews := make([]Review, len(set.Objects))
	items := make([]InventoryItem, len(set.Objects))
	for i, o := range set.Objects {
		reviews[i] = NewReview(o.Value, "default", o.ARM)
		items[i] = InventoryItem{Namespace: reviews[i].Namespace, APIVersion: o.APIVersion(), Kind: o.Kind(), Name: fmt.Sprint(i), Object: o.Value}
	}
	// Updates and deletions of NetworkPolicies too: default-deny judges those.
	for _, r := range reviews[:100] {
		if r.Kind.Kind == "NetworkPolicy" {
			reviews = append(reviews,
				Review{OldObject: r.Object, Object: r.Object, Operation: OperationUpdate, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name},
				Review{OldObject: r.Object, Operation: OperationDelete, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name})
		}
	}
	inv, err := NewInventory(items)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := eng.Prepare(t.Context(), inv, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	dispatched := ev.EvaluateAll(t.Context(), reviews)
	for i := range ev.rules {
		ev.rules[i].kinds = kindFilter{all: true}
	}
	everything := ev.EvaluateAll(t.Context(), reviews)
	findings := 0
	for i := range reviews {
		a, b := fmt.Sprintf("%+v", dispatched[i]), fmt.Sprintf("%+v", everything[i])
		if a != b {
			t.Errorf("review %d (%s %s/%s): with dispatch %s, without %s", i, reviews[i].Kind.Kind, reviews[i].Namespace, reviews[i].Name, a, b)
		}
		findings += len(everything[i].Violations)
	}
	if findings == 0 {
		t.Fatal("no findings at all: the comparison shows nothing")
	}
}
