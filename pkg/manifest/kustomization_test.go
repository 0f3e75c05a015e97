package manifest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadFindsKustomizations(t *testing.T) {
	dir := t.TempDir()
	obj := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
	for name, content := range map[string]string{
		"app/kustomization.yaml":          "resources: [x.yaml, sub]\n",
		"app/x.yaml":                      obj,
		"app/patches/p.yaml":              obj,
		"app/sub/Kustomization":           "resources: [y.yaml]\n",
		"app/sub/y.yaml":                  obj,
		"plain/z.yaml":                    obj,
		"plain/.hidden/kustomization.yml": "resources: []\n",
		"other/kustomization.yml":         "resources: []\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	cases := []struct {
		name           string
		paths          []string
		kustomize      bool
		kustomizations []string
		files          []string
	}{
		{"walk", []string{"."}, true, []string{"app", filepath.Join("app", "sub"), "other"}, []string{"plain/z.yaml"}},
		{"a file stands for its kustomization", []string{"app/x.yaml", "plain/z.yaml"}, true, []string{"app"}, []string{"plain/z.yaml"}},
		{"a file below a kustomization", []string{"app/patches/p.yaml"}, true, []string{"app"}, nil},
		{"a directory below a kustomization", []string{"app/patches"}, true, []string{"app"}, nil},
		{"the kustomization file", []string{"app/sub/Kustomization"}, true, []string{filepath.Join("app", "sub")}, nil},
		{"a kustomization directory is walked", []string{"app"}, true, []string{"app", filepath.Join("app", "sub")}, nil},
		{"off", []string{"app"}, false, nil, []string{"app/patches/p.yaml", "app/sub/y.yaml", "app/x.yaml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := Read(t.Context(), tc.paths, Options{Kustomize: tc.kustomize})
			if len(set.Errors) > 0 {
				t.Fatalf("errors: %v", set.Errors)
			}
			if diff := cmp.Diff(tc.kustomizations, set.Kustomizations); diff != "" {
				t.Errorf("kustomizations (-want +got):\n%s", diff)
			}
			var files []string
			seen := map[string]bool{}
			for _, o := range set.Objects {
				if f := filepath.ToSlash(o.File); !seen[f] {
					seen[f] = true
					files = append(files, f)
				}
			}
			if diff := cmp.Diff(tc.files, files); diff != "" {
				t.Errorf("files read (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithValueKeepsPositions(t *testing.T) {
	set := Parse("base.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n"))
	o := set.Objects[0]
	r := o.WithValue(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "x-p", "namespace": "prod"}})
	if r.File != "base.yaml" || r.Name() != "x-p" || o.Name() != "p" {
		t.Errorf("copy = %s %s, original %s", r.File, r.Name(), o.Name())
	}
	if pos := r.Locate([]any{"spec", "containers", 0, "securityContext"}); pos != (Position{Line: 7, Column: 7}) {
		t.Errorf("position %+v, want 7:7", pos)
	}
}
