package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/wardsec/ward/internal/wardtest"
	"github.com/wardsec/ward/pkg/kustomize"
	"github.com/wardsec/ward/pkg/manifest"
)

// The values Builder makes straight from yaml.v3's nodes must be the very values ward
// made before, and kubectl reads: ast.InterfaceToValue of what sigs.k8s.io/yaml yields
// (YAML 1.1 scalars, numbers as json.Number). These tests hold it to that on every
// document of the test corpora and under fuzzing, the way pkg/manifest's differential
// test holds its map decoding.

// referenceValue decodes one document as kubectl does (sigs.k8s.io/yaml to JSON, then
// encoding/json with numbers kept as written) and converts it as ward did before it
// built values from the nodes.
func referenceValue(doc []byte) (ast.Value, error) {
	v, err := wardtest.KubectlDecode(doc)
	if err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(v)
}

// checkBuilt compares what Builder and MapBuilder make of doc, and both with the
// reference. Duplicate keys are the one intended difference from sigs.k8s.io/yaml
// (kubectl keeps the last, ward refuses the document); where the reference refuses a
// document, ward may refuse it too, or read it (kubectl rejecting what ward lints hides
// nothing) — but its two builders must agree.
func checkBuilt(t *testing.T, doc []byte) {
	t.Helper()
	got, err := manifest.DecodeDocument(doc, Builder{})
	m, mapErr := manifest.DecodeDocument(doc, manifest.MapBuilder{})
	if (err != nil) != (mapErr != nil) {
		t.Fatalf("builders disagree on errors:\nengine: %v\nmap:    %v\ndoc:\n%q", err, mapErr, doc)
	}
	if err != nil {
		if err.Error() != mapErr.Error() {
			t.Fatalf("builders' errors differ:\nengine: %v\nmap:    %v\ndoc:\n%q", err, mapErr, doc)
		}
		return
	}
	fromMap, err := ast.InterfaceToValue(m)
	if err != nil {
		t.Fatalf("convert the map: %v\ndoc:\n%q", err, doc)
	}
	built, ok := got.(ast.Value)
	if !ok {
		t.Fatalf("Builder made %T\ndoc:\n%q", got, doc)
	}
	if built.Compare(fromMap) != 0 {
		t.Fatalf("values differ:\nnodes: %v\nmap:   %v\ndoc:\n%q", built, fromMap, doc)
	}
	want, refErr := referenceValue(doc)
	if refErr != nil {
		return
	}
	if built.Compare(want) != 0 {
		t.Fatalf("values differ:\nnodes:            %v\nsigs.k8s.io/yaml: %v\ndoc:\n%q", built, want, doc)
	}
	checkFrozen(t, built)
}

// checkFrozen fails when an object of v has not had its keys sorted yet: OPA sorts them
// in place the first time it iterates them (guarded by a sync.Once), a write that must
// not happen once evaluations share the value (see freeze). The guard is read through
// reflection, before anything iterates the object; if OPA's object changes shape, this
// fails, and the freezing must be looked at again.
func checkFrozen(t *testing.T, v ast.Value) {
	t.Helper()
	switch x := v.(type) {
	case ast.Object:
		done := reflect.ValueOf(x).Elem().FieldByName("sortGuard").FieldByName("done").FieldByName("v")
		if !done.IsValid() {
			t.Fatalf("cannot read the sort guard of %T", x)
		}
		if done.Uint() == 0 {
			t.Fatalf("object %v is not frozen", x)
		}
		x.Foreach(func(_, v *ast.Term) { checkFrozen(t, v.Value) })
	case *ast.Array:
		x.Foreach(func(e *ast.Term) { checkFrozen(t, e.Value) })
	}
}

func TestBuilderMatchesInterfaceToValue(t *testing.T) {
	cases := map[string]string{
		"yaml11 booleans": "z: ON\na: yes\nb: no\nc: on\nd: off\ne: y\nf: N\ng: True\nh: \"yes\"\n",
		"numbers":         "a: 017\nb: 0x1F\nc: 1_000\nd: 1.5\ne: 1e5\nf: .5\ng: -.5\nh: +12\ni: 0b101\nj: 18446744073709551615\nk: 99999999999999999999\nl: 1.0\nm: 0o17\nn: 1e-7\no: 1e21\np: 6.02e+23\nq: 0\nr: -1\ns: 100\nt: 1.2.3\nu: 10.0.0.1\nv: 100m\n",
		"nulls":           "a: ~\nb: null\nc:\nd: Null\ne: \"\"\n",
		"keys":            "1: a\ntrue: b\non: c\n1.5: d\nyes: e\n0x10: f\n",
		"tags":            "a: !!str 3\nb: !!int \"3\"\nc: !!float 3\nd: !custom hello\ne: !!binary aGVsbG8=\nf: !!bool yes\ng: ! 12\n",
		"anchored tag":    "a: &x ! 12\nb: &y   !\t7\nc: [&z, w!]\nd: [&v ! 1, ! 2]\n",
		"anchors":         "base: &b {x: 1, y: [1, 2]}\nother: *b\n",
		"merge":           "base: &b {x: 1, y: 2}\nm:\n  x: 0\n  <<: *b\n  z: 3\nn:\n  <<: [*b, {y: 9, w: 1}]\n  y: 5\n",
		"merge inline":    "m:\n  <<: {a: 1, a: 2}\n  b: 3\n",
		"many keys":       manyKeys(100),
		"empty":           "",
		"scalar doc":      "hello\n",
		"sequence doc":    "- a\n- [b, {c: d}]\n- []\n- {}\n",
		"pod":             "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {ignore.ward.dev/drop-net-raw: why, n: 1}\nspec:\n  containers: [{name: c, image: 'x:1', ports: [{containerPort: 80}]}]\n",
		"duplicate":       "a: 1\na: 2\n",
		"bad tag":         "a: !!int hello\n",
		"nan":             "a: .nan\n",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) { checkBuilt(t, []byte(doc)) })
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("k")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(": ")
		b.WriteString(strings.Repeat("1", 1+i%3))
		b.WriteString("\n")
	}
	// Past frameScan keys, a merge that writes keys already there.
	return "base: &b {ka: 9, new: 1}\nm:\n" + indent(b.String()) + "  <<: *b\n"
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}

