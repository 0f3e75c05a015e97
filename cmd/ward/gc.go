package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/go-logr/logr"

	"github.com/wardsec/ward/internal/cgroup"
)

// GC settings ward serve chooses when the user has not set GOGC or GOMEMLIMIT. Every
// other command runs with the short-run settings cmd/ward/internal/gcstart makes before
// package init; serve puts the defaults back (gcstart.LongRun) and applies these.
const (
	// serveGCPercent: ward serve's live heap is small (the compiled rules and the
	// cluster inventory, ~30 MB) and nearly all it allocates is the garbage of one
	// review, so at the default GOGC=100 the collector runs several times a second
	// under load, and its assists and stack re-growth land in the reviews' latency.
	serveGCPercent = 400
	// serveGCPercentBounded is serve's GOGC when a memory limit is in force (the
	// cgroup's, or GOMEMLIMIT set by the user): the limit, not GOGC, then bounds the heap,
	// and a collection every few thousand reviews instead of every few hundred takes
	// the collector out of the latency tail. loadgen at 1,000 reviews/s with the soft
	// limit of the example Deployment (512Mi): p99 1.41-1.84 ms at 1600 against
	// 2.25-2.56 ms at 400, RSS ~190 MiB against ~97.
	serveGCPercentBounded = 1600
	// serveMemoryFraction of the cgroup memory limit is the soft limit of ward serve's
	// heap: the collector works harder as the heap nears it, well before the container
	// is OOM-killed, leaving the rest for stacks, the runtime and the page cache.
	serveMemoryFraction = 0.85
)

// gcPlan is what ward sets of the collector; a zero field leaves that setting alone.
type gcPlan struct {
	percent int
	limit   int64
	// cgroupLimit is the memory limit limit derives from, 0 if none.
	cgroupLimit uint64
}

func (p gcPlan) apply() {
	if p.percent != 0 {
		debug.SetGCPercent(p.percent)
	}
	if p.limit != 0 {
		debug.SetMemoryLimit(p.limit)
	}
}

// serveGC is ward serve's plan: a soft memory limit at serveMemoryFraction of the
// cgroup's memory limit when there is one, and a higher GOGC, higher still when a
// memory limit bounds the heap. GOGC and GOMEMLIMIT set by the user win. An unreadable
// cgroup is no limit: the error is returned beside a usable plan, for the log.
func serveGC(lookupEnv func(string) (string, bool), memoryLimit func() (uint64, bool, error)) (gcPlan, error) {
	var p gcPlan
	var err error
	userLimit, set := lookupEnv("GOMEMLIMIT")
	bounded := set && userLimit != "off"
	if !set {
		limit, ok, lerr := memoryLimit()
		if lerr != nil {
			err = fmt.Errorf("read the cgroup memory limit: %w", lerr)
		} else if ok {
			p.cgroupLimit = limit
			p.limit = int64(float64(limit) * serveMemoryFraction)
			bounded = true
		}
	}
	if _, ok := lookupEnv("GOGC"); !ok {
		p.percent = serveGCPercent
		if bounded {
			p.percent = serveGCPercentBounded
		}
	}
	return p, err
}

// tuneServeGC applies serve's plan and logs it.
func tuneServeGC(log logr.Logger) {
	p, err := serveGC(os.LookupEnv, cgroup.MemoryLimit)
	if err != nil {
		log.Error(err, "no memory limit for the garbage collector")
	}
	p.apply()
	// Read back what is in force, the user's settings included: SetGCPercent returns
	// the previous value, restored at once (nothing else runs yet).
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	log.Info("garbage collector", "gcPercent", percent, "memoryLimit", debug.SetMemoryLimit(-1), "cgroupMemoryLimit", p.cgroupLimit)
}
