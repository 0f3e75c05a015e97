package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardsec/ward/pkg/report"
)

func TestKustomizeOverlayFindingsAtBase(t *testing.T) {
	eng, s := newEngine(t)
	t.Chdir("../..")
	res, err := Run(t.Context(), eng, Options{Paths: []string{"examples/kustomize"}, Settings: s, Kustomize: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %+v", res.Errors)
	}
	// The overlay is rendered; the base only through it (no second finding in namespace
	// default); the patch is never linted alone; default-deny is met by the base's
	// policy in the overlay's namespace.
	if len(res.Findings) != 1 {
		t.Fatalf("findings:%s", describe(res))
	}
	f := res.Findings[0]
	want := report.Finding{
		Rule: "drop-net-raw", Severity: "error", Message: `container "web" does not drop NET_RAW`,
		File: "examples/kustomize/base/deployment.yaml", Line: 22, Column: 11,
		Object: report.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop-prod", Name: "prod-web"},
		Path:   "spec.template.spec.containers[0].securityContext.capabilities.drop",
	}
	if f != want {
		t.Errorf("finding = %+v\nwant      %+v", f, want)
	}
	if res.Summary.Objects != 4 {
		t.Errorf("objects = %d, want the 4 rendered", res.Summary.Objects)
	}

	// --no-kustomize: the files are plain manifests, the patch among them.
	res, err = Run(t.Context(), eng, Options{Paths: []string{"examples/kustomize/overlays/prod"}, Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].File != "examples/kustomize/overlays/prod/replicas.yaml" || res.Findings[0].Rule != "default-deny" {
		t.Errorf("without kustomize, want the patch judged alone (default-deny in namespace default):%s", describe(res))
	}
}

func TestKustomizeRenderErrorIsInputError(t *testing.T) {
	eng, s := newEngine(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: [gone.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	res, err := Run(t.Context(), eng, Options{Paths: []string{"."}, Settings: s, Kustomize: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || res.Errors[0].File != "kustomization.yaml" || !strings.Contains(res.Errors[0].Message, "gone.yaml") {
		t.Errorf("errors = %+v, want one at kustomization.yaml naming gone.yaml", res.Errors)
	}
}

// TestInventoryForChangedFiles is the pre-commit hook's case: only the changed file is
// linted and reported, and the repository is the inventory for default-deny.
func TestInventoryForChangedFiles(t *testing.T) {
	eng, s := newEngine(t)
	dir := t.TempDir()
	files := map[string]string{
		"shop/policy.yaml": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\nspec: {podSelector: {}}\n",
		"shop/web.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    spec:\n" +
			"      containers: [{name: web, image: i, securityContext: {capabilities: {drop: [ALL]}}}]\n",
		"other/bad.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: other}\nspec: {containers: [{name: c, image: i}]}\n",
		// A Helm template is no manifest: a syntax error, but only context here.
		"chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    {{- include \"x\" . | nindent 4 }}\n",
		"broken.yaml":             "kind: [\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	run := func(inventory []string, paths ...string) *report.Result {
		if paths == nil {
			paths = []string{"shop/web.yaml"}
		}
		res, err := Run(t.Context(), eng, Options{Paths: paths, InventoryPaths: inventory, Settings: s, Kustomize: true})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// Alone, the changed file has no deny-all policy beside it.
	if res := run(nil); len(res.Findings) != 1 || res.Findings[0].Rule != "default-deny" {
		t.Errorf("without inventory:%s", describe(res))
	}
	// With the repository as inventory: the policy is found, and other/bad.yaml's
	// findings are not reported, nor the errors of files only read as inventory.
	if res := run([]string{"."}); len(res.Findings) != 0 || len(res.Errors) != 0 || res.Summary.Files != 1 || res.Summary.Objects != 1 {
		t.Errorf("with inventory: summary %+v, errors %+v%s", res.Summary, res.Errors, describe(res))
	}
	// A broken file that is linted reports its error once, not again as inventory.
	if res := run([]string{"."}, "broken.yaml"); len(res.Errors) != 1 || res.Errors[0].File != "broken.yaml" {
		t.Errorf("errors = %+v, want broken.yaml's once", res.Errors)
	}
}
