package gcstart

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/wardsec/ward/internal/gctune"
)

// TestShortRunThenLongRun: init set the short-run settings (this test binary ran it),
// and LongRun puts the runtime's defaults back.
func TestShortRunThenLongRun(t *testing.T) {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		if _, ok := os.LookupEnv(env); ok {
			t.Skipf("%s is set, so the settings are the user's", env)
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
