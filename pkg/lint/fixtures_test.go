package lint

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/report"
)

// wantRE reads a fail fixture's first line: "# want: drop-net-raw" or "# want: drop-net-raw x3".
var wantRE = regexp.MustCompile(`^#\s*want:\s*([a-z0-9-]+)(?:\s+x(\d+))?\s*$`)

func newEngine(t testing.TB) (*engine.Engine, *config.Settings) {
	t.Helper()
	return newEngineWith(t, engine.Options{})
}

// newEngineWith compiles the rules with opts and resolves the default config for them.
func newEngineWith(t testing.TB, opts engine.Options) (*engine.Engine, *config.Settings) {
	t.Helper()
	eng, err := engine.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Resolve(eng.Rules(), config.Flags{})
	if err != nil {
		t.Fatal(err)
	}
	return eng, s
}

func lintFile(t *testing.T, eng *engine.Engine, s *config.Settings, path string) *report.Result {
	t.Helper()
	res, err := Run(t.Context(), eng, Options{Paths: []string{path}, Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors {
		t.Errorf("input error: %s:%d: %s", e.File, e.Line, e.Message)
	}
	return res
}

func countRule(res *report.Result, rule string) int {
	n := 0
	for _, f := range res.Findings {
		if f.Rule == rule {
			n++
		}
	}
	return n
}

func describe(res *report.Result) string {
	var b strings.Builder
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "\n  %s:%d:%d %s: %s", f.File, f.Line, f.Column, f.Rule, f.Message)
	}
	return b.String()
}

// TestRuleFixtures runs every rule's fixtures and examples through the real pipeline
// (reading, inventory, engine, positions): a pass_ fixture and examples/good.yaml give no
// finding of their rule; a fail_ fixture gives exactly what its "# want:" line says and
// examples/bad.yaml at least one. Each finding must have a line.
func TestRuleFixtures(t *testing.T) {
	eng, s := newEngine(t)
	for _, rule := range eng.Rules().List() {
		dir := filepath.Join("..", "..", "policies", rule.Package)
		files, _ := filepath.Glob(filepath.Join(dir, "testdata", "*.yaml"))
		files = append(files, filepath.Join(dir, "examples", "good.yaml"), filepath.Join(dir, "examples", "bad.yaml"))
		for _, f := range files {
			name := filepath.Base(f)
			t.Run(rule.ID+"/"+filepath.Base(filepath.Dir(f))+"/"+name, func(t *testing.T) {
				res := lintFile(t, eng, s, f)
				for _, fd := range res.Findings {
					if fd.Line < 1 || fd.Column < 1 {
						t.Errorf("finding without a position: %+v", fd)
					}
				}
				got := countRule(res, rule.ID)
				switch {
				case strings.HasPrefix(name, "pass_") || name == "good.yaml":
					if got != 0 {
						t.Errorf("want no %s finding, got %d:%s", rule.ID, got, describe(res))
					}
				case name == "bad.yaml":
					if got == 0 {
						t.Errorf("want %s findings, got none", rule.ID)
					}
				case strings.HasPrefix(name, "fail_"):
					wantRule, want := readWant(t, f)
					if wantRule != rule.ID {
						t.Fatalf("fixture of %s wants %s", rule.ID, wantRule)
					}
					if got != want {
						t.Errorf("want %d %s findings, got %d:%s", want, rule.ID, got, describe(res))
					}
				default:
					t.Errorf("fixture %s must be named pass_*.yaml or fail_*.yaml", name)
				}
			})
		}
	}
}

func readWant(t *testing.T, path string) (string, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read-only
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatalf("%s is empty", path)
	}
	m := wantRE.FindStringSubmatch(sc.Text())
	if m == nil {
		t.Fatalf("%s: first line must be '# want: <rule-id> [xN]', got %q", path, sc.Text())
	}
	n := 1
	if m[2] != "" {
		n, _ = strconv.Atoi(m[2])
	}
	return m[1], n
}