// corpusRoots are the test corpora, relative to this package: the reader's testdata,
// the examples and the rules' fixtures, and the third-party corpus beside the
// repository when it is there (/work/shared/corpus on the team's machines).
var corpusRoots = []string{"../manifest/testdata", "../../examples", "../../policies", "../../../shared/corpus"}

func eachCorpusDocument(tb testing.TB, fn func(name string, doc []byte)) {
	tb.Helper()
	for _, root := range corpusRoots {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err // a root that is missing: skip it
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".yaml", ".yml", ".json":
			default:
				return nil
			}
			if d.IsDir() {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				tb.Errorf("read %s: %v", p, err)
				return nil
			}
			for i, doc := range manifest.Documents(data) {
				fn(p+"#"+string(rune('0'+i%10)), doc)
			}
			return nil
		})
	}
}

// TestBuilderCorporaMatch runs the comparison over every document of the test corpora.
func TestBuilderCorporaMatch(t *testing.T) {
	n := 0
	eachCorpusDocument(t, func(name string, doc []byte) {
		n++
		t.Run(name, func(t *testing.T) { checkBuilt(t, doc) })
	})
	if n < 10 {
		t.Fatalf("only %d documents found", n)
	}
}

// TestBuiltValueFacts checks the facts the engine reads itself off a built object:
// its kind and its ignore annotations, as NewValue reads them off a map.
func TestBuiltValueFacts(t *testing.T) {
	doc := []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    ignore.ward.dev/drop-net-raw: needs ping\n    ignore.ward.dev/other: 1\n    unrelated: x\n")
	built, err := manifest.DecodeDocument(doc, Builder{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.DecodeDocument(doc, manifest.MapBuilder{})
	if err != nil {
		t.Fatal(err)
	}
	vals, err := NewValues([]any{built, m})
	if err != nil {
		t.Fatal(err)
	}
	a, b := vals[0], vals[1]
	if a.kind != b.kind || len(a.ignore) != 1 || a.ignore["ignore.ward.dev/drop-net-raw"] != "needs ping" || len(b.ignore) != 1 {
		t.Fatalf("built %+v, from the map %+v", a, b)
	}
	checkFrozen(t, a.value)
	if a.value.Compare(b.value) != 0 {
		t.Fatalf("values differ: %v, %v", a.value, b.value)
	}
}

// FuzzBuilderDifferential holds Builder to the map decoding and to sigs.k8s.io/yaml on
// arbitrary documents; its seeds are the corpora's documents.
func FuzzBuilderDifferential(f *testing.F) {
	eachCorpusDocument(f, func(_ string, doc []byte) {
		if len(doc) < 16<<10 {
			f.Add(doc)
		}
	})
	for _, s := range []string{
		"a: &a {x: 1}\nb:\n  <<: [*a, {y: 2}]\n  x: 3\nc: *a\n",
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n",
		"a: [1, 1.5, -0, 1e3, 0x10, 0o7, 0b1, .5, 1_0]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, doc := range manifest.Documents(data) {
			checkBuilt(t, doc)
		}
	})
}

// TestKustomizeBuilderMatchesMaps renders the example kustomizations with each builder:
// the objects must be the same, placed the same, with the same values.
func TestKustomizeBuilderMatchesMaps(t *testing.T) {
	dirs := []string{"../../examples/kustomize/overlays/prod", "../../examples/kustomize/base", "../../examples/deploy"}
	maps := kustomize.Render(t.Context(), dirs)
	built := kustomize.RenderWith(t.Context(), dirs, Builder{})
	if len(maps.Errors) > 0 || len(built.Errors) > 0 {
		t.Fatalf("errors: %v, %v", maps.Errors, built.Errors)
	}
	if len(maps.Objects) == 0 || len(maps.Objects) != len(built.Objects) {
		t.Fatalf("%d objects from maps, %d built", len(maps.Objects), len(built.Objects))
	}
	for i, m := range maps.Objects {
		b := built.Objects[i]
		if m.File != b.File || m.Line != b.Line || m.Kind() != b.Kind() || m.Name() != b.Name() || m.Namespace() != b.Namespace() {
			t.Fatalf("object %d: %s:%d %s %s/%s, built %s:%d %s %s/%s", i, m.File, m.Line, m.Kind(), m.Namespace(), m.Name(), b.File, b.Line, b.Kind(), b.Namespace(), b.Name())
		}
		want, err := ast.InterfaceToValue(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := b.Decoded().(ast.Value)
		if !ok || got.Compare(want) != 0 {
			t.Fatalf("object %d: values differ:\nbuilt: %v\nmap:   %v", i, got, want)
		}
		checkFrozen(t, got)
		p := []any{"spec", "template", "spec", "containers", 0, "securityContext"}
		if m.Locate(p) != b.Locate(p) {
			t.Fatalf("object %d: placed at %+v, built at %+v", i, m.Locate(p), b.Locate(p))
		}
	}
}
