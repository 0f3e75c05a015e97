package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRuleDocsUpToDate fails when docs/rules/ differs from what the rules' METADATA
// generates; `go test ./cmd/ward -update` (or ward rules --docs docs/rules) rewrites it.
func TestRuleDocsUpToDate(t *testing.T) {
	docs := filepath.Join(repoRoot, "docs", "rules")
	if *update {
		if r := ward(t, repoRoot, "", "rules", "--docs", "docs/rules"); r.code != 0 {
			t.Fatalf("rules --docs: %s", r.stderr)
		}
	}
	tmp := t.TempDir()
	if r := ward(t, repoRoot, "", "rules", "--docs", tmp); r.code != 0 {
		t.Fatalf("rules --docs: exit %d: %s", r.code, r.stderr)
	}
	generated, _ := filepath.Glob(filepath.Join(tmp, "*.md"))
	committed, _ := filepath.Glob(filepath.Join(docs, "*.md"))
	if len(generated) < 4 || len(generated) != len(committed) {
		t.Fatalf("docs/rules has %d pages, the rules generate %d: go test ./cmd/ward -update", len(committed), len(generated))
	}
	for _, g := range generated {
		want, err := os.ReadFile(filepath.Join(docs, filepath.Base(g)))
		if err != nil {
			t.Errorf("%v: go test ./cmd/ward -update", err)
			continue
		}
		got, _ := os.ReadFile(g)
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("docs/rules/%s is stale (-committed +generated); go test ./cmd/ward -update:\n%s", filepath.Base(g), diff)
		}
	}
}
