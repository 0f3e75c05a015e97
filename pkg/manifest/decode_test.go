package manifest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"

	"github.com/wardsec/ward/internal/wardtest"
)

// reference decodes one document the way kubectl does.
func reference(doc []byte) (any, error) { return wardtest.KubectlDecode(doc) }

// differential compares one document; duplicate keys are the one intended difference:
// kubectl keeps the last, ward refuses the document so that no field hides.
func differential(t *testing.T, doc []byte) {
	t.Helper()
	want, refErr := reference(doc)
	got, err := decodeChunk(doc)
	if err != nil && strings.Contains(err.Error(), "duplicate key") {
		return
	}
	if (refErr != nil) != (err != nil) {
		t.Fatalf("errors differ:\nsigs.k8s.io/yaml: %v\nward:             %v\ndoc:\n%s", refErr, err, doc)
	}
	if err != nil {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("decoded values differ (-sigs.k8s.io/yaml +ward):\n%s\ndoc:\n%s", diff, doc)
	}
}

func TestDecodeMatchesSigsYAML(t *testing.T) {
	cases := map[string]string{
		"yaml11 booleans":    "z: ON\na: yes\nb: no\nc: on\nd: off\ne: y\nf: N\ng: True\nh: \"yes\"\n",
		"numbers":            "a: 017\nb: 0x1F\nc: 1_000\nd: 1.5\ne: 1e5\nf: .5\ng: -.5\nh: +12\ni: 0b101\nj: 18446744073709551615\nk: 99999999999999999999\nl: 1.0\nm: 0o17\n",
		"nulls":              "a: ~\nb: null\nc:\nd: Null\ne: \"\"\n",
		"timestamps":         "a: 2001-12-14\nb: 2001-12-14T21:59:43.10Z\nc: !!timestamp 2001-12-14\n",
		"keys":               "1: a\ntrue: b\non: c\n1.5: d\nyes: e\n0x10: f\n",
		"tags":               "a: !!str 3\nb: !!int \"3\"\nc: !!float 3\nd: !custom hello\ne: !!binary aGVsbG8=\nf: !!bool yes\n",
		"bad tag":            "a: !!int hello\n",
		"nan":                "a: .nan\n",
		"inf":                "a: -.Inf\n",
		"anchors":            "base: &b {x: 1, y: [1, 2]}\nother: *b\n",
		"merge":              "base: &b {x: 1, y: 2}\nm:\n  x: 0\n  <<: *b\n  z: 3\nn:\n  <<: [*b, {y: 9, w: 1}]\n  y: 5\n",
		"merge not map":      "a: &s [1]\nb:\n  <<: *s\n",
		"null key":           "~: a\n",
		"seq key":            "[1, 2]: a\n",
		"flow":               "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: 'x:1'}]}}\n",
		"strings":            "a: 'single ''quoted'''\nb: \"dq \\u00e9 \\t\"\nc: |\n  literal\n  text\nd: >\n  folded\n  text\ne: plain text here\nf: 1.2.3\ng: 0.0.0.0/0\nh: 10.0.0.1\n",
		"json":               "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"spec\": {\"ports\": [{\"port\": 80}], \"x\": 1.50, \"y\": -0, \"z\": 1E3}}",
		"duplicate":          "a: 1\na: 2\n",
		"empty":              "",
		"scalar doc":         "hello\n",
		"sequence doc":       "- a\n- b\n",
		"deep strings":       "a: -\nb: +\nc: .\nd: ---x\ne: 2001-13-45\nf: 1_0.5\ng: 0x\nh: 12:30\ni: 1:20:30\n",
		"special floats":     "a: 1e-7\nb: 1e21\nc: 123456789012345678901234567890.5\nd: 6.02e+23\n",
		"self alias":         "a: &x\n  b: *x\n",
		"quoted merge key":   "base: &b {x: 1}\nm:\n  \"<<\": *b\n",
		"tab in value":       "a: \"x\ty\"\n",
		"crlf":               "a: 1\r\nb:\r\n  - x\r\n",
		"document end":       "a: 1\n...\n",
		"int overflow float": "a: 1e400\n",
		"anchored tag":       "a: &x ! 12\nb: &y   !\t7\nc: [&z, w!]\nd: [&v ! 1, ! 2]\n",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) { differential(t, []byte(doc)) })
	}
}

