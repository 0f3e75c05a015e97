package manifest

import (
	"fmt"
	"testing"
)

// paths lists every path into v, each also followed by a step that is not there, and
// the sequence indexes once more as strings (which walk does not follow).
func paths(v any, prefix []any, out *[][]any) {
	with := func(p any) []any { return append(clone(prefix), p) }
	*out = append(*out, with("no-such-field"), with(999), with(-1))
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			*out = append(*out, with(k))
			paths(x[k], with(k), out)
		}
	case []any:
		for i, e := range x {
			*out = append(*out, with(i), with(fmt.Sprint(i)))
			paths(e, with(i), out)
		}
	}
}

// forgetNodes makes o's Locate parse its text again.
func forgetNodes(o *Object) {
	o.ReleasePositions()
}

// checkHeldAgrees wants every path of every object of the file placed the same while
// the nodes of the first parse are held (as ward lint places its first findings) and
// after they are gone, when Locate parses the text again.
func checkHeldAgrees(t *testing.T, name string, data []byte) int {
	t.Helper()
	set := Parse(name, data)
	n := 0
	for _, o := range set.Objects {
		if o.src == nil || (o.src.held == nil && o.src.positions == nil) {
			continue // an ARM template's resources: placed by their own walk
		}
		yamlPath := fresh(o) // placed on yaml.v3's nodes, also when the fast path read o
		var ps [][]any
		ps = append(ps, nil)
		paths(o.Value, nil, &ps)
		got := make([]Position, len(ps))
		for i, p := range ps {
			got[i] = o.Locate(p)
		}
		forgetNodes(o)
		for i, p := range ps {
			if want := o.Locate(p); got[i] != want {
				t.Errorf("%s: object at line %d, path %v: the first parse says %d:%d, parsing again %d:%d", name, o.Line, p, got[i].Line, got[i].Column, want.Line, want.Column)
			}
			if want := yamlPath.Locate(p); got[i] != want {
				t.Errorf("%s: object at line %d, path %v: the first parse says %d:%d, yaml.v3's nodes %d:%d", name, o.Line, p, got[i].Line, got[i].Column, want.Line, want.Column)
			}
			n++
		}
	}
	return n
}

// TestLocateHeldAgreesWithReparse compares, over every document of the test corpora,
// every path of every object (and steps that are not there) placed on the nodes of the
// first parse and on those of parsing again.
func TestLocateHeldAgreesWithReparse(t *testing.T) {
	n := 0
	eachCorpusFile(t, func(p string, data []byte) { n += checkHeldAgrees(t, p, data) })
	// Shapes the corpora may lack: aliases and merges, keys that decode differently
	// from their text, CRLF and a BOM, flow style, a List, an int-like key.
	for name, doc := range map[string]string{
		"alias.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: a, labels: &l {x: y}}\nspec:\n  nodeSelector: *l\n  x:\n    <<: *l\n    z: 1\n",
		"keys.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  on: \"yes\"\n  \"on\": x\n  0: zero\n  0x10: sixteen\n",
		"crlf.yaml":  "\ufeffapiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: a\r\nspec:\r\n  containers:\r\n  - name: c\r\n    image: i\r\n",
		"cr.yaml":    "apiVersion: v1\rkind: Pod\rmetadata:\r  name: a\rspec:\r  containers: [{name: c}]\r",
		"list.yaml":  "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec: {containers: [{name: c}, {name: d, image: x}]}\n",
		"flow.json":  `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "securityContext": {"capabilities": {"drop": ["ALL"]}}}]}}`,
	} {
		n += checkHeldAgrees(t, name, []byte(doc))
	}
	if n < 1000 {
		t.Fatalf("only %d paths compared", n)
	}
}

// fresh returns a copy of o whose Locate parses its text anew with yaml.v3: no nodes
// held, none shared with o, whichever path read it.
func fresh(o *Object) *Object {
	c := *o
	s := o.src
	c.src = &source{data: s.data, firstLine: s.firstLine, docIndex: s.docIndex, offset: s.offset}
	return &c
}
