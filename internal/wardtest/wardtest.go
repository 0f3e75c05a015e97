// Package wardtest holds what the tests that drive the real ward binary share: building
// it, running it, and writing manifest trees to run it on.
package wardtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Build compiles cmd/ward from the module at repoRoot into dir and returns the binary's
// path. race builds it with the race detector, for suites that run with -race.
func Build(repoRoot, dir string, race bool) (string, error) {
	bin := filepath.Join(dir, "ward")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/ward")...)
	cmd.Dir = repoRoot
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build ward: %w\n%s", err, out.String())
	}
	return bin, nil
}

// Result is what one run of the binary gave.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs bin in dir with args and stdin, colour off, and returns its output and exit
// code; a failure to start it fails the test.
func Run(t testing.TB, bin, dir, stdin string, args ...string) Result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
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
	return Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// WriteTree writes files (slash path → content) under dir, creating directories.
func WriteTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
