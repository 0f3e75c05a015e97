package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf16"

	"github.com/wardsec/ward/pkg/report"
)

// Bad input at the command line, with the built binary: for every class, ward exits 2,
// the error names the file and (where it has one) the line, and the good file beside the
// bad one is still linted: its finding is in the output. pkg/manifest/badinput_test.go
// tests the same classes in more detail, and bounds time and memory where that matters.

// goodPod is linted beside every bad file; it has one drop-net-raw finding, at 8:5.
const goodPod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: good\n  namespace: kube-public\nspec:\n  containers:\n  - name: c\n    image: x\n"

type badInputCase struct {
	name  string
	files map[string][]byte // written into the directory ward lints, beside good.yaml
	args  []string          // extra flags
	errs  []report.InputError
	// code is the exit code; 0 means exitInput.
	code int
}

func badInputCases() []badInputCase {
	bomb := "apiVersion: v1\nkind: ConfigMap\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	for i, prev := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		name := string(rune('b' + i))
		bomb += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 8) + "*" + prev + "]\n"
	}
	return []badInputCase{
		{name: "invalid UTF-8", files: map[string][]byte{"bad.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n")},
			errs: []report.InputError{{File: "bad.yaml", Line: 4, Message: "not UTF-8 text: invalid UTF-8 byte 0xe9 at column 12"}}},
		{name: "binary file named .yaml", files: map[string][]byte{"bad.yaml": {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R'}},
			errs: []report.InputError{{File: "bad.yaml", Message: "not UTF-8 text: NUL byte at line 3 (a binary file?)"}}},
		{name: "UTF-16", files: map[string][]byte{"bad.yaml": utf16LE("\ufeffapiVersion: v1\nkind: ConfigMap\n")},
			errs: []report.InputError{{File: "bad.yaml", Message: "not UTF-8 text: the file is UTF-16 (or UTF-32) encoded; save it as UTF-8"}}},
		{name: "tabs used for indentation", files: map[string][]byte{"bad.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n")},
			errs: []report.InputError{{File: "bad.yaml", Line: 4, Message: "YAML syntax error: found character that cannot start any token (a tab indents this line: YAML indents with spaces only)"}}},
		{name: "alias bomb", files: map[string][]byte{"bad.yaml": []byte(bomb)},
			errs: []report.InputError{{File: "bad.yaml", Line: 7, Message: fmt.Sprintf("aliases expand the file by more than %d values (alias bomb?)", 10_000+10*len(bomb))}}},
		{name: "10,000 levels of nesting", files: map[string][]byte{"bad.yaml": []byte("a: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n")},
			errs: []report.InputError{{File: "bad.yaml", Line: 1, Message: "document nests deeper than 1000 levels"}}},
		{name: "over --max-file-size", args: []string{"--max-file-size", "200"}, files: map[string][]byte{"bad.yaml": []byte(goodPod + strings.Repeat("#", 200))},
			errs: []report.InputError{{File: "bad.yaml", Message: fmt.Sprintf("file exceeds the size limit (%d bytes > 200)", len(goodPod)+200)}}},
		{name: "duplicate keys", files: map[string][]byte{"bad.yaml": []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec:\n  hostNetwork: false\n  hostNetwork: true\n")},
			errs: []report.InputError{{File: "bad.yaml", Line: 6, Message: `duplicate key "hostNetwork" (first at line 5)`}}},
		{name: "JSON with trailing garbage", files: map[string][]byte{"bad.json": []byte("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\",\n \"metadata\": {\"name\": \"j\"}}\n}\n")},
			errs: []report.InputError{{File: "bad.json", Line: 3, Message: "YAML syntax error: did not find expected <document start>"}}},
		{name: "a list item that is not an object", files: map[string][]byte{"bad.yaml": []byte("apiVersion: v1\nkind: List\nitems:\n- just a string\n")},
			errs: []report.InputError{{File: "bad.yaml", Line: 4, Message: "List: item 0 is a string, not an object (kubectl rejects the list)"}}},
		{name: "comments only (no error)", code: exitFindings, files: map[string][]byte{"notes.yaml": []byte("# nothing\n# here\n")}},
		{name: "--- runs (no error)", code: exitFindings, files: map[string][]byte{"runs.yaml": []byte("---\n---\n--- # x\n---\n")}},
	}
}

