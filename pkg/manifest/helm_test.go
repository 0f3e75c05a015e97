package manifest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// helmOutput is what `helm template shop ./mychart` prints for a chart with a service
// account, a service, a deployment and a template rendering two NetworkPolicies: each
// document led by "---" and "# Source:", documents in Helm's install order.
const helmOutput = `---
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
# Source: mychart/templates/networkpolicy.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
# Source: mychart/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: shop-mychart
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
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: mychart
  template:
    metadata:
      labels:
        app.kubernetes.io/name: mychart
    spec:
      serviceAccountName: shop-mychart
      containers:
        - name: mychart
          image: "nginx:1.16.0"
          securityContext:
            capabilities:
              drop: [CHOWN]
---
# Source: mychart/templates/networkpolicy.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web
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
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: busybox
      command: ['wget']
      args: ['shop-mychart:80']
  restartPolicy: Never
`

func TestHelmSourcePositions(t *testing.T) {
	set := Parse(StdinName, []byte(helmOutput))
	if len(set.Errors) > 0 {
		t.Fatalf("errors: %v", set.Errors)
	}
	type place struct {
		File       string
		Line, Col  int
		Kind, Name string
	}
	var got []place
	for _, o := range set.Objects {
		got = append(got, place{o.File, o.Line, o.Column, o.Kind(), o.Name()})
	}
	// Lines as helm template --output-dir writes each file: "---" on line 1,
	// "# Source:" on line 2, the object from line 3; a template's second document
	// follows its first (networkpolicy.yaml: the first object on lines 3-9, then "---"
	// on 10, "# Source:" on 11, the second object from 12).
	want := []place{
		{"mychart/templates/serviceaccount.yaml", 3, 1, "ServiceAccount", "shop-mychart"},
		{"mychart/templates/networkpolicy.yaml", 3, 1, "NetworkPolicy", "default-deny"},
		{"mychart/templates/service.yaml", 3, 1, "Service", "shop-mychart"},
		{"mychart/templates/deployment.yaml", 3, 1, "Deployment", "shop-mychart"},
		{"mychart/templates/networkpolicy.yaml", 12, 1, "NetworkPolicy", "allow-web"},
		{"mychart/templates/tests/test-connection.yaml", 3, 1, "Pod", "shop-mychart-test-connection"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	// A path inside a document is found at its line in the template's file.
	deploy := set.Objects[3]
	pos := deploy.Locate([]any{"spec", "template", "spec", "containers", 0, "securityContext", "capabilities", "drop"})
	if pos != (Position{Line: 23, Column: 15}) {
		t.Errorf("drop list at %+v, want 23:15", pos)
	}
	np := set.Objects[4]
	if pos := np.Locate([]any{"spec", "ingress", 0, "from", 0, "namespaceSelector"}); pos != (Position{Line: 22, Column: 11}) {
		t.Errorf("namespaceSelector at %+v, want 22:11", pos)
	}
}

func TestHelmSourceErrorsAndPlainDocuments(t *testing.T) {
	in := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n" +
		"---\n# Source: c/templates/bad.yaml\napiVersion: v1\nkind: [\n" +
		"---\n# a comment\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n" +
		"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n# Source: not/leading.yaml\n"
	set := Parse("rendered.yaml", []byte(in))
	if len(set.Errors) != 1 || set.Errors[0].File != "c/templates/bad.yaml" || set.Errors[0].Line != 4 {
		t.Errorf("errors = %v, want one at c/templates/bad.yaml:4", set.Errors)
	}
	var got []string
	for _, o := range set.Objects {
		got = append(got, o.File+":"+strconv.Itoa(o.Line)+" "+o.Name())
	}
	want := []string{"rendered.yaml:1 plain", "c/templates/cm.yaml:4 cm", "rendered.yaml:15 after"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

// TestHelmOutputDir reads a file as helm template --output-dir writes it: the file is
// the template's, so findings stay in it, at its own lines.
func TestHelmOutputDir(t *testing.T) {
	var file strings.Builder
	for _, doc := range strings.Split(helmOutput, "---\n")[1:] {
		if strings.HasPrefix(doc, "# Source: mychart/templates/networkpolicy.yaml\n") {
			file.WriteString("---\n" + doc)
		}
	}
	set := Parse("out/mychart/templates/networkpolicy.yaml", []byte(file.String()))
	var got []string
	for _, o := range set.Objects {
		got = append(got, o.File+":"+strconv.Itoa(o.Line)+" "+o.Name())
	}
	want := []string{"out/mychart/templates/networkpolicy.yaml:3 default-deny", "out/mychart/templates/networkpolicy.yaml:12 allow-web"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}
