package kustomize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wardsec/ward/pkg/manifest"
)

// writeTree writes files (path → content) under a new temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// chdir runs the test in dir, so that paths are shown relative to it as on a command
// line.
func chdir(t *testing.T, dir string) {
	t.Helper()
	t.Chdir(dir)
}

type placed struct {
	File       string
	Line, Col  int
	Kind       string
	Namespace  string
	Name       string
	HasOrigin  bool
	Annotation string
}

func describe(objs []*manifest.Object) []placed {
	var out []placed
	for _, o := range objs {
		_, has := o.Annotations()[OriginAnnotation]
		out = append(out, placed{
			File: o.File, Line: o.Line, Col: o.Column, Kind: o.Kind(), Namespace: o.Namespace(), Name: o.Name(),
			HasOrigin: has, Annotation: o.Annotations()["team"],
		})
	}
	return out
}

func TestRenderExampleOverlay(t *testing.T) {
	chdir(t, "../..")
	res := Render(t.Context(), []string{"examples/kustomize/base", "examples/kustomize/overlays/prod"})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	// The base is a base of the overlay: rendered only through it.
	if diff := cmp.Diff([]string{"examples/kustomize/base"}, res.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	want := []placed{
		{File: "examples/kustomize/base/deployment.yaml", Line: 3, Col: 1, Kind: "Deployment", Namespace: "shop-prod", Name: "prod-web"},
		{File: "examples/kustomize/base/service.yaml", Line: 1, Col: 1, Kind: "Service", Namespace: "shop-prod", Name: "prod-web"},
		{File: "examples/kustomize/base/networkpolicy.yaml", Line: 3, Col: 1, Kind: "NetworkPolicy", Namespace: "shop-prod", Name: "prod-default-deny"},
		{File: "examples/kustomize/base/networkpolicy.yaml", Line: 11, Col: 1, Kind: "NetworkPolicy", Namespace: "shop-prod", Name: "prod-web-from-ingress"},
	}
	got := describe(res.Objects)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	// 2 kustomizations, 3 resource files, 1 patch.
	if res.Files != 6 {
		t.Errorf("files = %d, want 6", res.Files)
	}
	// The rendered object is judged (the patch's replicas, the overlay's labels), and
	// placed by walking the base's text: containers[0] exists there, capabilities not.
	var deploy *manifest.Object
	for _, o := range res.Objects {
		if o.Kind() == "Deployment" {
			deploy = o
		}
	}
	spec := deploy.Value["spec"].(map[string]any)
	if r := spec["replicas"]; r == nil || r.(interface{ String() string }).String() != "3" {
		t.Errorf("replicas = %v, want the patch's 3", r)
	}
	pos := deploy.Locate([]any{"spec", "template", "spec", "containers", 0, "securityContext", "capabilities", "drop"})
	if pos != (manifest.Position{Line: 22, Column: 11}) {
		t.Errorf("drop list placed at %+v, want base/deployment.yaml 22:11 (securityContext)", pos)
	}
}

func TestRenderTracing(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"base/kustomization.yaml": "resources: [pods.yaml]\nconfigMapGenerator:\n  - name: settings\n    literals: [a=b]\n",
		"base/pods.yaml": "# two pods of the same kind in one file\n" +
			"apiVersion: v1\nkind: Pod\nmetadata:\n  name: api\n  annotations: {team: shop}\nspec:\n  containers: [{name: c, image: i}]\n" +
			"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: api-worker\nspec:\n  containers: [{name: c, image: i}]\n",
		"app/kustomization.yaml":  "namespace: prod\nnamePrefix: x-\nnameSuffix: -y\nresources: [../base]\n",
		"keep/kustomization.yaml": "buildMetadata: [originAnnotations]\nresources: [pod.yaml]\n",
		"keep/pod.yaml":           "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i}]}\n",
	})
	chdir(t, dir)
	res := Render(t.Context(), []string{"app", "keep"})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	got := describe(res.Objects)
	for i := range got {
		if got[i].Kind == "ConfigMap" {
			got[i].Name = got[i].Name[:len("x-settings-y")] // drop the content hash
		}
	}
	want := []placed{
		// "x-api-worker-y" contains both "api" and "api-worker": the longer name wins.
		{File: "base/pods.yaml", Line: 2, Col: 1, Kind: "Pod", Namespace: "prod", Name: "x-api-y", Annotation: "shop"},
		{File: "base/pods.yaml", Line: 10, Col: 1, Kind: "Pod", Namespace: "prod", Name: "x-api-worker-y"},
		// Generated: placed at the kustomization that configured it.
		{File: "base/kustomization.yaml", Line: 1, Col: 1, Kind: "ConfigMap", Namespace: "prod", Name: "x-settings-y"},
		// The kustomization asked for origin annotations itself: they stay.
		{File: "keep/pod.yaml", Line: 1, Col: 1, Kind: "Pod", Name: "p", HasOrigin: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "app", "kustomization.yaml")); err != nil || strings.Contains(string(b), "buildMetadata") {
		t.Errorf("the kustomization on disk was changed: %q, %v", b, err)
	}
}

