// Package gctune sets the garbage collector for a short-lived batch run: collect
// rarely while the heap is small, without ever holding the collector under a memory
// limit that the live heap has outgrown.
//
// A run of ward lint is short and allocates most of what it reads. Collecting four
// times less often than Go's default (GOGC=400) saves most of the collections of a
// pre-commit run and several CPU seconds on a large one, but lets the heap grow to five
// times the live data; a memory limit bounds that. A fixed limit is a trap, though: once
// the live heap passes it, the runtime collects back to back (up to half the CPU) and a
// run over 100,000 files took five times as long as it should. So the limit follows the
// live heap: after every collection it is set to twice the live heap, never under a
// floor. The heap then grows to at most max(floor, 2 x live): GOGC=400's speed where
// that fits, GOGC=100's footprint where it does not.
//
// The live heap it follows is the smallest of the last few collections'. A collection
// that runs while the program allocates fast (ward lint building a namespace's part of
// the inventory) counts everything allocated during it as live, and one such reading
// would raise the limit, and the peak memory, for no data that stays. A live heap that
// really grows is followed a few collections later.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync/atomic"
)

// Settings for Start.
type Settings struct {
	// Percent is the GOGC percentage to run with.
	Percent int
	// Floor is the memory limit while the live heap is small, in bytes.
	Floor int64
}

// Default is what ward lint runs with: GOGC=400, and a limit of 640 MiB or twice the
// live heap, whichever is more. ward lint holds ~1.3 KB per object between its passes
// (a live heap of ~230 MB at 175,000 objects, ~300 MB as collections during fast
// allocation count it), so the floor keeps a run of that size well under 1 GiB of
// memory (peaks of 740-790 MiB measured; with a 768 MiB floor, 880 MiB to 1.1 GiB)
// while collecting every ~350 MB of allocation. Runs of up to ~20,000 files never reach
// it: GOGC=400 sets their pace.
func Default() Settings { return Settings{Percent: 400, Floor: 640 << 20} }

// Limit is the memory limit for a live heap of live bytes.
func (s Settings) Limit(live uint64) int64 {
	return max(s.Floor, int64(min(live, 1<<61))*2)
}

// Start applies s, unless the user set GOGC or GOMEMLIMIT (each setting the user made
// wins; with GOMEMLIMIT set, the limit is not moved). It is called once, early in main;
// stop ends the moving of the limit (tests).
func Start(s Settings, env func(string) (string, bool)) (stop func()) {
	if _, ok := env("GOGC"); !ok {
		debug.SetGCPercent(s.Percent)
	}
	if _, ok := env("GOMEMLIMIT"); ok {
		return func() {}
	}
	debug.SetMemoryLimit(s.Floor)
	t := &tuner{s: s, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.arm()
	return func() { t.stopped.Store(true) }
}

// tuner moves the memory limit after each collection: a finalizer on an unreachable
// sentinel runs once per cycle and arms the next one.
type tuner struct {
	s      Settings
	sample []metrics.Sample // used by the finalizer goroutine only, as recent is
	// recent are the live heaps of the last collections, oldest overwritten first.
	recent  [recentCollections]uint64
	n       int
	stopped atomic.Bool
}

// recentCollections is how many collections' live heaps the limit follows the least of.
const recentCollections = 4

func (t *tuner) arm() {
	sentinel := new([16]byte) // a pointer-free allocation that is not tiny-allocated
	runtime.SetFinalizer(sentinel, func(*[16]byte) {
		if t.stopped.Load() {
			return
		}
		t.tune()
		t.arm()
	})
}

func (t *tuner) tune() {
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	debug.SetMemoryLimit(t.next(t.sample[0].Value.Uint64()))
}

// next records the live heap of a collection and returns the limit to set.
func (t *tuner) next(live uint64) int64 {
	t.recent[t.n%recentCollections] = live
	t.n++
	return t.s.Limit(slices.Min(t.recent[:min(t.n, recentCollections)]))
}
