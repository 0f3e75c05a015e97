package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wardsec/ward/internal/wardtest"
	"github.com/wardsec/ward/pkg/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// wardBin is the ward binary built once for the CLI tests.
var wardBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "ward-cli-test")
	if err != nil {
		panic(err)
	}
	if wardBin, err = wardtest.Build(repoRoot, dir, false); err != nil {
		panic(err)
	}
	code := m.Run()
	_ = os.RemoveAll(dir) // a temporary directory; nothing to do if it stays
	os.Exit(code)
}

// repoRoot is where the CLI tests run ward, so paths in its output are repo-relative.
const repoRoot = "../.."

type result struct {
	stdout, stderr string
	code           int
}

// ward runs the built binary in dir with args and stdin.
func ward(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	r := wardtest.Run(t, wardBin, dir, stdin, args...)
	return result{stdout: r.Stdout, stderr: r.Stderr, code: r.Code}
}

func decodeJSON(t *testing.T, s string) report.Result {
	t.Helper()
	var r report.Result
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("output is not ward's JSON shape: %v\n%s", err, s)
	}
	return r
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/ward -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); if the change is right, go test ./cmd/ward -update:\n%s", name, diff)
	}
}

// TestGoldenExamples locks the JSON and text output of the bundled examples: the file,
// line, column, path and message of every finding.
func TestGoldenExamples(t *testing.T) {
	for _, tc := range []struct {
		name, golden string
		args         []string
		code         int
	}{
		{"json", "examples.json.golden", []string{"lint", "-o", "json", "examples/bad", "examples/good"}, exitFindings},
		{"text", "examples.txt.golden", []string{"lint", "examples/bad", "examples/good"}, exitFindings},
		{"good only", "examples-good.txt.golden", []string{"lint", "examples/good"}, exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ward(t, repoRoot, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			golden(t, tc.golden, r.stdout)
		})
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		wardtest.WriteTree(t, dir, map[string]string{name: content})
		return name
	}
	clean := write("clean/np.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\nspec:\n  podSelector: {}\n")
	bad := write("bad/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: kube-public\nspec:\n  containers:\n  - name: c\n    image: x\n")
	write("mixed/good.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  loadBalancerSourceRanges: [10.0.0.1/8]\n")
	write("mixed/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: [\n")
	write("mixed/z.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: q\n  namespace: kube-system\nspec:\n  containers: [{name: c, image: x}]\n")

	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		code     int
		stdout   []string
		stderr   []string
		noStdout []string
	}{
		{name: "clean", args: []string{"lint", clean}, code: exitOK, stdout: []string{"0 findings"}},
		{name: "findings", args: []string{"lint", bad}, code: exitFindings, stdout: []string{"bad/pod.yaml:8:5: error drop-net-raw:", "bad/pod.yaml:5:3: error default-deny:"}},
		{name: "fail-on never", args: []string{"lint", "--fail-on", "never", bad}, code: exitOK},
		{name: "disable", args: []string{"lint", "--disable", "drop-net-raw", "--disable", "default-deny", bad}, code: exitOK},
		{name: "warning severity does not fail", args: []string{"lint", "-c", write("warn.yaml", "rules:\n  drop-net-raw: {severity: warning}\n  default-deny: {severity: warning}\n"), bad}, code: exitOK, stdout: []string{"warning drop-net-raw"}},
		{name: "fail-on warning", args: []string{"lint", "--fail-on", "warning", "-c", "warn.yaml", bad}, code: exitFindings},
		{name: "stdin", args: []string{"lint", "-"}, stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\nspec:\n  containers: [{name: c, image: x}]\n", code: exitFindings, stdout: []string{"-:5:16: error drop-net-raw"}},
		{name: "broken file, the rest still linted", args: []string{"lint", "mixed"}, code: exitInput,
			stdout:   []string{"mixed/good.yaml:6:30: error cidr-base-address", "1 input error"},
			stderr:   []string{"mixed/broken.yaml:8: YAML syntax error"},
			noStdout: []string{"mixed/z.yaml"}},
		{name: "missing path", args: []string{"lint", "nope.yaml", clean}, code: exitInput, stderr: []string{"nope.yaml: no such file or directory"}},
		{name: "unknown format", args: []string{"lint", "-o", "xml", clean}, code: exitInput, stderr: []string{`unknown output format "xml": valid formats are text, json, sarif, junit, github`}},
		{name: "unknown rule", args: []string{"lint", "--disable", "nope", clean}, code: exitInput, stderr: []string{`unknown rule "nope"`}},
		{name: "bad fail-on", args: []string{"lint", "--fail-on", "sometimes", clean}, code: exitInput},
		{name: "unknown flag", args: []string{"lint", "--frobnicate"}, code: exitInput},
		{name: "serve: negative max-in-flight", args: []string{"serve", "--max-in-flight", "-1"}, code: exitInput, stderr: []string{"--max-in-flight -1: want 0 (the default) or more"}},
		{name: "bad config field", args: []string{"lint", "-c", write("badcfg.yaml", "rules:\n  drop-net-raw:\n    severty: error\n"), clean}, code: exitInput, stderr: []string{"badcfg.yaml:3: field severty not found"}},
		{name: "config names unknown rule", args: []string{"lint", "-c", write("unknown.yaml", "excludedNamespaces: []\nrules:\n  no-such-rule: {enabled: false}\n"), clean}, code: exitInput, stderr: []string{`unknown.yaml:3: unknown rule "no-such-rule"`}},
		{name: "bad policy", args: []string{"lint", "-p", filepath.Dir(write("pol/bad.rego", "package ward.rules.x\n\nviolation contains v if {\n  v := \n}\n")), clean}, code: exitInput, stderr: []string{"pol/bad.rego:5: rego_parse_error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ward(t, dir, tc.stdin, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tc.noStdout {
				if strings.Contains(r.stdout, s) {
					t.Errorf("stdout has %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
		})
	}
}

// TestJSONShape checks DESIGN.md's JSON document field by field on a run with a finding,
// an exemption and an input error.
func TestJSONShape(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: apps/v1
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
          securityContext: {}
---
apiVersion: v1
kind: Pod
metadata:
  name: ping
  namespace: shop
  annotations:
    ignore.ward.dev/drop-net-raw: needs raw sockets for ping
spec:
  containers: [{name: ping, image: busybox}]
`,
		"bad.yaml": "a: b\n  c: d\n",
	}
	wardtest.WriteTree(t, dir, files)
	r := ward(t, dir, "", "lint", "-o", "json", ".")
	if r.code != exitInput {
		t.Fatalf("exit %d, want %d (an input error): %s", r.code, exitInput, r.stderr)
	}
	got := decodeJSON(t, r.stdout)
	want := report.Result{
		Findings: []report.Finding{{
			Rule: "drop-net-raw", Severity: "error", Message: `container "web" does not drop NET_RAW`,
			File: "a.yaml", Line: 17, Column: 11,
			Object: report.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
			Path:   "spec.template.spec.containers[0].securityContext.capabilities.drop",
		}},
		Exempted: []report.Finding{{
			Rule: "drop-net-raw", Severity: "error", Message: `container "ping" does not drop NET_RAW`,
			File: "a.yaml", Line: 27, Column: 16,
			Object: report.Object{APIVersion: "v1", Kind: "Pod", Namespace: "shop", Name: "ping"},
			Path:   "spec.containers[0].securityContext.capabilities.drop",
			Reason: "needs raw sockets for ping",
		}},
		Errors:  []report.InputError{{File: "bad.yaml", Line: 2, Message: "YAML syntax error: mapping values are not allowed in this context"}},
		Summary: report.Summary{Files: 2, Objects: 3, Findings: 1, Exempted: 1, Errors: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON differs (-want +got):\n%s", diff)
	}
	for _, key := range []string{`"findings"`, `"exempted"`, `"errors"`, `"summary"`, `"apiVersion"`, `"reason"`} {
		if !strings.Contains(r.stdout, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestRulesExplainVersion(t *testing.T) {
	r := ward(t, repoRoot, "", "rules")
	for _, id := range []string{"cidr-base-address", "default-deny", "drop-net-raw", "namespace-scoped-ingress"} {
		if !strings.Contains(r.stdout, id) {
			t.Errorf("ward rules lacks %s:\n%s", id, r.stdout)
		}
		e := ward(t, repoRoot, "", "explain", id)
		if e.code != 0 {
			t.Fatalf("explain %s: exit %d: %s", id, e.code, e.stderr)
		}
		for _, section := range []string{"What it demands:", "Why:", "Bad:", "Good:", "Remediation:", "Exemption:", "ignore.ward.dev/" + id} {
			if !strings.Contains(e.stdout, section) {
				t.Errorf("explain %s lacks %q", id, section)
			}
		}
	}
	if e := ward(t, repoRoot, "", "explain", "nope"); e.code != exitInput || !strings.Contains(e.stderr, "known rules") {
		t.Errorf("explain of an unknown rule: exit %d, %s", e.code, e.stderr)
	}
	if v := ward(t, repoRoot, "", "version"); v.code != 0 || !strings.HasPrefix(v.stdout, "ward ") {
		t.Errorf("version: %q", v.stdout)
	}
}
