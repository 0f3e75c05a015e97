// Package integrations runs the real ward binary the way the places people lint run it:
// SARIF validated against the OASIS schema, JUnit XML read as a CI server reads it,
// GitHub workflow commands, a Kustomize overlay, helm template on standard input, and
// Debian's real pre-commit driving the hook of this checkout through git commits.
package integrations

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	wardBin = filepath.Join(dir, "ward")
	build := exec.Command("go", "build", "-o", wardBin, "./cmd/ward")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ward:", err)
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
	cmd := exec.CommandContext(t.Context(), wardBin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run ward: %v", err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

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
