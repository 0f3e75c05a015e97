// Package integrations runs the real ward binary the way the places people lint run it:
// SARIF validated against the OASIS schema, JUnit XML read as a CI server reads it,
// GitHub workflow commands, a Kustomize overlay, helm template on standard input, and
// Debian's real pre-commit driving the hook of this checkout through git commits.
package integrations

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/wardsec/ward/internal/wardtest"
)

// repoRoot is the checkout; ward runs there so paths in its output are repo-relative.
const repoRoot = "../.."

// wardBin is the ward binary, built once.
var wardBin string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ward-integrations")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(os.Stderr, "remove the test binary:", err)
		}
	}()
	if wardBin, err = wardtest.Build(repoRoot, dir, false); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

type result struct {
	stdout, stderr string
	code           int
}

// ward runs the binary in dir with args and stdin.
func ward(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	r := wardtest.Run(t, wardBin, dir, stdin, args...)
	return result{stdout: r.Stdout, stderr: r.Stderr, code: r.Code}
}

// writeTree writes files (path → content) under a new temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	wardtest.WriteTree(t, dir, files)
	return dir
}

// mixed is a small repository with what each format must carry: errors, a warning (a
// config lowers namespace-scoped-ingress), an exemption, a YAML syntax error, and file
// names with a space and a comma.
var mixed = map[string]string{
	".ward.yaml": "rules:\n  namespace-scoped-ingress:\n    severity: warning\n",
	"shop/web app.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
        - name: debug
          image: busybox
          securityContext:
            capabilities:
              drop: [ALL]
              add: [NET_RAW]
`,
	"shop/policies,v2.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: shop
spec:
  podSelector: {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: from-anywhere
  namespace: shop
spec:
  podSelector: {}
  ingress:
    - from:
        - namespaceSelector: {}
`,
	"shop/exempt.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: pinger
  namespace: shop
  annotations:
    ignore.ward.dev/drop-net-raw: "needs raw sockets: ping, traceroute"
spec:
  containers:
    - name: ping
      image: busybox
`,
	"broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [\n",
}
