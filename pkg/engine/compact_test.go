package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/wardsec/ward/bench/gen"
	"github.com/wardsec/ward/pkg/manifest"
)

// compactCorpusRoots are the test corpora: examples, rule fixtures, the manifest
// package's testdata, and the third-party corpus beside the repository where present.
var compactCorpusRoots = []string{"../../examples", "../../policies", "../manifest/testdata", "../../../shared/corpus"}

func corpusObjects(t *testing.T) []*manifest.Object {
	t.Helper()
	var paths []string
	for _, root := range compactCorpusRoots {
		if _, err := os.Stat(root); err == nil {
			paths = append(paths, root)
		}
	}
	gendir := t.TempDir()
	if _, err := gen.Generate(gendir, 60, 7); err != nil {
		t.Fatal(err)
	}
	paths = append(paths, gendir)
	set := manifest.Read(t.Context(), paths, manifest.Options{})
	if len(set.Objects) < 100 {
		t.Fatalf("only %d objects in the test corpora", len(set.Objects))
	}
	return set.Objects
}

// roundTrip encodes v and decodes it again, and fails unless the result equals v.
func roundTrip(t *testing.T, name string, v *Value) Compact {
	t.Helper()
	c, err := v.Compact()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	back, err := c.Value()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if back.value.Compare(v.value) != 0 || !ast.NewTerm(back.value).Equal(ast.NewTerm(v.value)) || back.value.Hash() != v.value.Hash() {
		t.Fatalf("%s: round trip differs:\n got %v\nwant %v", name, back.value, v.value)
	}
	if back.kind != v.kind || len(back.ignore) != len(v.ignore) {
		t.Fatalf("%s: kind %q ignore %v, want %q %v", name, back.kind, back.ignore, v.kind, v.ignore)
	}
	for k, r := range v.ignore {
		if back.ignore[k] != r {
			t.Fatalf("%s: ignore %v, want %v", name, back.ignore, v.ignore)
		}
	}
	return c
}

// TestCompactRoundTrip: every object of the test corpora comes back from its compact
// form equal to its converted value, and the compact form is a fraction of the text.
func TestCompactRoundTrip(t *testing.T) {
	objects := corpusObjects(t)
	size := 0
	for _, o := range objects {
		v, err := NewValue(o.Value)
		if err != nil {
			t.Fatalf("%s:%d: %v", o.File, o.Line, err)
		}
		size += roundTrip(t, o.File, v).Size()
	}
	t.Logf("%d objects, %d bytes compact (%d per object)", len(objects), size, size/len(objects))
}

// testProjections are projections of objects for Compact.Project's tests: nothing, the
// type alone, default-deny's, keys at several depths, keys into values that are not
// objects, and the whole.
var testProjections = []*Projection{
	nil,
	{},
	{keys: map[string]*Projection{"apiVersion": wholeProjection, "kind": wholeProjection, "metadata": {keys: map[string]*Projection{"namespace": wholeProjection}}}},
	{keys: map[string]*Projection{"kind": {}, "spec": {keys: map[string]*Projection{"template": {keys: map[string]*Projection{"spec": {}}}, "replicas": wholeProjection}}}},
	{keys: map[string]*Projection{"kind": {keys: map[string]*Projection{"x": wholeProjection}}, "metadata": {keys: map[string]*Projection{"labels": wholeProjection, "name": {}}}}},
	wholeProjection,
}

// TestCompactProject: the projection of every object of the test corpora, decoded
// from its compact form, is the projection of its value.
func TestCompactProject(t *testing.T) {
	for _, o := range corpusObjects(t) {
		v, err := NewValue(o.Value)
		if err != nil {
			t.Fatalf("%s:%d: %v", o.File, o.Line, err)
		}
		c, err := v.Compact()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range testProjections {
			got, err := c.Project(p)
			if err != nil {
				t.Fatalf("%s:%d: project %s: %v", o.File, o.Line, p, err)
			}
			if want := projectValue(v.value, p); got.value.Compare(want) != 0 || got.kind != v.kind || len(got.ignore) != len(v.ignore) {
				t.Fatalf("%s:%d: project %s:\n got %v\nwant %v", o.File, o.Line, p, got.value, want)
			}
		}
	}
}

// TestCompactValues covers what objects seldom hold: sets, non-string keys, empty
// composites, numbers as written.
func TestCompactValues(t *testing.T) {
	for _, src := range []string{
		`null`, `true`, `false`, `0`, `-1.5e300`, `12345678901234567890123`, `""`, `"apiVersion"`,
		`[]`, `{}`, `{"a": [1, {"b": null}], "kind": "Pod"}`, `{1, "x", [2]}`, `{[1]: {"k": set()}}`,
		`"` + strings.Repeat("é", 300) + `"`,
	} {
		v := ast.MustParseTerm(src).Value
		roundTrip(t, src, &Value{value: v})
	}
	if _, err := (&Value{value: ast.MustParseRef("data.x")}).Compact(); err == nil {
		t.Error("a reference encoded")
	}
}

// TestCompactRejectsGarbage: bytes that no encoding gave are an error, never a panic.
func TestCompactRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, {tagArray}, {tagArray, 5, tagNull}, {tagString, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {tagWord, 250, 3}, {99}, {tagNull, tagNull}} {
		if _, err := (Compact{data: b}).Value(); err == nil {
			t.Errorf("%v decoded", b)
		}
	}
}

// FuzzCompact: any JSON document survives the round trip, also through the JSON that
// a compact value writes (lazyObject), and decoding any bytes, as a value or as JSON,
// ends in a value or an error.
func FuzzCompact(f *testing.F) {
	f.Add([]byte(`{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "a", "ports": [1, 2.5]}]}}`))
	f.Add([]byte{tagObject, 1, tagWord, 0, tagNumber, 1, '1'})
	if b, err := os.ReadFile(filepath.Join("..", "..", "examples", "bad", "deployment.yaml")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := decodeCompact(b); err == nil {
			// What decodes must encode (it is data), and read back the same.
			c, err := (&Value{value: v}).Compact()
			if err != nil {
				t.Fatalf("decoded %v does not encode: %v", v, err)
			}
			if _, err := c.Value(); err != nil {
				t.Fatalf("re-encoded %v does not decode: %v", v, err)
			}
			for _, p := range testProjections {
				got, err := (Compact{data: b}).Project(p)
				if want := projectValue(v, p); err != nil || got.value.Compare(want) != 0 {
					t.Fatalf("project %s of %v: got %v %v, want %v", p, v, got, err, want)
				}
			}
		}
		_, _ = (Compact{data: b}).appendJSON(nil) // an error or JSON, never a panic
		for _, p := range testProjections {
			_, _ = (Compact{data: b}).Project(p) // an error or a value, never a panic
		}
		var x any
		if json.Unmarshal(b, &x) != nil {
			return
		}
		v, err := ast.InterfaceToValue(x)
		if err != nil {
			return
		}
		roundTrip(t, "fuzz", &Value{value: v})
		jsonRoundTrip(t, v)
	})
}

// TestWordsDistinct: each word has one index (a duplicate would only waste one).
func TestWordsDistinct(t *testing.T) {
	if len(wordIndex) != len(words) {
		for i, w := range words {
			if wordIndex[w] != i {
				t.Errorf("word %q listed twice", w)
			}
		}
	}
}