func TestRenderErrors(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"broken/kustomization.yaml": "resources: [missing.yaml]\n",
		"comp/kustomization.yaml":   "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches: [{path: p.yaml}]\n",
		"comp/p.yaml":               "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
		"none/readme.yaml":          "a: b\n",
	})
	chdir(t, dir)
	res := Render(t.Context(), []string{"broken", "comp", "none"})
	if len(res.Objects) != 0 {
		t.Errorf("objects: %v", describe(res.Objects))
	}
	// A component nothing uses is skipped, not an error.
	if diff := cmp.Diff([]string{"comp"}, res.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if len(res.Errors) != 2 {
		t.Fatalf("errors = %v, want 2", res.Errors)
	}
	if e := res.Errors[0]; e.File != filepath.Join("broken", "kustomization.yaml") || !strings.Contains(e.Err.Error(), "kustomize build broken") || !strings.Contains(e.Err.Error(), "missing.yaml") {
		t.Errorf("error = %v, want one naming the kustomization and the missing file", e)
	}
	if e := res.Errors[1]; e.File != "none" || !strings.Contains(e.Err.Error(), "no kustomization file") {
		t.Errorf("error = %v", e)
	}
}

func TestRenderComponent(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"base/kustomization.yaml": "resources: [pod.yaml]\n",
		"base/pod.yaml":           "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i}]}\n",
		"comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches: [{path: p.yaml}]\n",
		"comp/p.yaml":             "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: true}\n",
		"app/kustomization.yaml":  "resources: [../base]\ncomponents: [../comp]\n",
	})
	chdir(t, dir)
	res := Render(t.Context(), []string{"app", "base", "comp"})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	if diff := cmp.Diff([]string{"base", "comp"}, res.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if len(res.Objects) != 1 || res.Objects[0].File != filepath.Join("base", "pod.yaml") {
		t.Fatalf("objects = %v", describe(res.Objects))
	}
	if hn := res.Objects[0].Value["spec"].(map[string]any)["hostNetwork"]; hn != true {
		t.Errorf("the component's patch was not applied: hostNetwork = %v", hn)
	}
}

func TestWithOriginAnnotations(t *testing.T) {
	cases := []struct {
		name, in string
		had      bool
		want     string
	}{
		{"none", "resources: [a.yaml]\n", false, "resources: [a.yaml]\nbuildMetadata:\n    - originAnnotations\n"},
		{"other option", "buildMetadata: [managedByLabel]\n", false, "buildMetadata: [managedByLabel, originAnnotations]\n"},
		{"present", "buildMetadata: [originAnnotations]\n", true, "buildMetadata: [originAnnotations]\n"},
		{"not a mapping", "- a\n", false, "- a\n"},
		{"broken", "a: [\n", false, "a: [\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, had := withOriginAnnotations([]byte(tc.in))
			if had != tc.had || string(out) != tc.want {
				t.Errorf("got (%q, %v), want (%q, %v)", out, had, tc.want, tc.had)
			}
		})
	}
}

func TestWithoutOrigin(t *testing.T) {
	only := map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p", "annotations": map[string]any{OriginAnnotation: "path: a.yaml\n"}}}
	got, err := withoutOrigin(manifest.MapBuilder{}, only)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p"}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := only["metadata"].(map[string]any)["annotations"]; !ok {
		t.Error("the input was changed")
	}
	two := map[string]any{"metadata": map[string]any{"annotations": map[string]any{OriginAnnotation: "x", "a": "b"}}}
	got, err = withoutOrigin(manifest.MapBuilder{}, two)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"metadata": map[string]any{"annotations": map[string]any{"a": "b"}}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
