package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInitOrder checks what gcstart and preload rely on: Go initialises them before the
// heavy package inits that ward serve links, which they are there to get ahead of. Go
// orders package init by the spec (dependencies first, then the lowest import path among
// the packages ready), so an import added to either package could move it; this test
// says so.
func TestInitOrder(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), wardBin, "lint", "examples/good")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ward lint examples/good: %v\n%s", err, out)
	}
	// Lines read "init <package> @<ms> ms, <ms> ms clock, <bytes> bytes, <n> allocs".
	order := map[string]int{}
	allocated := map[string]int{} // bytes allocated by init before the package's own
	total := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[0] != "init" {
			continue
		}
		order[f[1]] = len(order)
		allocated[f[1]] = total
		n, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("unexpected inittrace line %q", sc.Text())
		}
		total += n
	}
	const (
		gcstart = "github.com/wardsec/ward/cmd/ward/internal/gcstart"
		preload = "github.com/wardsec/ward/cmd/ward/internal/preload"
	)
	for _, p := range []string{gcstart, preload, "k8s.io/client-go/kubernetes/scheme", "sigs.k8s.io/controller-runtime/pkg/client/apiutil"} {
		if _, ok := order[p]; !ok {
			t.Fatalf("%s is not in the init trace:\n%s", p, out)
		}
	}
	// The first collection comes at 4 MB of heap (GOGC=100): the settings must be in
	// place well before.
	if a := allocated[gcstart]; a > 1<<20 {
		t.Errorf("gcstart initialises after %d bytes of allocation, want under 1 MiB", a)
	}
	for _, heavy := range []string{"k8s.io/client-go/kubernetes/scheme", "sigs.k8s.io/controller-runtime/pkg/client/apiutil"} {
		if order[preload] > order[heavy] {
			t.Errorf("preload initialises after %s: the rules would not compile beside its init", heavy)
		}
	}
}

// BenchmarkStartup runs the built binary from start to exit: the pre-commit case (one
// file) and process start alone (version), as BENCHMARKS.md's "Single file" does with
// hyperfine, here for benchstat. cpu-ms/op is user plus system time, the steadier
// number on a shared machine.
func BenchmarkStartup(b *testing.B) {
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"lint-one-file", []string{"lint", "examples/bad/shop.yaml"}},
		{"version", []string{"version"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var cpu time.Duration
			for b.Loop() {
				cmd := exec.CommandContext(b.Context(), wardBin, bc.args...)
				cmd.Dir = repoRoot
				var ee *exec.ExitError
				if err := cmd.Run(); err != nil && !errors.As(err, &ee) {
					b.Fatal(err)
				}
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
		})
	}
}
