package integrations

import (
	"encoding/json"
	"strings"
	"testing"
)

type jsonResult struct {
	Findings []struct {
		Rule   string `json:"rule"`
		File   string `json:"file"`
		Line   int    `json:"line"`
		Column int    `json:"column"`
		Object struct {
			Kind      string `json:"kind"`
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"object"`
		Path string `json:"path"`
	} `json:"findings"`
	Errors []struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Message string `json:"message"`
	} `json:"errors"`
	Summary struct {
		Files, Objects int
	} `json:"summary"`
}

func decode(t *testing.T, s string) jsonResult {
	t.Helper()
	var r jsonResult
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return r
}

func TestKustomizeOverlay(t *testing.T) {
	// The directory holds the base and the overlay: the overlay is rendered, the base
	// only through it, and the finding points at the base file that defines the object.
	r := ward(t, repoRoot, "", "lint", "-o", "json", "examples/kustomize")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", r.code, r.stderr)
	}
	res := decode(t, r.stdout)
	if len(res.Findings) != 1 || len(res.Errors) != 0 {
		t.Fatalf("findings %+v, errors %+v", res.Findings, res.Errors)
	}
	f := res.Findings[0]
	if f.Rule != "drop-net-raw" || f.File != "examples/kustomize/base/deployment.yaml" || f.Line != 22 || f.Column != 11 {
		t.Errorf("finding at %s:%d:%d (%s), want examples/kustomize/base/deployment.yaml:22:11 drop-net-raw", f.File, f.Line, f.Column, f.Rule)
	}
	if f.Object.Namespace != "shop-prod" || f.Object.Name != "prod-web" {
		t.Errorf("object %+v, want the rendered shop-prod/prod-web", f.Object)
	}

	// From the overlay's directory, as a developer runs it; text output.
	r = ward(t, repoRoot+"/examples/kustomize/overlays/prod", "", "lint")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "../../base/deployment.yaml:22:11: error drop-net-raw: ") {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}

	// --no-kustomize: plain files; the patch alone is a Deployment in namespace default.
	r = ward(t, repoRoot, "", "lint", "-o", "json", "--no-kustomize", "examples/kustomize/overlays/prod")
	res = decode(t, r.stdout)
	if len(res.Findings) != 1 || res.Findings[0].File != "examples/kustomize/overlays/prod/replicas.yaml" {
		t.Errorf("--no-kustomize: %+v", res.Findings)
	}
}

func TestKustomizeRenderError(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"app/kustomization.yaml": "resources: [deployment.yaml, missing.yaml]\n",
		"app/deployment.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
		"plain.yaml":             "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i}]}\n",
	})
	r := ward(t, dir, "", "lint", ".")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stdout %s", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "ward: app/kustomization.yaml: kustomize build app: ") || !strings.Contains(r.stderr, "missing.yaml") {
		t.Errorf("stderr %q does not name the kustomization and the missing file", r.stderr)
	}
	// The other files are still linted.
	if !strings.Contains(r.stdout, "plain.yaml:5:") && !strings.Contains(r.stdout, "plain.yaml:4:") {
		t.Errorf("plain.yaml was not linted: %s", r.stdout)
	}
}

// helmTemplate is the output of `helm template shop ./mychart` for the chart
// `helm create mychart` makes, trimmed: each document led by "---" and
// "# Source: mychart/templates/<file>", two documents from one template, and a test hook.
const helmTemplate = `---
# Source: mychart/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shop-mychart
  labels:
    helm.sh/chart: mychart-0.1.0
    app.kubernetes.io/name: mychart
    app.kubernetes.io/instance: shop
    app.kubernetes.io/version: "1.16.0"
    app.kubernetes.io/managed-by: Helm
automountServiceAccountToken: true
---
# Source: mychart/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: shop-mychart
  labels:
    helm.sh/chart: mychart-0.1.0
    app.kubernetes.io/name: mychart
    app.kubernetes.io/instance: shop
spec:
  type: ClusterIP
  ports:
    - port: 80
      targetPort: http
      protocol: TCP
      name: http
  selector:
    app.kubernetes.io/name: mychart
    app.kubernetes.io/instance: shop
---
# Source: mychart/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-mychart
  labels:
    helm.sh/chart: mychart-0.1.0
    app.kubernetes.io/name: mychart
    app.kubernetes.io/instance: shop
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: mychart
      app.kubernetes.io/instance: shop
  template:
    metadata:
      labels:
        app.kubernetes.io/name: mychart
        app.kubernetes.io/instance: shop
    spec:
      serviceAccountName: shop-mychart
      securityContext:
        {}
      containers:
        - name: mychart
          securityContext:
            {}
          image: "nginx:1.16.0"
          imagePullPolicy: IfNotPresent
          ports:
            - name: http
              containerPort: 80
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /
              port: http
---
# Source: mychart/templates/networkpolicy.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: shop-mychart-deny-all
spec:
  podSelector: {}
---
# Source: mychart/templates/networkpolicy.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: shop-mychart-web
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: mychart
  ingress:
    - from:
        - namespaceSelector: {}
---
# Source: mychart/templates/tests/test-connection.yaml
apiVersion: v1
kind: Pod
metadata:
  name: "shop-mychart-test-connection"
  labels:
    helm.sh/chart: mychart-0.1.0
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: busybox
      securityContext:
        capabilities:
          drop: [ALL]
      command: ['wget']
      args: ['shop-mychart:80']
  restartPolicy: Never
`

func TestHelmTemplateOnStdin(t *testing.T) {
	r := ward(t, repoRoot, helmTemplate, "lint", "-o", "json", "-")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", r.code, r.stderr)
	}
	res := decode(t, r.stdout)
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Rule+" "+f.File+":"+itoa(f.Line)+":"+itoa(f.Column)+" "+f.Path)
	}
	want := []string{
		"drop-net-raw mychart/templates/deployment.yaml:28:11 spec.template.spec.containers[0].securityContext.capabilities.drop",
		"namespace-scoped-ingress mychart/templates/networkpolicy.yaml:21:11 spec.ingress[0].from[0].namespaceSelector",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The lines are those of the files helm template --output-dir writes: each
	// document as "---", "# Source: NAME" and the manifest, appended to NAME's file.
	files := map[string]string{}
	for _, doc := range strings.Split(helmTemplate, "---\n")[1:] {
		name := strings.TrimPrefix(strings.SplitN(doc, "\n", 2)[0], "# Source: ")
		files[name] += "---\n" + doc
	}
	keys := map[string]string{"drop-net-raw": "securityContext:", "namespace-scoped-ingress": "- namespaceSelector:"}
	for _, f := range res.Findings {
		lines := strings.Split(files[f.File], "\n")
		if f.Line > len(lines) {
			t.Errorf("%s:%d: past the end of the file helm writes", f.File, f.Line)
			continue
		}
		line := lines[f.Line-1]
		if !strings.HasPrefix(strings.TrimLeft(line[min(f.Column-1, len(line)):], "- "), strings.TrimPrefix(keys[f.Rule], "- ")) {
			t.Errorf("%s:%d:%d is %q in the file helm writes, want %s", f.File, f.Line, f.Column, line, keys[f.Rule])
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
