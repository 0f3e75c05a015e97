// Package gcstart sets the garbage collector for a short run before the rest of ward's
// packages initialise. Package init (client-go's API scheme, controller-runtime,
// Prometheus, OPA), parsing and compiling the rules allocate some 10 MB in the first
// 20 ms of every run; at the default GOGC the collector runs two or three times in that
// window, on a machine whose second core is compiling the rules. Collecting four times
// less often, bounded by a 1 GiB soft limit, skips those collections; on big inputs the
// limit keeps RSS where the default would (BENCHMARKS.md, "Single file").
//
// The settings must be in place before the allocation starts, and main runs after every
// package has initialised, so this happens in an init function. main imports this package
// for that effect only; it has no dependencies but the standard library, and Go
// initialises a package as soon as its imports are (the lowest import path among those
// ready goes first), so this init runs before the heavy ones. TestInitOrder checks it.
package gcstart

import (
	"math"
	"os"
	"runtime/debug"
)

// Short-run settings; see the package comment.
const (
	shortRunGCPercent   = 400
	shortRunMemoryLimit = 1 << 30
)

func init() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(shortRunGCPercent)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(shortRunMemoryLimit)
	}
}

// LongRun puts back the runtime's defaults, for a process that runs for long: ward
// serve. GOGC and GOMEMLIMIT set by the user win, as at start.
func LongRun() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(100)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(math.MaxInt64)
	}
}
