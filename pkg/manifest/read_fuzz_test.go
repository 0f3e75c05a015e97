package manifest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fuzz targets of the manifest reader. Their seeds (real manifests from the
// repository, and the bad inputs of badinput_test.go) and the corpus entries under
// testdata/fuzz run in plain go test; hack/fuzz.sh runs them for longer.

// fuzzSeeds are the repository's manifests, plus hand-written inputs that reach the
// corners of the reader: lists, aliases and merge keys, duplicate keys, JSON, bad bytes.
func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	var seeds [][]byte
	for _, root := range []string{"testdata", "../../examples", "../../policies"} {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err // a root that is missing: no seeds from it
			}
			if d.IsDir() || !manifestExt(p) {
				return nil
			}
			if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
				seeds = append(seeds, data)
			}
			return nil
		})
	}
	if len(seeds) < 10 {
		f.Fatalf("only %d seed manifests found", len(seeds))
	}
	for _, s := range []string{
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n- 3\n",
		"apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n  spec: {containers: [{name: c}]}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nitems: [{kind: List, items: [{apiVersion: v1, kind: Pod}]}]\n",
		"a: &a {x: 1}\nb:\n  <<: [*a, {y: 2}]\n  x: 3\nc: *a\n",
		"apiVersion: v1\nkind: Pod\nspec:\n  x: 1\n  x: 2\n",
		"{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"j\"}}\ngarbage\n",
		"---\n---\n# c\n---\napiVersion: v1\nkind: ConfigMap\n...\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n",
		"a: \"caf\xe9\"\n",
		"\ufeffapiVersion: v1\nkind: ConfigMap\n",
		"\xff\xfea\x00:\x00",
		billionLaughs(4),
		"$schema: https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\nresources:\n- type: Microsoft.ContainerService/managedClusters\n  name: aks\n  properties:\n    apiServerAccessProfile:\n      authorizedIPRanges: [10.0.0.1/8]\n",
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// FuzzRead feeds bytes to the reader as standard input and checks what it makes of
// them: it never panics; every object and error it reports lies within the input's
// lines; and locating any path in any object, existing or not, never panics and lands
// within the input's lines.
func FuzzRead(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, "spec.containers.0.securityContext")
	}
	f.Add([]byte("a: [1, 2]\n"), "a.1.x.-1.9999999999999999999")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		set := Read(t.Context(), []string{StdinName}, Options{Stdin: bytes.NewReader(data), MaxFileSize: 1 << 20})
		lines := bytes.Count(data, []byte{'\n'}) + 1
		for _, e := range set.Errors {
			if e.Line < 0 || e.Line > lines || e.Err == nil {
				t.Fatalf("error %v at line %d of %d", e, e.Line, lines)
			}
		}
		extra := fuzzPath(path)
		for _, o := range set.Objects {
			if o.Line < 1 || o.Line > lines || o.Column < 1 {
				t.Fatalf("object %s/%s at %d:%d of %d lines", o.Kind(), o.Name(), o.Line, o.Column, lines)
			}
			_, _, _, _ = o.APIVersion(), o.Kind(), o.Name(), o.Namespace()
			_ = o.Annotations()
			check := func(p []any) {
				pos := o.Locate(p)
				if pos.Line < 1 || pos.Line > lines || pos.Column < 1 {
					t.Fatalf("Locate(%v) = %+v, outside the input's %d lines", p, pos, lines)
				}
				// The nodes (or the fast path's positions) of the first parse must place
				// a path where a fresh parse with yaml.v3 does.
				if o.src != nil && (o.src.held != nil || o.src.positions != nil) {
					if parsed := fresh(o).Locate(p); parsed != pos {
						t.Fatalf("Locate(%v): the first parse says %+v, a fresh one %+v", p, pos, parsed)
					}
				}
			}
			check(extra)
			n := 0
			eachPath(o.Value, nil, func(p []any) bool {
				check(p)
				n++
				return n < 200
			})
		}
	})
}

// fuzzPath turns "a.0.b" into an object path: numbers become indexes.
func fuzzPath(s string) []any {
	if s == "" {
		return nil
	}
	var p []any
	for e := range strings.SplitSeq(s, ".") {
		if i, err := strconv.Atoi(e); err == nil {
			p = append(p, i)
		} else {
			p = append(p, e)
		}
	}
	return p
}

// eachPath calls fn with the path of every value below v, depth first, until fn returns
// false.
func eachPath(v any, prefix []any, fn func([]any) bool) bool {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			p := append(clone(prefix), k)
			if !fn(p) || !eachPath(x[k], p, fn) {
				return false
			}
		}
	case []any:
		for i, e := range x {
			p := append(clone(prefix), i)
			if !fn(p) || !eachPath(e, p, fn) {
				return false
			}
		}
	}
	return true
}

// FuzzDecodeDifferential checks ward's decoder against sigs.k8s.io/yaml, which kubectl
// uses to turn YAML into the JSON the API server gets, with the helpers of
// decode_test.go: on every document both accept, the values must be equal, so that no
// field reads one way to the rules and another to the cluster. The documents are the
// chunks ward splits a file into, as ward decodes them. Where one side rejects a document
// there is nothing to compare: ward's refusals (duplicate keys, its limits, non-UTF-8
// encodings) are deliberate, and kubectl rejecting what ward lints hides nothing.
func FuzzDecodeDifferential(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	for _, s := range []string{
		"z: ON\na: yes\nb: no\nc: on\nd: off\ne: y\nf: N\ng: True\nh: \"yes\"\n",
		"a: 017\nb: 0x1F\nc: 1_000\nd: 1.5\ne: 1e5\nf: .5\ng: -.5\nh: +12\ni: 0b101\nj: 18446744073709551615\n",
		"1: a\ntrue: b\n1.5: d\n0x10: f\n",
		"a: !!str 3\nb: !!int \"3\"\nc: !!float 3\nd: !custom hello\ne: !!binary aGVsbG8=\nf: !!bool yes\n",
		"a: 2001-12-14\nb: 2001-12-14T21:59:43.10Z\nc: !!timestamp 2001-12-14\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range splitDocuments(data) {
			if blank(c.data) {
				continue
			}
			want, refErr := reference(c.data)
			got, err := decodeChunk(c.data)
			if refErr != nil || err != nil {
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("decoded values differ (-sigs.k8s.io/yaml +ward):\n%s\ndocument:\n%q", diff, c.data)
			}
		}
	})
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
