// Command profile runs ward's lint pipeline in-process (what `ward lint -o json` does)
// with a CPU, heap or trace profile, and prints the time of each phase:
//
//	go run ./bench/cmd/profile -cpuprofile bench/out/cpu.prof bench/out/corpus-10000
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

	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/lint"
	"github.com/wardsec/ward/pkg/report"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile")
	mem := flag.String("memprofile", "", "write a heap profile at the end")
	tr := flag.String("trace", "", "write an execution trace")
	flag.Parse()
	if err := run(*cpu, *mem, *tr, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(1)
	}
}

func run(cpu, mem, tr string, paths []string) error {
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
		runtime.GC()
		f, err := os.Create(mem)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		return pprof.WriteHeapProfile(f)
	}
	return nil
}
