// Command profile runs ward's lint pipeline in-process (what `ward lint -o json` does)
// with a CPU, heap or trace profile, and prints the time of each phase:
//
//	go run ./bench/cmd/profile -cpuprofile bench/out/cpu.prof bench/out/corpus-10000
//
// -memprofile-at takes the heap profile during the run, after a collection, which shows
// what a long run holds while it runs (the end, after lint.Run, shows what it kept).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/wardsec/ward/internal/gctune"
	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/lint"
	"github.com/wardsec/ward/pkg/report"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile")
	mem := flag.String("memprofile", "", "write a heap profile at the end (or at -memprofile-at)")
	memAt := flag.Duration("memprofile-at", 0, "take the heap profile this long after the pipeline starts, not at the end")
	tr := flag.String("trace", "", "write an execution trace")
	flag.Parse()
	// The collector as ward lint sets it (cmd/ward/internal/gcstart), so that the
	// profile shows its work as a run of ward does it.
	gctune.Start(gctune.Default(), os.LookupEnv)
	if err := run(*cpu, *mem, *memAt, *tr, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(1)
	}
}

func run(cpu, mem string, memAt time.Duration, tr string, paths []string) error {
	ctx := context.Background()
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if tr != "" {
		f, err := os.Create(tr)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}
	if mem != "" && memAt > 0 {
		path := mem
		timer := time.AfterFunc(memAt, func() {
			if err := writeHeap(path); err != nil {
				fmt.Fprintln(os.Stderr, "profile:", err)
			}
		})
		defer timer.Stop()
		mem = ""
	}
	t0 := time.Now()
	eng, err := engine.New(ctx, engine.Options{})
	if err != nil {
		return err
	}
	t1 := time.Now()
	cfg, _ := config.Load("")
	settings, err := cfg.Resolve(eng.Rules(), config.Flags{})
	if err != nil {
		return err
	}
	res, err := lint.Run(ctx, eng, lint.Options{Paths: paths, Settings: settings})
	if err != nil {
		return err
	}
	t2 := time.Now()
	f, err := report.New("json", report.Options{Rules: eng.Rules().List()})
	if err != nil {
		return err
	}
	if err := f.Format(io.Discard, res); err != nil {
		return err
	}
	t3 := time.Now()
	fmt.Fprintf(os.Stderr, "engine.New %v, lint.Run %v, format %v; %d objects, %d findings\n",
		t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), res.Summary.Objects, len(res.Findings))
	if mem != "" {
		return writeHeap(mem)
	}
	return nil
}

// writeHeap writes a heap profile after a collection, so that it shows what is live.
func writeHeap(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
