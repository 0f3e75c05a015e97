package lint

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/engine"
)

// failingRules are user rules (--policy) that compile but fail when evaluated: a complete
// rule with conflicting values, a function with conflicting outputs, and a violation
// whose msg is not a string. Each fails on some objects only.
var failingRules = map[string]string{
	"conflict.rego": `# METADATA
# title: Conflicting values
# custom:
#   id: user-conflict
#   severity: error
#   remediation: Fix the rule.
package ward.rules.user_conflict

_tier := "pod" if input.review.object.kind == "Pod"

_tier := "named" if input.review.object.metadata.name == "boom"

violation contains {"msg": _tier, "details": {"path": ["metadata"]}} if input.review.object.kind == "Pod"
`,
	"function.rego": `# METADATA
# title: Conflicting function outputs
# custom:
#   id: user-function
#   severity: warning
#   remediation: Fix the rule.
package ward.rules.user_function

_label(obj) := "one" if obj.metadata.name == "boom"

_label(obj) := "two" if obj.kind == "Pod"

violation contains {"msg": _label(input.review.object), "details": {"path": []}} if true
`,
	"badmsg.rego": `# METADATA
# title: A number for a message
# custom:
#   id: user-badmsg
#   severity: error
#   remediation: Fix the rule.
package ward.rules.user_badmsg

violation contains {"msg": 42, "details": {"path": []}} if input.review.object.metadata.name == "boom"
`,
}

// TestUserRuleFailsAtEvaluation: a user rule that fails at evaluation is an error that
// names the rule and the object's file and line, and every other rule still runs on
// that object and on the others.
func TestUserRuleFailsAtEvaluation(t *testing.T) {
	policy := t.TempDir()
	for name, src := range failingRules {
		if err := os.WriteFile(filepath.Join(policy, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := engine.New(t.Context(), engine.Options{PolicyDirs: []string{policy}})
	if err != nil {
		t.Fatalf("the rules must compile; they fail only when evaluated: %v", err)
	}
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Resolve(eng.Rules(), config.Flags{})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	// boom trips all three rules; calm trips none; both lack a NET_RAW drop.
	manifests := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: boom\nspec:\n  containers:\n  - name: c\n" +
		"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: calm\nspec:\n  containers:\n  - name: c\n"
	path := filepath.Join(dir, "pods.yaml")
	if err := os.WriteFile(path, []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(t.Context(), eng, Options{Paths: []string{path}, Settings: s})
	if err != nil {
		t.Fatal(err)
	}

	var errs []string
	for _, e := range res.Errors {
		errs = append(errs, e.File+":"+strconv.Itoa(e.Line)+": "+e.Message)
	}
	for _, want := range []struct{ rule, fragment string }{
		{"user-conflict", "eval_conflict_error: rule data.ward.rules.user_conflict._tier produced conflicting values"},
		{"user-function", "eval_conflict_error: function data.ward.rules.user_function._label produced conflicting values for the same inputs"},
		{"user-badmsg", "violation msg is number, want a string"},
	} {
		found := false
		for _, e := range errs {
			prefix := path + ":1: rule " + want.rule + ": "
			if strings.HasPrefix(e, prefix) && strings.Contains(e, want.fragment) && !strings.HasPrefix(e[len(prefix):], "rule ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no error naming rule %s (%q) at %s:1 among:\n%s", want.rule, want.fragment, path, strings.Join(errs, "\n"))
		}
	}
	if len(errs) != 3 {
		t.Errorf("want 3 errors, one per failing rule on boom, got:\n%s", strings.Join(errs, "\n"))
	}

	// The other rules still ran: the built-in rule on both Pods, the user rule that
	// works on calm.
	got := map[string][]string{}
	for _, f := range res.Findings {
		got[f.Rule] = append(got[f.Rule], f.Object.Name)
	}
	if names := got["drop-net-raw"]; len(names) != 2 {
		t.Errorf("drop-net-raw findings on %v, want boom and calm", names)
	}
	if names := got["user-conflict"]; len(names) != 1 || names[0] != "calm" {
		t.Errorf("user-conflict findings on %v, want calm", names)
	}
	if names := got["user-function"]; len(names) != 1 || names[0] != "calm" {
		t.Errorf("user-function findings on %v, want calm", names)
	}
}
