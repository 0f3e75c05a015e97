package lint

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/manifest"
)

// TestRecordRoundTrip checks that a record gives back the identity and the findings it
// was written with, placed as Locate places them, in order, violations apart from
// exempted ones: texts empty, long (lengths of more than one byte) and not ASCII.
func TestRecordRoundTrip(t *testing.T) {
	set := manifest.Parse("pod.yaml", []byte(`apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: a
    image: nginx
  - name: b
    image: nginx
`))
	if len(set.Objects) != 1 {
		t.Fatalf("parsed %d objects, want 1: %v", len(set.Objects), set.Errors)
	}
	o := set.Objects[0]
	long := strings.Repeat("é", 300)
	id := identity{ObjectID: engine.ObjectID{APIVersion: "v1", Kind: "Pod", Name: long}, resolved: "default"}
	violations := []engine.Violation{
		{RuleID: "drop-net-raw", Message: "container a", Path: []any{"spec", "containers", 0, "name"}},
		{RuleID: "drop-net-raw", Message: long, Path: []any{"spec", "containers", 1}, Key: "k"},
		{RuleID: "x", Path: nil},
	}
	exempted := []engine.Violation{{RuleID: "cidr-base-address", Message: "m", Reason: "reviewed", Path: []any{"metadata", "name"}}}

	b := appendRecord([]byte("another object's record"), id)
	b = appendFindings(b, o.Locator(), violations, false)
	b = appendFindings(b, o.Locator(), exempted, true)
	r := recordReader{s: string(b), at: len("another object's record")}
	if got := r.identity(); got != id {
		t.Errorf("identity = %+v, want %+v", got, id)
	}
	gotV, gotE := r.findings()

	want := func(vs []engine.Violation) []placed {
		var out []placed
		for _, v := range vs {
			x := placed{v: v}
			x.locate(o.Locator())
			out = append(out, x)
		}
		return out
	}
	opt := cmp.AllowUnexported(placed{})
	if d := cmp.Diff(want(violations), gotV, opt); d != "" {
		t.Fatalf("violations (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want(exempted), gotE, opt); d != "" {
		t.Fatalf("exempted (-want +got):\n%s", d)
	}
	if gotV[0].pos != (manifest.Position{Line: 7, Column: 5}) || gotE[0].pos != (manifest.Position{Line: 4, Column: 3}) {
		t.Errorf("positions %v and %v, want 7:5 and 4:3", gotV[0].pos, gotE[0].pos)
	}

	// A record without findings has none; a zero Locator places at the object's own
	// position.
	r = recordReader{s: string(appendRecord(nil, identity{}))}
	if got := r.identity(); got != (identity{}) {
		t.Errorf("empty identity = %+v", got)
	}
	if v, e := r.findings(); v != nil || e != nil {
		t.Errorf("findings of a record without = %v, %v", v, e)
	}
}
