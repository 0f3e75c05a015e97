package gcstart

import (
	"math"
	"os"
	"os/exec"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/wardsec/ward/internal/gctune"
)

// TestShortRunThenLongRun: init set the short-run settings (this test binary ran it),
// and LongRun puts the runtime's defaults back.
// When GOGC or GOMEMLIMIT is set, init rightly leaves the collector to the user; the
// test then runs itself again in a process without them, so that it never skips.
func TestShortRunThenLongRun(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		if _, ok := os.LookupEnv(env); ok {
			rerunWithout(t, "GOGC", "GOMEMLIMIT")
			return
		}
	}
	// SetGCPercent returns the previous setting; SetMemoryLimit(-1) only reads it.
	short := gctune.Default()
	if got := debug.SetGCPercent(short.Percent); got != short.Percent {
		t.Errorf("GOGC after init: %d, want %d", got, short.Percent)
	}
	if got := debug.SetMemoryLimit(-1); got < short.Floor {
		t.Errorf("memory limit after init: %d, want at least %d", got, short.Floor)
	}
	LongRun()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC after LongRun: %d, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit after LongRun: %d, want none", got)
	}
}

// rerunWithout runs the calling test again in a child process whose environment lacks
// the named variables, and fails with the child's output if it fails.
func rerunWithout(t *testing.T, names ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s without %v: %v\n%s", t.Name(), names, err, out)
	}
}
