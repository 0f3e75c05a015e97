package engine

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/wardsec/ward/policies"

	"github.com/open-policy-agent/opa/v1/ast"
)

// regoParseOptions parses Rego v1 with METADATA blocks kept, which the rule registry reads.
var regoParseOptions = ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1}

// isTestFile reports whether name is a Rego unit test file, which is loaded for the test
// runner but never into the rule set that lint and serve evaluate.
func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// loadFS parses every .rego file of fsys. Module names are prefix + the slash path, so
// that errors name the file the user can open.
func loadFS(fsys fs.FS, prefix string, withTests bool) (map[string]*ast.Module, error) {
	modules := map[string]*ast.Module{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return fs.SkipDir
			}
			return nil
		}
		if path.Ext(p) != ".rego" || (!withTests && isTestFile(p)) {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		name := path.Join(prefix, p)
		m, err := ast.ParseModuleWithOpts(name, string(src), regoParseOptions)
		if err != nil {
			return fmt.Errorf("parse policy: %w", err)
		}
		modules[name] = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return modules, nil
}

// loadDir parses the .rego files below a user's --policy directory.
func loadDir(dir string, withTests bool) (map[string]*ast.Module, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("policy directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("policy directory %s: not a directory", dir)
	}
	return loadFS(os.DirFS(dir), filepath.ToSlash(dir), withTests)
}

// Library parses the embedded rule library, tests left out, exactly as New loads it.
// The benchmark's evaluation floor compiles it with OPA alone, to measure what OPA costs
// without ward around it.
func Library() (map[string]*ast.Module, error) {
	return loadFS(policies.FS, embeddedPrefix, false)
}
