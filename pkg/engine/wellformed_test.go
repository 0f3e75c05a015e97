package engine

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/wardsec/ward/policies"
)

// TestRulesWellFormed holds every built-in rule to the library's conventions: the ID
// matches the folder, metadata is complete, and the rule has Rego tests, pass and fail
// fixtures, and the good and bad examples ward explain prints. A rule without tests
// cannot merge.
func TestRulesWellFormed(t *testing.T) {
	eng, err := New(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(eng.Rules().List()); n < 4 {
		t.Fatalf("want at least the 4 built-in rules, got %d", n)
	}
	for _, r := range eng.Rules().List() {
		t.Run(r.ID, func(t *testing.T) {
			if !r.Builtin {
				t.Fatalf("%s is not from the embedded library", r.ID)
			}
			dir := strings.ReplaceAll(r.ID, "-", "_")
			if want := path.Join(embeddedPrefix, dir, dir+".rego"); r.Source != want {
				t.Errorf("source %s, want %s (folder = snake_case of the id)", r.Source, want)
			}
			if err := r.Validate(); err != nil {
				t.Error(err)
			}
			if r.Description == "" || r.Why == "" {
				t.Error("description and custom.why are required: ward explain prints them")
			}
			if _, err := fs.Stat(policies.FS, path.Join(dir, dir+"_test.rego")); err != nil {
				t.Errorf("no Rego tests: %v", err)
			}
			for _, pattern := range []string{"testdata/pass_*.yaml", "testdata/fail_*.yaml"} {
				if m, _ := fs.Glob(policies.FS, path.Join(dir, pattern)); len(m) == 0 {
					t.Errorf("no %s fixture", pattern)
				}
			}
			if r.GoodExample == "" || r.BadExample == "" {
				t.Error("examples/good.yaml and examples/bad.yaml are required")
			}
		})
	}
}
