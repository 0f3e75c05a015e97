package webhook

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRegisterRuntimeCollectors: the Go runtime and process metrics that
// controller-runtime's root package registers are there, and registering them twice
// (a process that links that package as well) is no error.
func TestRegisterRuntimeCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 2 {
		if err := RegisterRuntimeCollectors(reg); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, want := range []string{
		"go_goroutines", "go_gc_duration_seconds", "go_memstats_heap_alloc_bytes",
		"go_sched_gomaxprocs_threads", // from collectors.MetricsAll
		"process_cpu_seconds_total", "process_resident_memory_bytes",
	} {
		if !got[want] {
			t.Errorf("%s is not registered", want)
		}
	}
}
