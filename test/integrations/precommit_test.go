package integrations

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// preCommit returns Debian's pre-commit, installing it with hack/install-pre-commit.sh
// when it is missing. Under CI=true the test never skips: a missing pre-commit fails it.
func preCommit(t *testing.T) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), filepath.Join(repoRoot, "hack", "install-pre-commit.sh"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := "pre-commit is not available (hack/install-pre-commit.sh: " + err.Error() + "): " + errb.String()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return strings.TrimSpace(out.String())
}

// snapshot commits the working tree of this checkout, tracked and untracked files that
// git does not ignore, to a new repository, the way a user's pre-commit config would
// name a ward release; it returns the repository and the commit.
func snapshot(t *testing.T) (string, string) {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	list := gitOut(t, root, nil, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	dst := filepath.Join(t.TempDir(), "ward")
	for name := range strings.SplitSeq(strings.TrimSuffix(list, "\x00"), "\x00") {
		src := filepath.Join(root, name)
		info, err := os.Lstat(src)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the working tree, or a link
		}
		copyFile(t, src, filepath.Join(dst, name), info.Mode().Perm())
	}
	gitOut(t, dst, nil, "init", "-q")
	gitOut(t, dst, nil, "add", "-A")
	gitOut(t, dst, nil, "commit", "-q", "-m", "snapshot of the working tree")
	return dst, strings.TrimSpace(gitOut(t, dst, nil, "rev-parse", "HEAD"))
}

func copyFile(t *testing.T, src, dst string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close() //nolint:errcheck // read only
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// gitEnv makes commits reproducible and independent of the user's git config.
var gitEnv = []string{
	"GIT_AUTHOR_NAME=ward test", "GIT_AUTHOR_EMAIL=test@ward.invalid",
	"GIT_COMMITTER_NAME=ward test", "GIT_COMMITTER_EMAIL=test@ward.invalid",
	"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
}

func gitOut(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := gitRun(t, dir, env, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func gitRun(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	cmd.Env = append(append(cleanEnv(), gitEnv...), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cleanEnv is the environment without the GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE
// that a caller of go test (a git hook) may have set, which would point git at the
// wrong repository.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_DIR=") || strings.HasPrefix(kv, "GIT_WORK_TREE=") || strings.HasPrefix(kv, "GIT_INDEX_FILE=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

const (
	denyAll = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: shop
spec:
  podSelector: {}
`
	badWeb = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
`
	goodWeb = badWeb + `          securityContext:
            capabilities:
              drop: [ALL]
`
)

// TestPreCommitHook installs this checkout's hook with Debian's pre-commit in a new git
// repository, the way a user's .pre-commit-config.yaml names ward, and commits: a
// manifest that fails drop-net-raw is refused with ward's message, the fixed one goes
// in. The deny-all policy lives in a file the commits do not touch, so default-deny
// passes only because the hook reads the repository as inventory.
func TestPreCommitHook(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: the pre-commit test builds ward inside pre-commit (about a minute)")
	}
	pc := preCommit(t)
	hookRepo, rev := snapshot(t)

	project := t.TempDir()
	home := t.TempDir()
	gomodcache := strings.TrimSpace(goEnv(t, "GOMODCACHE"))
	env := []string{
		// pre-commit's own cache, with the golang hook's environment, per test run.
		"PRE_COMMIT_HOME=" + filepath.Join(home, "pre-commit"),
		// pre-commit runs `go install ./...` with GOPATH set to its environment: share
		// the module cache (downloads come from the Go module proxy otherwise), keep
		// GOFLAGS plain, and never fetch another toolchain.
		"GOMODCACHE=" + gomodcache,
		"GOFLAGS=-buildvcs=false",
		"GOTOOLCHAIN=local",
		"PRE_COMMIT_COLOR=never",
		"NO_COLOR=1",
	}
	gitOut(t, project, env, "init", "-q")
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(project, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".pre-commit-config.yaml", "repos:\n  - repo: "+hookRepo+"\n    rev: "+rev+"\n    hooks:\n      - id: ward\n")
	write("shop/policy.yaml", denyAll)
	gitOut(t, project, env, "add", "-A")
	gitOut(t, project, env, "commit", "-q", "-m", "policy, before the hook")

	install := exec.CommandContext(t.Context(), pc, "install")
	install.Dir = project
	install.Env = append(append(cleanEnv(), gitEnv...), env...)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("pre-commit install: %v\n%s", err, out)
	}

	// The first commit through the hook builds ward (go install in pre-commit's env).
	write("shop/web.yaml", badWeb)
	gitOut(t, project, env, "add", "shop/web.yaml")
	start := time.Now()
	out, err := gitRun(t, project, env, "commit", "-m", "web, without dropping NET_RAW")
	t.Logf("failing commit (with the hook's install) took %s", time.Since(start).Round(time.Second))
	if err == nil {
		t.Fatalf("the commit of a manifest that fails drop-net-raw went through:\n%s", out)
	}
	t.Logf("refused commit:\n%s", out)
	for _, want := range []string{"ward", "Failed", `shop/web.yaml:14:11: error drop-net-raw: container "web" does not drop NET_RAW`} {
		if !strings.Contains(out, want) {
			t.Errorf("hook output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "default-deny") {
		t.Errorf("default-deny fired: the hook did not use the repository as inventory:\n%s", out)
	}
	if log := gitOut(t, project, env, "log", "--oneline"); strings.Count(log, "\n") != 1 {
		t.Errorf("history after the refused commit:\n%s", log)
	}

	write("shop/web.yaml", goodWeb)
	gitOut(t, project, env, "add", "shop/web.yaml")
	out, err = gitRun(t, project, env, "commit", "-m", "web drops ALL")
	if err != nil {
		t.Fatalf("the commit of the fixed manifest was refused: %v\n%s", err, out)
	}
	if !strings.Contains(out, "ward") || !strings.Contains(out, "Passed") {
		t.Errorf("hook output lacks ward ... Passed:\n%s", out)
	}
	if log := gitOut(t, project, env, "log", "--oneline"); strings.Count(log, "\n") != 2 {
		t.Errorf("history after the fixed commit:\n%s", log)
	}
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return string(out)
}
