// Command benchrun is `make bench`: it builds ward and the floor programs, installs the
// pinned Conftest into ./bin if it is missing, generates the corpora, runs every tool on
// the same corpus (interleaved, median of -runs), cross-checks the finding counts of
// ward, Conftest and the evaluation floor rule by rule, times ward with every rule
// disabled (what reading and decoding cost it), measures the single-file case,
// and prints the side-by-side table (also written to bench/out/results.md).
//
//	go run ./bench/cmd/benchrun                       # 100, 1,000 and 10,000 files
//	go run ./bench/cmd/benchrun -sizes 100000 -runs 3  # the large size
//	WARD_BENCH_LARGE=1 go run ./bench/cmd/benchrun     # the default sizes and 100,000
//
// Run it from the repository root. Corpora and results stay in bench/out (gitignored).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wardsec/ward/bench/gen"
	"github.com/wardsec/ward/bench/internal/measure"
)

// conftestVersion is the Conftest the benchmark compares against, installed with
// go install into ./bin, never vendored.
const conftestVersion = "v0.71.1"

// genVersion changes whenever the generator's output changes, so that stale corpora
// are regenerated.
const genVersion = "1"

type options struct {
	sizes    []int
	runs     int
	seed     uint64
	out      string
	single   int
	skipConf bool
}

func main() {
	var o options
	sizes := flag.String("sizes", "100,1000,10000", "corpus sizes in files, comma-separated")
	flag.IntVar(&o.runs, "runs", 5, "runs per tool and size; the median is reported")
	flag.Uint64Var(&o.seed, "seed", 1, "corpus seed")
	flag.StringVar(&o.out, "out", "bench/out", "directory for binaries, corpora and results")
	flag.IntVar(&o.single, "single-runs", 40, "runs of the single-file case")
	flag.BoolVar(&o.skipConf, "skip-conftest", false, "do not run Conftest")
	flag.Parse()
	for s := range strings.SplitSeq(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fatal(fmt.Errorf("bad size %q", s))
		}
		o.sizes = append(o.sizes, n)
	}
	if os.Getenv("WARD_BENCH_LARGE") != "" && !slices.Contains(o.sizes, 100000) {
		o.sizes = append(o.sizes, 100000)
	}
	if err := run(o); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchrun:", err)
	os.Exit(1)
}

// sample is one run of one tool.
type sample struct {
	wall, cpu float64 // seconds
	rssKB     int64
	findings  map[string]int
	docs      int
}

// tool is one column of the benchmark.
type tool struct {
	name string
	// cmd builds the command for a corpus; out receives its standard output.
	cmd func(dir string) *exec.Cmd
	// parse reads a run's output: finding counts by rule, and for the floors their own
	// timing of the measured phase.
	parse func(stdout []byte, s *sample) error
	// inner marks a tool that reports the timing of its measured phase itself.
	inner bool
	// maxFiles, when set, is the largest corpus the tool runs on.
	maxFiles int
}

// quadraticMax bounds the corpora of the tools whose default-deny is quadratic in the
// size of a namespace: Conftest with --combine, and the evaluation floor, which has no
// memo, evaluate "does this namespace hold a deny-all policy" again for every workload.
// At 100,000 files (3,500 objects a namespace) the evaluation floor ran for 16 CPU
// minutes and 7 GB before it was stopped.
const quadraticMax = 10000

