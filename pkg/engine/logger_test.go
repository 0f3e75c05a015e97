package engine

import (
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
)

// TestLoggerTellsHowRulesRun: at V(1) the engine says, rule by rule, which kinds it is
// evaluated on and whether it reads the inventory, the two things that decide whether
// and when a rule runs at all.
func TestLoggerTellsHowRulesRun(t *testing.T) {
	var lines []string
	log := funcr.New(func(_, args string) { lines = append(lines, args) }, funcr.Options{Verbosity: 1})
	eng, err := New(t.Context(), Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string]string{}
	for _, l := range lines {
		for _, id := range eng.Rules().IDs() {
			if strings.Contains(l, `"rule"="`+id+`"`) {
				byRule[id] = l
			}
		}
	}
	if len(byRule) != len(eng.Rules().IDs()) {
		t.Fatalf("logged %d of %d rules:\n%s", len(byRule), len(eng.Rules().IDs()), strings.Join(lines, "\n"))
	}
	for id, want := range map[string][]string{
		"default-deny":      {`"readsInventory"=true`, `(old object: NetworkPolicy)`, `Deployment`},
		"drop-net-raw":      {`"readsInventory"=false`, `CronJob`},
		"cidr-base-address": {`"readsInventory"=false`, `NetworkPolicy`, `Service`},
	} {
		for _, w := range want {
			if !strings.Contains(byRule[id], w) {
				t.Errorf("%s: %q lacks %s", id, byRule[id], w)
			}
		}
	}

	lines = nil
	quiet := funcr.New(func(_, args string) { lines = append(lines, args) }, funcr.Options{})
	if _, err := New(t.Context(), Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 0 {
		t.Errorf("at V(0): %q", lines)
	}
}
