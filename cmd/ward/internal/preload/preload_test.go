package preload

import "testing"

func TestLoadsRules(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"lint", "one.yaml"}, true},
		{[]string{"lint"}, true},
		{[]string{"rules"}, true},
		{[]string{"explain", "drop-net-raw"}, true},
		{[]string{"serve"}, false},
		{[]string{"version"}, false},
		{[]string{"--help"}, false},
		{[]string{"-test.run=X"}, false},
	} {
		if got := loadsRules(tc.args); got != tc.want {
			t.Errorf("loadsRules(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