func run(o options) error {
	bin := filepath.Join(o.out, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	env := machine()
	fmt.Fprintf(os.Stderr, "building ward and the floors into %s\n", bin)
	for _, b := range []struct{ name, pkg string }{{"ward", "./cmd/ward"}, {"parsefloor", "./bench/cmd/parsefloor"}, {"evalfloor", "./bench/cmd/evalfloor"}} {
		if err := sh("go", "build", "-trimpath", "-o", filepath.Join(bin, b.name), b.pkg); err != nil {
			return err
		}
	}
	conftest := filepath.Join(root, "bin", "conftest")
	if !o.skipConf {
		if err := ensureConftest(conftest, root); err != nil {
			return err
		}
	}
	policy := filepath.Join(root, "bench", "conftest", "policy")
	ward := filepath.Join(bin, "ward")
	rulesOff, err := disableAll(ward)
	if err != nil {
		return err
	}
	// The order is the table's; ward lint comes first, the two floors last.
	tools := []tool{
		{name: "ward lint", cmd: func(dir string) *exec.Cmd { return exec.Command(ward, "lint", "-o", "json", dir) }, parse: parseWard},
		{name: "Conftest " + conftestVersion, cmd: func(dir string) *exec.Cmd {
			return exec.Command(conftest, "test", "--combine", "--no-color", "-o", "json", "-p", policy, dir)
		}, parse: parseConftest, maxFiles: quadraticMax},
		// ward with every rule disabled: reading, decoding, values, positions and the
		// report, what ward costs before any rule runs.
		{name: "ward, rules off", cmd: func(dir string) *exec.Cmd {
			return exec.Command(ward, slices.Concat([]string{"lint", "-o", "json"}, rulesOff, []string{dir})...)
		}, parse: parseWardRulesOff},
		{name: "decode floor", cmd: func(dir string) *exec.Cmd { return exec.Command(filepath.Join(bin, "parsefloor"), dir) }, parse: parseFloor},
		{name: "eval floor", cmd: func(dir string) *exec.Cmd { return exec.Command(filepath.Join(bin, "evalfloor"), dir) }, parse: parseFloor, inner: true, maxFiles: quadraticMax},
	}
	if o.skipConf {
		tools = slices.Delete(tools, 1, 2)
	}
	at := func(name string) int {
		return slices.IndexFunc(tools, func(t tool) bool { return strings.HasPrefix(t.name, name) })
	}
	confI, offI, floorI := at("Conftest"), at("ward, rules off"), at("decode floor")

	var report strings.Builder
	fmt.Fprintf(&report, "Machine: %s\n\n", env)
	fmt.Fprintf(&report, "Command: `go run ./bench/cmd/benchrun -sizes %s -runs %d` (seed %d), %s\n\n", joinInts(o.sizes), o.runs, o.seed, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	report.WriteString("| files | documents | tool | wall s | CPU s | peak RSS MiB | documents/s | findings |\n")
	report.WriteString("|---:|---:|---|---:|---:|---:|---:|---|\n")
	var ratios strings.Builder
	ratios.WriteString("| files | ward / Conftest (wall) | Conftest / ward (wall) | ward / decode floor (wall) | ward / decode floor (CPU) | rules off / decode floor (wall) | rules off / decode floor (CPU) | ward µs/document (wall) | counts agree |\n")
	ratios.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")

	for _, size := range o.sizes {
		dir, docs, err := corpus(o, size)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%d files (%d documents): %d runs of %d tools\n", size, docs, o.runs, len(tools))
		samples := make([][]sample, len(tools))
		runs := func(t tool) bool { return t.maxFiles == 0 || size <= t.maxFiles }
		for r := range o.runs {
			for i, t := range tools {
				if !runs(t) {
					continue
				}
				s, err := measureRun(t, dir)
				if err != nil {
					return fmt.Errorf("%s on %d files: %w", t.name, size, err)
				}
				fmt.Fprintf(os.Stderr, "  run %d %-16s wall %7.3fs cpu %7.3fs rss %5d MiB\n", r+1, t.name, s.wall, s.cpu, s.rssKB/1024)
				samples[i] = append(samples[i], s)
			}
		}
		med := make([]sample, len(tools))
		for i, t := range tools {
			if !runs(t) {
				fmt.Fprintf(&report, "| %s | %s | %s | – | – | – | – | not run over %s files |\n",
					thousands(size), thousands(docs), t.name, thousands(t.maxFiles))
				continue
			}
			med[i] = median(samples[i])
			rss := fmt.Sprintf("%.0f", float64(med[i].rssKB)/1024)
			if t.inner {
				rss = "–"
			}
			fmt.Fprintf(&report, "| %s | %s | %s | %.3f | %.3f | %s | %s | %s |\n",
				thousands(size), thousands(docs), t.name, med[i].wall, med[i].cpu, rss,
				thousands(int(float64(docs)/med[i].wall)), counts(med[i].findings))
		}
		wardS, off, floor := med[0], med[offI], med[floorI]
		agree := "yes"
		for i := 1; i < len(med); i++ {
			if med[i].findings != nil && !equalCounts(med[i].findings, wardS.findings) {
				agree = "NO: " + tools[i].name + " differs"
			}
		}
		conf := "–"
		confInv := "–"
		if confI >= 0 && runs(tools[confI]) {
			conf = fmt.Sprintf("%.3f", wardS.wall/med[confI].wall)
			confInv = fmt.Sprintf("%.1f×", med[confI].wall/wardS.wall)
		}
		fmt.Fprintf(&ratios, "| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.1f | %s |\n", thousands(size), conf, confInv,
			wardS.wall/floor.wall, wardS.cpu/floor.cpu, off.wall/floor.wall, off.cpu/floor.cpu, wardS.wall*1e6/float64(docs), agree)
	}
	report.WriteString("\n")
	report.WriteString(ratios.String())
	report.WriteString("\n")

	single, err := singleFile(o, ward, conftest, policy)
	if err != nil {
		return err
	}
	report.WriteString(single)

	fmt.Print(report.String())
	return os.WriteFile(filepath.Join(o.out, "results.md"), []byte(report.String()), 0o644)
}

// measureRun runs one tool once: wall time from start to exit, CPU time and peak RSS
// of the child from its rusage.
func measureRun(t tool, dir string) (sample, error) {
	cmd := t.cmd(dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start).Seconds()
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() != 1) { // 1: findings
		return sample{}, fmt.Errorf("%w\n%s", err, tail(stderr.String()))
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	s := sample{wall: wall, cpu: (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()}
	if ru != nil {
		s.rssKB = ru.Maxrss
	}
	if err := t.parse(stdout.Bytes(), &s); err != nil {
		return s, fmt.Errorf("%s output: %w", t.name, err)
	}
	return s, nil
}

func parseWard(out []byte, s *sample) error {
	var res struct {
		Findings []struct {
			Rule string `json:"rule"`
		} `json:"findings"`
		Summary struct {
			Objects int `json:"objects"`
			Errors  int `json:"errors"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return err
	}
	if res.Summary.Errors > 0 {
		return fmt.Errorf("%d input errors", res.Summary.Errors)
	}
	s.findings = map[string]int{}
	for _, f := range res.Findings {
		s.findings[f.Rule]++
	}
	s.docs = res.Summary.Objects
	return nil
}

// parseWardRulesOff reads ward's output with every rule disabled: no findings (a
// finding would mean a rule ran), no input errors, every object read.
func parseWardRulesOff(out []byte, s *sample) error {
	if err := parseWard(out, s); err != nil {
		return err
	}
	if n := len(s.findings); n > 0 {
		return fmt.Errorf("findings of %d rules with every rule disabled", n)
	}
	s.findings = nil // not a tool whose counts are cross-checked
	return nil
}

// disableAll returns the flags that disable every rule ward has, as `ward rules` lists
// them.
func disableAll(ward string) ([]string, error) {
	out, err := exec.Command(ward, "rules").Output()
	if err != nil {
		return nil, fmt.Errorf("ward rules: %w", err)
	}
	var flags []string
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); i > 0 && len(f) > 0 {
			flags = append(flags, "--disable", f[0])
		}
	}
	if len(flags) == 0 {
		return nil, errors.New("ward rules listed no rule")
	}
	return flags, nil
}

// parseConftest counts failures by the rule ID each message starts with.
func parseConftest(out []byte, s *sample) error {
	var res []struct {
		Failures []struct {
			Msg string `json:"msg"`
		} `json:"failures"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return err
	}
	s.findings = map[string]int{}
	for _, r := range res {
		for _, f := range r.Failures {
			id, _, _ := strings.Cut(f.Msg, ":")
			s.findings[id]++
		}
	}
	return nil
}

// parseFloor reads a floor's own report; the eval floor's timing replaces the process's,
// since its decoding and preparation are not what it measures.
func parseFloor(out []byte, s *sample) error {
	var r measure.Result
	if err := json.Unmarshal(out, &r); err != nil {
		return err
	}
	s.docs = r.Documents
	if r.FindingsByRule != nil {
		s.findings = r.FindingsByRule
		s.wall, s.cpu = r.Wall, r.CPU
	}
	return nil
}

// corpus generates (once) the corpus of size files and returns its directory and its
// number of documents.
func corpus(o options, size int) (string, int, error) {
	dir := filepath.Join(o.out, fmt.Sprintf("corpus-%d", size))
	stamp := filepath.Join(dir, ".stamp")
	want := fmt.Sprintf("gen %s seed %d size %d", genVersion, o.seed, size)
	if b, err := os.ReadFile(stamp); err == nil {
		var got string
		var docs int
		if _, err := fmt.Sscanf(string(b), "%s docs %d", &got, &docs); err == nil && strings.HasPrefix(string(b), want+" ") {
			return dir, docs, nil
		}
	}
	fmt.Fprintf(os.Stderr, "generating %d files into %s\n", size, dir)
	if err := os.RemoveAll(dir); err != nil {
		return "", 0, err
	}
	st, err := gen.Generate(dir, size, o.seed)
	if err != nil {
		return "", 0, err
	}
	if err := os.WriteFile(stamp, fmt.Appendf(nil, "%s docs %d\n", want, st.Documents), 0o644); err != nil {
		return "", 0, err
	}
	return dir, st.Documents, nil
}

// singleFile measures `ward lint one.yaml` from process start to exit, the pre-commit
// case, next to `ward version` (process start alone) and Conftest on the same file.
func singleFile(o options, ward, conftest, policy string) (string, error) {
	one := filepath.Join(o.out, "one.yaml")
	if err := gen.One(one, o.seed); err != nil {
		return "", err
	}
	cases := []struct {
		name string
		argv []string
	}{
		{"ward lint one.yaml", []string{ward, "lint", one}},
		{"ward version (process start only)", []string{ward, "version"}},
	}
	if !o.skipConf {
		cases = append(cases, struct {
			name string
			argv []string
		}{"conftest test one.yaml", []string{conftest, "test", "--no-color", "-p", policy, one}})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Single file (%d runs, after 3 warm-up runs):\n\n", o.single)
	b.WriteString("| command | median wall ms | p90 wall ms | median CPU ms |\n|---|---:|---:|---:|\n")
	for _, c := range cases {
		var walls, cpus []float64
		for i := range o.single + 3 {
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
			start := time.Now()
			err := cmd.Run()
			wall := time.Since(start).Seconds() * 1000
			var ee *exec.ExitError
			if err != nil && (!errors.As(err, &ee) || ee.ExitCode() != 1) {
				return "", fmt.Errorf("%s: %w", c.name, err)
			}
			if i < 3 {
				continue
			}
			walls = append(walls, wall)
			cpus = append(cpus, (cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()).Seconds()*1000)
		}
		slices.Sort(walls)
		slices.Sort(cpus)
		fmt.Fprintf(&b, "| `%s` | %.1f | %.1f | %.1f |\n", c.name, walls[len(walls)/2], walls[len(walls)*9/10], cpus[len(cpus)/2])
	}
	b.WriteString("\n")
	return b.String(), nil
}

// median takes the median of wall and CPU separately (and the largest RSS of the runs).
func median(ss []sample) sample {
	walls := make([]float64, len(ss))
	cpus := make([]float64, len(ss))
	var rss int64
	for i, s := range ss {
		walls[i], cpus[i] = s.wall, s.cpu
		rss = max(rss, s.rssKB)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	m := ss[0]
	m.wall, m.cpu, m.rssKB = walls[len(walls)/2], cpus[len(cpus)/2], rss
	return m
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func counts(m map[string]int) string {
	if m == nil {
		return "–"
	}
	keys := make([]string, 0, len(m))
	total := 0
	for k, v := range m {
		keys = append(keys, k)
		total += v
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %s", k, thousands(m[k]))
	}
	return fmt.Sprintf("%s (%s)", thousands(total), strings.Join(parts, ", "))
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// ensureConftest installs the pinned Conftest into ./bin with go install when it is
// not there yet, or is another version.
func ensureConftest(path, root string) error {
	// go version -m reads the module version go install built in.
	if out, err := exec.Command("go", "version", "-m", path).Output(); err == nil &&
		strings.Contains(string(out), "github.com/open-policy-agent/conftest\t"+conftestVersion) {
		return nil
	}
	fmt.Fprintf(os.Stderr, "installing conftest %s into %s\n", conftestVersion, filepath.Dir(path))
	cmd := exec.Command("go", "install", "github.com/open-policy-agent/conftest@"+conftestVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(root, "bin"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("install conftest: %w", err)
	}
	return nil
}

// machine describes where the benchmark runs: CPU, cores, memory, kernel, Go, load.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average at start " + strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("%s, %d cores%s%s, %s%s", model, runtime.NumCPU(), mem, kernel, runtime.Version(), load)
}
