// Package gcstart sets the garbage collector for a short run before the rest of ward's
// packages initialise. Package init (client-go's API scheme, controller-runtime,
// Prometheus, OPA), parsing and compiling the rules allocate some 10 MB in the first
// 20 ms of every run; at the default GOGC the collector runs two or three times in that
// window, on a machine whose second core is compiling the rules. Collecting four times
// less often skips those collections, and saves several CPU seconds on a large input.
// The memory limit that bounds the heap follows the live heap (internal/gctune): 1 GiB,
// or twice the live heap once that is more, so a large run is never held under a limit
// it has outgrown (BENCHMARKS.md, "Memory").
//
// The settings must be in place before the allocation starts, and main runs after every
// package has initialised, so this happens in an init function. main imports this package
// for that effect only; it and internal/gctune have no dependencies but the standard
// library, and Go initialises a package as soon as its imports are (the lowest import
// path among those ready goes first), so this init runs before the heavy ones.
// TestInitOrder checks it.
package gcstart

import (
	"math"
	"os"
	"runtime/debug"

	"github.com/wardsec/ward/internal/gctune"
)

// stopTuner ends the short-run tuning. It is set once, by init (an init function
// cannot hand anything to its caller), and read by LongRun.
var stopTuner = func() {}

func init() {
	stopTuner = gctune.Start(gctune.Default(), os.LookupEnv)
}

// LongRun puts back the runtime's defaults, for a process that runs for long: ward
// serve, which sets its own. GOGC and GOMEMLIMIT set by the user win, as at start.
func LongRun() {
	stopTuner()
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(100)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}
