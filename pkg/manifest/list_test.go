package manifest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestListsFlattenAsKubectl pins how ward reads lists, against what kubectl applies.
// kubectl decodes every document with apimachinery's UnstructuredJSONScheme: any object
// with an "items" field is a list whatever its kind, and items naming neither kind nor
// apiVersion take the list's. Reading lists any other way lets an object that kubectl
// applies hide from the rules (regression: "kind: Pod" with items, and a PodList whose
// items name no kind, were not linted).
func TestListsFlattenAsKubectl(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string // kind/name@line of each object read
		errs []string // line: message fragment
	}{{
		name: "v1 List",
		doc:  "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: b}\n",
		want: []string{"v1/Pod/a@4", "apps/v1/Deployment/b@7"},
	}, {
		name: "any kind with items is a list to kubectl",
		doc:  "apiVersion: v1\nkind: Pod\nmetadata: {name: decoy}\nspec: {containers: []}\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: hidden}\n",
		want: []string{"v1/Pod/hidden@6"},
	}, {
		name: "items take the kind of a typed list",
		doc:  "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: inherits}\n  spec: {containers: [{name: c}]}\n",
		want: []string{"v1/Pod/inherits@4"},
	}, {
		name: "an item with an apiVersion keeps it and gets no kind",
		doc:  "apiVersion: v1\nkind: PodList\nitems:\n- apiVersion: v1\n  metadata: {name: nokind}\n",
	}, {
		name: "a wrapper without apiVersion is still a list",
		doc:  "kind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n",
		want: []string{"v1/Pod/p@3"},
	}, {
		name: "nested lists are flattened",
		doc:  "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - {apiVersion: v1, kind: Pod, metadata: {name: deep}}\n",
		want: []string{"v1/Pod/deep@7"},
	}, {
		name: "items null applies nothing",
		doc:  "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nitems: null\n",
	}, {
		name: "items not a sequence",
		doc:  "apiVersion: v1\nkind: List\nmetadata: {name: l}\nitems:\n  a: 1\n",
		errs: []string{`4: List "l": items is a mapping, not a sequence`},
	}, {
		name: "an item that is not an object",
		doc:  "apiVersion: v1\nkind: List\nitems:\n- 3\n- {apiVersion: v1, kind: Pod, metadata: {name: ok}}\n",
		want: []string{"v1/Pod/ok@5"},
		errs: []string{"4: List: item 0 is a number, not an object"},
	}, {
		name: "Items in another case is a field, not a list",
		doc:  "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nItems: [{apiVersion: v1, kind: Pod}]\n",
		want: []string{"v1/Pod/p@1"},
	}, {
		name: "no kind: not an object (a values file)",
		doc:  "items:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := Parse("list.yaml", []byte(tc.doc))
			var got, errs []string
			for _, o := range set.Objects {
				got = append(got, o.APIVersion()+"/"+o.Kind()+"/"+o.Name()+"@"+strconv.Itoa(o.Line))
			}
			for _, e := range set.Errors {
				errs = append(errs, strconv.Itoa(e.Line)+": "+e.Err.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors = %q, want %q", errs, tc.errs)
			}
			for i := range errs {
				if !strings.HasPrefix(errs[i], tc.errs[i]) {
					t.Errorf("error %d = %q, want it to start with %q", i, errs[i], tc.errs[i])
				}
			}
		})
	}
}

// TestListItemLocate checks that a path in a list item is found in the item's text.
func TestListItemLocate(t *testing.T) {
	doc := "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n  spec:\n    containers:\n    - name: c\n      image: x\n"
	set := Parse("l.yaml", []byte(doc))
	if len(set.Objects) != 1 {
		t.Fatalf("objects: %v, errors: %v", set.Objects, set.Errors)
	}
	pos := set.Objects[0].Locate([]any{"spec", "containers", 0, "securityContext"})
	if pos != (Position{Line: 7, Column: 7}) {
		t.Errorf("container at %+v, want 7:7", pos)
	}
	// The kind the item inherits is not in its text: the item itself is the place.
	if pos := set.Objects[0].Locate([]any{"kind"}); pos != (Position{Line: 4, Column: 3}) {
		t.Errorf("kind at %+v, want 4:3", pos)
	}
}
