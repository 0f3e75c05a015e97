package main

import (
	"errors"
	"strings"
	"testing"
)

// env is an environment of vars, each NAME (set to "set") or NAME=VALUE.
func env(vars ...string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for _, v := range vars {
			if n, val, ok := strings.Cut(v, "="); ok && n == name {
				return val, true
			}
			if v == name {
				return "set", true
			}
		}
		return "", false
	}
}

func TestServeGC(t *testing.T) {
	limit := func(n uint64, ok bool, err error) func() (uint64, bool, error) {
		return func() (uint64, bool, error) { return n, ok, err }
	}
	tests := []struct {
		name    string
		env     []string
		limit   func() (uint64, bool, error)
		want    gcPlan
		wantErr bool
	}{
		{"container with a limit", nil, limit(512<<20, true, nil), gcPlan{percent: serveGCPercentBounded, limit: 456340275, cgroupLimit: 512 << 20}, false},
		{"no limit", nil, limit(0, false, nil), gcPlan{percent: serveGCPercent}, false},
		{"unreadable cgroup: no limit, no failure", nil, limit(0, false, errors.New("permission denied")), gcPlan{percent: serveGCPercent}, true},
		{"GOGC set by the user", []string{"GOGC"}, limit(1<<30, true, nil), gcPlan{limit: 912680550, cgroupLimit: 1 << 30}, false},
		{"GOMEMLIMIT set by the user: the cgroup is not read", []string{"GOMEMLIMIT"}, limit(0, false, errors.New("must not be read")), gcPlan{percent: serveGCPercentBounded}, false},
		{"GOMEMLIMIT=off set by the user: no bound", []string{"GOMEMLIMIT=off"}, limit(1<<30, true, errors.New("must not be read")), gcPlan{percent: serveGCPercent}, false},
		{"both set by the user", []string{"GOGC", "GOMEMLIMIT"}, limit(1<<30, true, nil), gcPlan{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := serveGC(env(tc.env...), tc.limit)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("serveGC = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
