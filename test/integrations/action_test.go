package integrations

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// lintStep returns the script of action.yml's "ward lint" step.
func lintStep(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Runs struct {
			Using string `yaml:"using"`
			Steps []struct {
				ID    string `yaml:"id"`
				Shell string `yaml:"shell"`
				Run   string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if action.Runs.Using != "composite" {
		t.Fatalf("runs.using = %q, want composite", action.Runs.Using)
	}
	for _, s := range action.Runs.Steps {
		if s.ID == "lint" {
			if s.Shell != "bash" {
				t.Fatalf("lint step shell %q", s.Shell)
			}
			return s.Run
		}
	}
	t.Fatal("action.yml has no step with id lint")
	return ""
}

// TestActionLintStep runs the action's lint step as the Actions runner runs a bash
// step (bash --noprofile --norc -eo pipefail FILE), with the inputs in the environment
// the step maps them to and the built ward on PATH.
func TestActionLintStep(t *testing.T) {
	script := filepath.Join(t.TempDir(), "step.sh")
	if err := os.WriteFile(script, []byte(lintStep(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                       string
		paths, format, out, failOn string
		args                       string
		wantCode                   string
		wantStdout                 []string
		wantFile                   string
	}{
		{name: "sarif to a file", paths: "examples/kustomize\nexamples/good", format: "sarif", out: "ward.sarif", failOn: "error",
			wantCode: "1", wantStdout: []string{"examples/kustomize/base/deployment.yaml:22:11: error drop-net-raw"}, wantFile: `"version": "2.1.0"`},
		{name: "annotations", paths: "examples/kustomize", format: "github", failOn: "error",
			wantCode: "1", wantStdout: []string{"::error file=examples/kustomize/base/deployment.yaml,line=22,col=11,title=ward drop-net-raw::"}},
		{name: "args and fail-on", paths: "examples/kustomize", format: "github", failOn: "never", args: "--disable default-deny --no-kustomize",
			wantCode: "0", wantStdout: []string{"ward: 1 finding"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			ghOutput := filepath.Join(work, "github_output")
			outFile := ""
			if tc.out != "" {
				outFile = filepath.Join(work, tc.out)
			}
			cmd := exec.CommandContext(t.Context(), "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
			cmd.Dir = repoRoot
			cmd.Env = append(os.Environ(),
				"PATH="+filepath.Dir(wardBin)+string(os.PathListSeparator)+os.Getenv("PATH"),
				"GITHUB_OUTPUT="+ghOutput,
				"WARD_PATHS="+tc.paths, "WARD_FORMAT="+tc.format, "WARD_OUTPUT_FILE="+outFile,
				"WARD_FAIL_ON="+tc.failOn, "WARD_ARGS="+tc.args, "NO_COLOR=1",
			)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if (err == nil) != (tc.wantCode == "0") {
				t.Fatalf("step: %v, want exit %s\nstdout: %s\nstderr: %s", err, tc.wantCode, stdout.String(), stderr.String())
			}
			out, _ := os.ReadFile(ghOutput)
			if got := strings.TrimSpace(string(out)); got != "exit-code="+tc.wantCode {
				t.Errorf("GITHUB_OUTPUT %q, want exit-code=%s", got, tc.wantCode)
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if tc.wantFile != "" {
				data, err := os.ReadFile(outFile)
				if err != nil || !strings.Contains(string(data), tc.wantFile) {
					t.Errorf("report file: %v\n%s", err, data)
				}
				validateSARIF(t, string(data))
			}
		})
	}
}