// TestBadInputCLI runs ward lint -o json on each class beside good.yaml, and once more in
// text to see the error on standard error.
func TestBadInputCLI(t *testing.T) {
	for _, tc := range badInputCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{"good.yaml": []byte(goodPod)})
			writeFiles(t, dir, tc.files)
			code := tc.code
			if code == 0 {
				code = exitInput
			}
			r := ward(t, dir, "", append(append([]string{"lint", "-o", "json"}, tc.args...), ".")...)
			checkRun(t, r, code, tc.errs, len(tc.files)+1)

			r = ward(t, dir, "", append(append([]string{"lint"}, tc.args...), ".")...)
			if r.code != code {
				t.Errorf("text: exit %d, want %d", r.code, code)
			}
			for _, e := range tc.errs {
				if want := "ward: " + describeInputError(e); !strings.Contains(r.stderr, want) {
					t.Errorf("text: stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}
}

// TestBadPathsCLI: a missing path, a symlink loop, a FIFO (skipped in a walk), and an
// unreadable file and directory. Root reads any file whatever its mode, and CI runs as
// root: there ward runs as nobody (uid 65534), for whom the modes hold.
func TestBadPathsCLI(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir, filepath.Dir(wardBin)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, dir, map[string][]byte{"good.yaml": []byte(goodPod), "secret.yaml": []byte(goodPod), "locked/in.yaml": []byte(goodPod)})
	if err := os.Symlink("loop.yaml", filepath.Join(dir, "loop.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".", filepath.Join(dir, "self")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"secret.yaml", "locked"} {
		if err := os.Chmod(filepath.Join(dir, p), 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.Chmod(filepath.Join(dir, p), 0o755); err != nil {
				t.Error(err)
			}
		})
	}

	r := wardUnprivileged(t, dir, "lint", "-o", "json", ".", "missing.yaml")
	checkRun(t, r, exitInput, []report.InputError{
		{File: "locked", Message: "permission denied"},
		{File: "loop.yaml", Message: "too many levels of symbolic links"},
		{File: "missing.yaml", Message: "no such file or directory"},
		{File: "secret.yaml", Message: "permission denied"},
	}, 2)
}

// TestUserRuleFailureCLI: a --policy rule that fails at evaluation exits 2 with an error
// naming the rule, and the built-in rules still report.
func TestUserRuleFailureCLI(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"good.yaml": []byte(goodPod),
		"policy/conflict.rego": []byte(`# METADATA
# title: Conflicting values
# custom:
#   id: user-conflict
#   severity: error
#   remediation: Fix the rule.
package ward.rules.user_conflict

_tier := "a" if input.review.object.kind == "Pod"

_tier := "b" if input.review.object.metadata.name == "good"

violation contains {"msg": _tier, "details": {"path": []}} if true
`),
	})
	r := ward(t, dir, "", "lint", "-o", "json", "-p", "policy", "good.yaml")
	if r.code != exitInput {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, exitInput, r.stderr)
	}
	res := decodeJSON(t, r.stdout)
	if len(res.Errors) != 1 || res.Errors[0].File != "good.yaml" || res.Errors[0].Line != 1 ||
		!strings.HasPrefix(res.Errors[0].Message, "rule user-conflict: ") || !strings.Contains(res.Errors[0].Message, "eval_conflict_error") {
		t.Errorf("errors = %+v, want one naming rule user-conflict at good.yaml:1", res.Errors)
	}
	if !hasGoodFinding(res) {
		t.Errorf("the built-in rules did not report on good.yaml: %+v", res.Findings)
	}
}

// checkRun checks exit code, the errors (file, line, message prefix; in any order), that
// good.yaml's finding is reported and how many files were read.
func checkRun(t *testing.T, r result, code int, errs []report.InputError, files int) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstderr:\n%s", r.code, code, r.stderr)
	}
	res := decodeJSON(t, r.stdout)
	got := map[string]report.InputError{}
	for _, e := range res.Errors {
		got[e.File] = e
	}
	for _, w := range errs {
		g, ok := got[w.File]
		if !ok {
			t.Errorf("no error for %s; errors: %+v", w.File, res.Errors)
			continue
		}
		if g.Line != w.Line || !strings.HasPrefix(g.Message, w.Message) {
			t.Errorf("error %s:%d: %s\nwant  %s:%d: %s", g.File, g.Line, g.Message, w.File, w.Line, w.Message)
		}
		delete(got, w.File)
	}
	for _, g := range got {
		t.Errorf("unexpected error %+v", g)
	}
	if !hasGoodFinding(res) {
		t.Errorf("good.yaml was not linted: findings %+v", res.Findings)
	}
	if res.Summary.Files != files {
		t.Errorf("summary.files = %d, want %d", res.Summary.Files, files)
	}
}

func hasGoodFinding(res report.Result) bool {
	for _, f := range res.Findings {
		if f.File == "good.yaml" && f.Rule == "drop-net-raw" && f.Line == 8 && f.Column == 5 {
			return true
		}
	}
	return false
}

// wardUnprivileged runs the built binary as nobody when the test runs as root, as ward
// otherwise.
func wardUnprivileged(t *testing.T, dir string, args ...string) result {
	t.Helper()
	if os.Geteuid() != 0 {
		return ward(t, dir, "", args...)
	}
	cmd := exec.CommandContext(t.Context(), wardBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run ward as nobody: %v", err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func utf16LE(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}
