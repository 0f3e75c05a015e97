package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/types"
)

// TestLibraryTypeChecks runs on the embedded library the type checker that New skips
// for it (compile): a type error in a built-in rule fails here, before any release.
func TestLibraryTypeChecks(t *testing.T) {
	modules, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	c := ast.NewCompiler().WithCapabilities(capabilities()).WithEnablePrintStatements(false)
	if c.Compile(modules); c.Failed() {
		t.Fatal(c.Errors)
	}
	e, err := New(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The type checker gives the library's functions function types; without it they
	// are unknown.
	if _, ok := e.compiler.TypeEnv.GetByRef(ast.MustParseRef("data.ward.lib.k8s.containers")).(*types.Function); ok {
		t.Error("New type-checks the library: drop the skip in compile, and this test")
	}
}

// TestTypeCheckedWithPolicyDirs: with a user's rules the library is type-checked with
// them, and a type error in a user rule is reported at its file and line.
func TestTypeCheckedWithPolicyDirs(t *testing.T) {
	dir := t.TempDir()
	rule := `# METADATA
# title: Typo
# custom:
#   id: typo
#   severity: error
#   remediation: Fix it.
package ward.rules.typo

violation contains {"msg": msg, "details": {"path": []}} if {
	msg := concat(", ", 42)
}
`
	if err := os.WriteFile(filepath.Join(dir, "typo.rego"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(t.Context(), Options{PolicyDirs: []string{dir}})
	if err == nil {
		t.Fatal("a type error in a user rule compiled")
	}
	if want := "typo.rego:10: rego_type_error"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}

// TestLibraryHasNoWith: topdown reads the type environment to tell a function from data
// in the target of a with modifier, and New does not type-check the library
// (TestLibraryTypeChecks), so no rule of the library may replace anything but input
// with with. Tests may.
func TestLibraryHasNoWith(t *testing.T) {
	modules, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range modules {
		ast.WalkExprs(m, func(x *ast.Expr) bool {
			for _, w := range x.With {
				if ref, ok := w.Target.Value.(ast.Ref); !ok || !ref.HasPrefix(ast.InputRootRef) {
					t.Errorf("%s:%d: with %v: type-check the library again in compile", name, x.Location.Row, w.Target)
				}
			}
			return false
		})
	}
}
