package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"

	"github.com/wardsec/ward/bench/gen"
)

// fastAgrees decodes doc, one document's text, by the fast path and by yaml.v3's, and
// fails t where both read it and they differ: in the value, or in the position of the
// root or of any path into it, existing or not. It says whether the fast path read it.
func fastAgrees(t *testing.T, name string, doc []byte) bool {
	t.Helper()
	got, rec, ok := fastDecode(doc, MapBuilder{}, &stacks{}, true)
	if !ok {
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		t.Errorf("%s: the fast path read a document yaml.v3 refuses (%v):\n%s", name, err, doc)
		return true
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		t.Errorf("%s: the fast path read one document of a stream of several:\n%s", name, doc)
		return true
	}
	d := decoder{b: MapBuilder{}, src: sourceText{data: doc}}
	want, err := d.decode(&n, 0)
	if err != nil {
		t.Errorf("%s: the fast path read a document ward's decoder refuses (%v):\n%s", name, err, doc)
		return true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: values differ (-yaml.v3 +fast):\n%s\ndocument:\n%s", name, diff, doc)
		return true
	}
	root := n.Content[0]
	ps := [][]any{nil}
	paths(want, nil, &ps)
	for _, p := range ps {
		w := walk(root, p)
		e := rec[locateEntry(rec, p)]
		if int(e.line) != w.Line || int(e.col) != w.Column {
			t.Errorf("%s: path %v: yaml.v3 places it at %d:%d, the fast path at %d:%d\ndocument:\n%s", name, p, w.Line, w.Column, e.line, e.col, doc)
			return true
		}
	}
	return true
}

// fastRead are documents in the part of YAML the fast path reads, one for each of its
// forms: it must read them, as yaml.v3 does.
var fastRead = []string{
	"a: 1\n",
	"a: 1",
	"# comment\n\n  a: 1\n  b: two\n",
	"a:\n  b:\n    c: d\n  e: f\ng: h\n",
	"a:\n- x\n- y\nb: 1\n",
	"a:\n  - x\n  -   y # comment\n",
	"items:\n- name: a\n  image: b\n  ports:\n  - containerPort: 80\n    protocol: TCP\n- name: c\n",
	"a:\n-\n  b: c\n-   d: e\n    f: g\n",
	"a: \"x \\\" \\\\ \\n \\t \\x41 \\u00e9 \\U0001F600\"\nb: 'it''s'\nc: ''\nd: \"\"\n",
	"\"quoted key\": 1\n'single': 2\n",
	"a: [1, 2, \"three\", 'four', [5], {six: 6}]\nb: {}\nc: []\nd: { x: y , z: [ ] }\n",
	"a: [ a b , c ]\n",
	"a: |\n  line 1\n\n   indented\n  line 3\n\nb: |-\n  x\n  y\nc: 1\n",
	"a: >\n  folded\n  text\n\n  new paragraph\n\n\n  two breaks\nb: >-\n  x\n  y\n",
	"a: | # comment\n  text\n# a comment less indented\nb: 1\n",
	"a: yes\nb: no\nc: on\nd: off\ne: ~\nf: null\ng: 017\nh: 0x1F\ni: 1_000\nj: 1.5\nk: 1e5\nl: .5\nm: 2001-12-14\nn: +12\no: -1\np: 18446744073709551615\n",
	"1: a\ntrue: b\n1.5: c\n0x10: d\n",
	"a: b#c\nd: e # f\ng: h:i\nj: http://x.y/z\n",
	"a: é\nb: 日本語\n",
	"é: [日本, 語]\nb:\n  日本: x\n",
	"a:\n  b: 1\n\n\n  c: 2\n",
	"a: {x: 1, y: [1, 2], z: {w: v}}\n",
	"a:   \nb: # comment\nc:\n",
}

// fastDeclined are documents the fast path leaves to yaml.v3: outside its part of YAML,
// or broken.
var fastDeclined = []string{
	"a: &x 1\nb: *x\n",
	"a: !!str 1\n",
	"<<: {a: 1}\n",
	"a: 1\na: 2\n",
	"a: multi\n  line\n",
	"a: \"multi\n  line\"\n",
	"a: [1,\n  2]\n",
	"a:\tb\n",
	"a: 1\r\nb: 2\r\n",
	"a: |+\n  keep\n\n",
	"a: |2\n   x\n",
	"a: >\n  x\n    more indented\n",
	"a: |\n\n  leading empty\n",
	"? a\n: b\n",
	"- a\n- b\n",
	"plain scalar\n",
	"[a, b]\n",
	"{\"apiVersion\": \"v1\"}\n",
	"a: b: c\n",
	"a:\n  b: 1\n c: 2\n",
	"a: 1\n  b: 2\n",
	"a:\n- - x\n",
	"a:\n-\nb: 1\n",
	"a: 1\n...\n",
	"a: 1\n--- x\n",
	"%YAML 1.1\n---\na: 1\n",
	"a: [1, 2,]\n",
	"a: {b}\n",
	"a: {b:1}\n",
	"a: \"\\N\"\n",
	"a: @x\n",
	"a: 'x'y\n",
	"a: .inf\n",
	"a: |\n",
	"~: a\n",
	"-x: a\n",
	"- x\n",
	"a: -\n",
	"a: [a]b\n",
	"a: 日本語: no\n",
	"a: \"\\/\"\n",
}