// TestDecodeCorporaMatchSigsYAML runs the differential over every document of the test
// corpora: the project's own testdata and examples, and the third-party corpus beside the
// repository where it is present.
func TestDecodeCorporaMatchSigsYAML(t *testing.T) {
	n := 0
	eachCorpusFile(t, func(p string, data []byte) {
		data, err := checkText(data)
		if err != nil {
			return // not text: the reader's own tests cover it
		}
		for i, c := range splitDocuments(data) {
			if blank(c.data) {
				continue
			}
			n++
			t.Run(p+"#"+string(rune('0'+i%10)), func(t *testing.T) { differential(t, c.data) })
		}
	})
	if n < 10 {
		t.Fatalf("only %d documents found for the differential test", n)
	}
}

// corpusRoots are the test corpora: the project's own testdata, examples and rule
// fixtures, and the third-party corpus beside the repository where it is present.
var corpusRoots = []string{"testdata", "../../examples", "../../policies", "../../../shared/corpus"}

// eachCorpusFile calls fn with the path and bytes of every manifest file of the test
// corpora; a root that is missing is skipped.
func eachCorpusFile(t *testing.T, fn func(path string, data []byte)) {
	t.Helper()
	for _, root := range corpusRoots {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err // a root that is missing (the third-party corpus): skip it
			}
			if d.IsDir() || !manifestExt(p) {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Errorf("read %s: %v", p, err)
				return nil
			}
			fn(p, data)
			return nil
		})
	}
}

func TestDuplicateKeyRejected(t *testing.T) {
	set := Parse("dup.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers: []\n  containers:\n  - name: hidden\n"))
	if len(set.Errors) != 1 {
		t.Fatalf("want 1 error, got %v", set.Errors)
	}
	e := set.Errors[0]
	if e.Line != 7 || !strings.Contains(e.Error(), `duplicate key "containers" (first at line 6)`) {
		t.Fatalf("got %v (line %d)", e, e.Line)
	}
	if len(set.Objects) != 0 {
		t.Fatalf("a document with duplicate keys must not be linted: %v", set.Objects)
	}
}

func TestAliasBombBounded(t *testing.T) {
	doc := `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`
	set := Parse("bomb.yaml", []byte(doc))
	if len(set.Errors) != 1 || !strings.Contains(set.Errors[0].Error(), "alias bomb") {
		t.Fatalf("want an alias bomb error, got %v", set.Errors)
	}
}

func TestDeepNestingBounded(t *testing.T) {
	doc := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	set := Parse("deep.yaml", []byte("a: "+doc+"\n"))
	if len(set.Errors) != 1 {
		t.Fatalf("want one error, got %v", set.Errors)
	}
}

// decodeChunk decodes the first YAML document of doc as ward does, with its error
// (syntax or decoding) if it has one.
func decodeChunk(doc []byte) (any, error) {
	data, err := checkText(doc)
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	d := decoder{b: MapBuilder{}, src: sourceText{data: data}}
	return d.decode(&n, 0)
}

// TestFileResultKeepsNoDecoderState: Read keeps every file's result to the end of a
// run, so a result must not hold the decoder's stacks, whose arrays still point at the
// last document's nodes and values.
func TestFileResultKeepsNoDecoderState(t *testing.T) {
	res := parseFile("f.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n---\nitems: [1, {x: [2]}]\n"), MapBuilder{})
	if len(res.errs) > 0 || len(res.objects) != 1 {
		t.Fatalf("errors %v, %d objects", res.errs, len(res.objects))
	}
	if s := res.stacks; s.keys != nil || s.vals != nil || s.knode != nil || s.items != nil {
		t.Errorf("the result holds the decoder's stacks: %d keys, %d values, %d key nodes, %d items", cap(s.keys), cap(s.vals), cap(s.knode), cap(s.items))
	}
}
