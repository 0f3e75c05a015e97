package lint

import (
	"runtime"
	"testing"

	"github.com/wardsec/ward/bench/gen"
)

// BenchmarkRun lints 1,000 files of the benchmark corpus (seed 1) with every rule, as
// ward lint does before it writes a report. Besides the time per document it reports
// what the run keeps of each object from its first pass to its second (the live heap
// then, less the live heap before the run), in bytes and in heap objects: what the
// garbage collector marks again at every collection of a long run, and what made
// 100,000 files cost more per document than 10,000 until records (record.go) kept it
// small.
func BenchmarkRun(b *testing.B) {
	dir := b.TempDir()
	st, err := gen.Generate(dir, 1000, 1)
	if err != nil {
		b.Fatal(err)
	}
	eng, settings := newEngine(b)
	if err := eng.Plan(b.Context()); err != nil {
		b.Fatal(err)
	}
	opts := Options{Paths: []string{dir}, Settings: settings}

	var before, kept runtime.MemStats
	var objects int
	measure := func(into *runtime.MemStats) {
		b.StopTimer()
		// Twice: what sync.Pools held survives one collection.
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(into)
		b.StartTimer()
	}
	b.ReportAllocs()
	for b.Loop() {
		measure(&before)
		res, err := run(b.Context(), eng, opts, func() { measure(&kept) })
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Errors) > 0 || len(res.Findings) == 0 {
			b.Fatalf("%d findings, errors %v", len(res.Findings), res.Errors)
		}
		objects = res.Summary.Objects
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*st.Documents), "ns/document")
	// The last run's: each run keeps the same.
	b.ReportMetric(float64(int64(kept.HeapAlloc)-int64(before.HeapAlloc))/float64(objects), "kept-B/object")
	b.ReportMetric(float64(int64(kept.HeapObjects)-int64(before.HeapObjects))/float64(objects), "kept-objects/object")
}