func TestFastDecodeForms(t *testing.T) {
	for _, doc := range fastRead {
		if !fastAgrees(t, fmt.Sprintf("%q", doc), []byte(doc)) {
			t.Errorf("the fast path does not read %q", doc)
		}
	}
	for _, doc := range fastDeclined {
		if fastAgrees(t, fmt.Sprintf("%q", doc), []byte(doc)) {
			t.Errorf("the fast path reads %q, which it must leave to yaml.v3", doc)
		}
	}
}

// TestFastDecodeMatchesYAML holds the fast path to yaml.v3's on every document of the
// test corpora, values and positions.
func TestFastDecodeMatchesYAML(t *testing.T) {
	read, all := 0, 0
	eachCorpusFile(t, func(path string, data []byte) {
		data, err := checkText(data)
		if err != nil {
			return
		}
		for _, c := range splitDocuments(data) {
			if blank(c.data) {
				continue
			}
			all++
			if fastAgrees(t, fmt.Sprintf("%s:%d", path, c.firstLine), c.data) {
				read++
			}
		}
	})
	t.Logf("the fast path read %d of %d documents", read, all)
	if read < all/2 {
		t.Errorf("the fast path read only %d of %d documents", read, all)
	}
}

// TestFastDecodeReadsBenchmarkCorpus: the benchmark's corpus (bench/gen) is what most
// manifests look like, and the fast path must read all of it, as yaml.v3 does.
func TestFastDecodeReadsBenchmarkCorpus(t *testing.T) {
	dir := t.TempDir()
	if _, err := gen.Generate(dir, 300, 7); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, c := range splitDocuments(data) {
			if blank(c.data) {
				continue
			}
			n++
			if !fastAgrees(t, fmt.Sprintf("%s:%d", p, c.firstLine), c.data) {
				t.Errorf("%s:%d: the fast path does not read this document:\n%s", p, c.firstLine, c.data)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 300 {
		t.Fatalf("only %d documents generated", n)
	}
}

// TestFastObjectsLocate: an object read by the fast path is placed, and places its
// paths, as one read by yaml.v3 is, while its positions are held and after.
func TestFastObjectsLocate(t *testing.T) {
	doc := []byte("# leading\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    securityContext:\n      capabilities: {drop: [ALL]}\n")
	set := Parse("pod.yaml", doc)
	if len(set.Objects) != 1 || len(set.Errors) > 0 {
		t.Fatalf("objects %d, errors %v", len(set.Objects), set.Errors)
	}
	o := set.Objects[0]
	if !o.src.fast {
		t.Fatal("the fast path did not read the pod")
	}
	if o.Line != 2 || o.Column != 1 {
		t.Errorf("object at %d:%d, want 2:1", o.Line, o.Column)
	}
	path := []any{"spec", "containers", 0, "securityContext", "capabilities", "drop", 0}
	want := Position{Line: 10, Column: 29}
	if got := o.Locate(path); got != want {
		t.Errorf("held: %+v, want %+v", got, want)
	}
	o.ReleaseText()
	if got := o.Locate(path); got != want {
		t.Errorf("read again: %+v, want %+v", got, want)
	}
}

// FuzzFastDecode: on any input, the fast path either declines it or reads it as yaml.v3
// does, values and positions, and never panics.
func FuzzFastDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	for _, s := range append(append([]string{}, fastRead...), fastDeclined...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data, err := checkText(data)
		if err != nil {
			return
		}
		for _, c := range splitDocuments(data) {
			if !blank(c.data) {
				fastAgrees(t, "input", c.data)
			}
		}
	})
}

// TestFastDecodeCountsAsDecoder: the fast path counts a document's values as the
// decoder does, so a document just over the limit goes to yaml.v3, which refuses it,
// and one at the limit is read by both.
func TestFastDecodeCountsAsDecoder(t *testing.T) {
	// A document node, a mapping, and 2 per entry.
	doc := func(entries int) []byte {
		var b bytes.Buffer
		for i := range entries {
			fmt.Fprintf(&b, "k%d: v\n", i)
		}
		return b.Bytes()
	}
	at := (maxValues - 2) / 2
	if _, _, ok := fastDecode(doc(at), MapBuilder{}, &stacks{}, false); !ok {
		t.Errorf("the fast path declines a document of %d values", 2+2*at)
	}
	if _, err := decodeChunk(doc(at)); err != nil {
		t.Errorf("the decoder refuses a document of %d values: %v", 2+2*at, err)
	}
	if _, _, ok := fastDecode(doc(at+1), MapBuilder{}, &stacks{}, false); ok {
		t.Errorf("the fast path reads a document of %d values", 2+2*(at+1))
	}
	if _, err := decodeChunk(doc(at + 1)); err == nil {
		t.Errorf("the decoder reads a document of %d values", 2+2*(at+1))
	}
}
