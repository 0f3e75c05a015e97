// Command loadgen is the webhook half of the benchmark: it starts a real etcd and
// kube-apiserver (controller-runtime's envtest, KUBEBUILDER_ASSETS), seeds them with the
// corpus's namespaces and NetworkPolicies, starts `ward serve` over TLS on loopback, and
// drives /validate with AdmissionReviews of Deployments at fixed rates (vegeta, open
// loop) for a fixed time each. It prints, per rate, the latency percentiles, the errors,
// the requests ward refused as overloaded (HTTP 429), the CPU time ward used per request,
// and ward's resident memory before, at its peak during, and after the rate.
//
//	KUBEBUILDER_ASSETS=$(hack/e2e-assets.sh) go run ./bench/cmd/loadgen -rates 200,1000,2000 -duration 30s
//
// -ward-args passes flags to `ward serve` and -ward-env sets its environment (GOGC=200);
// -pprof writes a CPU profile of ward for each rate and a heap profile after it into -out.
//
// Results are also written to bench/out/webhook.md.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/wardsec/ward/bench/gen"
	"github.com/wardsec/ward/pkg/manifest"
	"github.com/wardsec/ward/webhook/testcert"
)

type options struct {
	rates    []int
	duration time.Duration
	warmup   time.Duration
	out      string
	ward     string
	wardArgs []string
	wardEnv  []string
	pprof    bool
	rssEvery time.Duration
}

func main() {
	var o options
	rates := flag.String("rates", "200,1000,2000", "request rates per second, comma-separated")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long each rate is held")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "warm-up at the lowest rate, not reported")
	flag.StringVar(&o.out, "out", "bench/out", "directory for the ward binary and the results")
	flag.StringVar(&o.ward, "ward", "", "ward binary (default: build ./cmd/ward)")
	wardArgs := flag.String("ward-args", "", "extra flags of ward serve, space-separated")
	// The example Deployment (examples/deploy) gives ward serve a 512Mi memory limit, from
	// which serve sets GOMEMLIMIT to 85% and its GOGC for a bounded heap (cmd/ward/gc.go);
	// this machine's cgroup has no limit, so the default environment stands in for it.
	wardEnv := flag.String("ward-env", "GOMEMLIMIT=435MiB", "environment of ward serve, space-separated NAME=VALUE (default: the soft limit ward serve derives from the example Deployment's 512Mi)")
	flag.BoolVar(&o.pprof, "pprof", false, "profile ward: a CPU profile per rate and a heap profile after it, in -out")
	flag.DurationVar(&o.rssEvery, "rss-every", 0, "also print ward's RSS at this interval during each rate (0: only the table)")
	flag.Parse()
	o.wardArgs = strings.Fields(*wardArgs)
	o.wardEnv = strings.Fields(*wardEnv)
	for s := range strings.SplitSeq(*rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fatal(fmt.Errorf("bad rate %q", s))
		}
		o.rates = append(o.rates, n)
	}
	if err := run(o); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}

func run(o options) error {
	// Every in-flight request of an overloaded server holds a connection: let the load
	// generator open as many as the system allows.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: run with KUBEBUILDER_ASSETS=$(hack/e2e-assets.sh)")
	}
	dir, err := os.MkdirTemp("", "ward-loadgen-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary directory
	if o.ward == "" {
		o.ward = filepath.Join(dir, "ward")
		fmt.Fprintln(os.Stderr, "building ward")
		cmd := exec.Command("go", "build", "-trimpath", "-o", o.ward, "./cmd/ward")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build ward: %w", err)
		}
	}

	fmt.Fprintln(os.Stderr, "starting etcd and kube-apiserver")
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	defer func() { _ = env.Stop() }()
	ctx := context.Background()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := seed(ctx, client); err != nil {
		return err
	}
	user, err := env.AddUser(envtest.User{Name: "ward-bench", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return err
	}

	ca, err := testcert.NewCA()
	if err != nil {
		return err
	}
	serving, err := ca.Issue()
	if err != nil {
		return err
	}
	certDir := filepath.Join(dir, "tls")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return err
	}
	if err := serving.Write(certDir); err != nil {
		return err
	}
	port, probe, pprofPort := freePort(), freePort(), freePort()
	args := []string{"serve", "--kubeconfig", kubeconfig, "--cert-dir", certDir,
		"--port", strconv.Itoa(port), "--metrics-bind-address", "0",
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probe)}
	if o.pprof {
		args = append(args, "--pprof-bind-address", fmt.Sprintf("127.0.0.1:%d", pprofPort))
	}
	ward := exec.Command(o.ward, append(args, o.wardArgs...)...)
	ward.Env = append(append(os.Environ(), "KUBECONFIG="), o.wardEnv...)
	var wardLog bytes.Buffer
	ward.Stdout, ward.Stderr = &wardLog, &wardLog
	if err := ward.Start(); err != nil {
		return fmt.Errorf("start ward serve: %w", err)
	}
	defer func() {
		_ = ward.Process.Signal(syscall.SIGTERM)
		_ = ward.Wait()
	}()
	if err := waitReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", probe), 60*time.Second); err != nil {
		return fmt.Errorf("%w\nward serve said:\n%s", err, wardLog.String())
	}
	fmt.Fprintf(os.Stderr, "ward serve ready on :%d (pid %d)\n", port, ward.Process.Pid)

	targets, rough, err := reviews(dir, port)
	if err != nil {
		return err
	}
	tlsConfig := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	denied, err := check(targets, tlsConfig, rough)
	if err != nil {
		return err
	}

	var b strings.Builder
	extra := ""
	if len(o.wardArgs)+len(o.wardEnv) > 0 {
		extra = fmt.Sprintf(" ward serve with %q.", strings.Join(append(slices.Clone(o.wardEnv), o.wardArgs...), " "))
	}
	fmt.Fprintf(&b, "`ward serve` on loopback over TLS, %d distinct Deployment AdmissionReviews (%d denied), keep-alive connections; %s per rate after a %s warm-up.%s Machine load average at start: %s.\n\n",
		len(targets), denied, o.duration, o.warmup, extra, loadavg())
	b.WriteString("| rate/s | requests | p50 ms | p90 ms | p99 ms | max ms | success | refused (429) | errors | ward CPU µs/request | RSS before / peak / after MiB |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|\n")
	if o.warmup > 0 {
		attack(targets, tlsConfig, o.rates[0], o.warmup)
	}
	pid := ward.Process.Pid
	for _, rate := range o.rates {
		before, cpu0 := rssMiB(pid), cpuSeconds(pid)
		sampler := sampleRSS(pid, rate, o.rssEvery)
		var prof chan error
		if o.pprof {
			prof = make(chan error, 1)
			go func() {
				prof <- fetch(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", pprofPort, int(o.duration.Seconds())),
					filepath.Join(o.out, fmt.Sprintf("ward-cpu-%d.pprof", rate)))
			}()
		}
		m := attack(targets, tlsConfig, rate, o.duration)
		peak := sampler()
		after, cpu := rssMiB(pid), cpuSeconds(pid)-cpu0
		if o.pprof {
			if err := <-prof; err != nil {
				return err
			}
			if err := fetch(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap", pprofPort), filepath.Join(o.out, fmt.Sprintf("ward-heap-%d.pprof", rate))); err != nil {
				return err
			}
		}
		refused := uint64(m.StatusCodes["429"]) //nolint:gosec // G115: a count, never negative
		errs := fmt.Sprint(failed(m) - refused)
		if kinds := errorKinds(m.Errors); kinds != "" {
			errs += " (" + kinds + ")"
		}
		ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %.2f%% | %d | %s | %.0f | %.1f / %.1f / %.1f |\n", rate, m.Requests,
			ms(m.Latencies.P50), ms(m.Latencies.P90), ms(m.Latencies.P99), ms(m.Latencies.Max), m.Success*100, refused, errs,
			cpu/float64(max(m.Requests, 1))*1e6, before, max(peak, before, after), after)
		fmt.Fprintf(os.Stderr, "%d/s: p50 %s p99 %s max %s success %.2f%% refused %d\n", rate, m.Latencies.P50, m.Latencies.P99, m.Latencies.Max, m.Success*100, refused)
	}
	fmt.Print(b.String())
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.out, "webhook.md"), []byte(b.String()), 0o644)
}

// seed creates the corpus's namespaces, with a deny-all NetworkPolicy in three of every
// four, so that default-deny reads a realistic inventory.
func seed(ctx context.Context, c kubernetes.Interface) error {
	for i := range gen.Namespaces {
		ns := fmt.Sprintf("team-%02d", i)
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
		if i%4 == 0 {
			continue
		}
		np := &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "default-deny", Namespace: ns},
			Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
		}
		if _, err := c.NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create policy in %s: %w", ns, err)
		}
	}
	return nil
}

// reviews turns the Deployments of a generated corpus into AdmissionReview targets, and
// counts how many of them ward should deny.
func reviews(dir string, port int) ([]vegeta.Target, int, error) {
	corpus := filepath.Join(dir, "corpus")
	if _, err := gen.Generate(corpus, 400, 7); err != nil {
		return nil, 0, err
	}
	set := manifest.Read(context.Background(), []string{corpus}, manifest.Options{})
	url := fmt.Sprintf("https://127.0.0.1:%d/validate", port)
	header := http.Header{"Content-Type": []string{"application/json"}}
	var targets []vegeta.Target
	denied := 0
	for i, o := range set.Objects {
		if o.Kind() != "Deployment" {
			continue
		}
		ns := o.Namespace()
		if ns == "" {
			ns = "default"
		}
		obj, err := json.Marshal(o.Value)
		if err != nil {
			return nil, 0, err
		}
		body, err := gen.DeploymentReview(i, ns, o.Name(), obj)
		if err != nil {
			return nil, 0, err
		}
		targets = append(targets, vegeta.Target{Method: http.MethodPost, URL: url, Body: body, Header: header})
		if deniedByDropNetRaw(o.Value) {
			denied++
		}
	}
	if len(targets) == 0 {
		return nil, 0, errors.New("the corpus holds no Deployment")
	}
	return targets, denied, nil
}

// deniedByDropNetRaw is a rough expectation, for the sanity check only: a container
// without a securityContext drops nothing.
func deniedByDropNetRaw(obj map[string]any) bool {
	spec, _ := obj["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	cs, _ := pod["containers"].([]any)
	for _, c := range cs {
		m, _ := c.(map[string]any)
		if _, ok := m["securityContext"]; !ok {
			return true
		}
	}
	return false
}

// check sends every review once and verifies that ward answers each with an
// AdmissionReview for the same uid, and denies some of them.
func check(targets []vegeta.Target, tlsConfig *tls.Config, roughDenied int) (int, error) {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}, Timeout: 10 * time.Second}
	denied := 0
	for _, t := range targets {
		resp, err := client.Post(t.URL, "application/json", bytes.NewReader(t.Body))
		if err != nil {
			return 0, fmt.Errorf("sanity check: %w", err)
		}
		var out struct {
			Response struct {
				UID     string `json:"uid"`
				Allowed bool   `json:"allowed"`
			} `json:"response"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		_ = resp.Body.Close() // read to the end already
		if err != nil || resp.StatusCode != http.StatusOK || out.Response.UID == "" {
			return 0, fmt.Errorf("sanity check: status %d, decode: %w", resp.StatusCode, err)
		}
		if !out.Response.Allowed {
			denied++
		}
	}
	if denied < roughDenied {
		return 0, fmt.Errorf("sanity check: ward denied %d reviews, expected at least %d", denied, roughDenied)
	}
	fmt.Fprintf(os.Stderr, "sanity check: %d reviews answered, %d denied\n", len(targets), denied)
	return denied, nil
}

// attack holds rate requests per second for d and returns vegeta's metrics.
func attack(targets []vegeta.Target, tlsConfig *tls.Config, rate int, d time.Duration) *vegeta.Metrics {
	attacker := vegeta.NewAttacker(
		vegeta.TLSConfig(tlsConfig),
		vegeta.KeepAlive(true),
		vegeta.HTTP2(false),
		vegeta.Timeout(10*time.Second),
		vegeta.Workers(uint64(max(rate/50, 10))),
		vegeta.MaxBody(1<<16),
	)
	var m vegeta.Metrics
	for res := range attacker.Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{Freq: rate, Per: time.Second}, d, fmt.Sprint(rate)) {
		m.Add(res)
	}
	m.Close()
	return &m
}

// sampleRSS reads ward's RSS every 200 ms until the returned function is called, which
// returns the peak; every interval (if not zero) it also prints the RSS, for long runs.
func sampleRSS(pid, rate int, every time.Duration) func() float64 {
	stop, done := make(chan struct{}), make(chan float64)
	go func() {
		peak, start, last := 0.0, time.Now(), time.Now()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				done <- peak
				return
			case now := <-tick.C:
				rss := rssMiB(pid)
				peak = max(peak, rss)
				if every > 0 && now.Sub(last) >= every {
					last = now
					fmt.Fprintf(os.Stderr, "%d/s at %s: RSS %.1f MiB\n", rate, now.Sub(start).Round(time.Second), rss)
				}
			}
		}
	}()
	return func() float64 {
		close(stop)
		return <-done
	}
}

// fetch saves what url answers into path.
func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: HTTP %d", url, resp.StatusCode)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	return f.Close()
}

// failed counts the requests that did not get a 200.
func failed(m *vegeta.Metrics) uint64 {
	return m.Requests - uint64(m.StatusCodes["200"]) //nolint:gosec // G115: a count, never negative
}

// errorKinds names the distinct kinds of error vegeta saw, without the addresses.
func errorKinds(errs []string) string {
	kinds := map[string]bool{}
	for _, e := range errs {
		switch {
		case strings.HasPrefix(e, "429 "):
			// Counted in its own column.
		case strings.Contains(e, "connection reset"):
			kinds["connection reset"] = true
		case strings.Contains(e, "Client.Timeout"), strings.Contains(e, "deadline exceeded"):
			kinds["client timeout (10 s)"] = true
		case strings.Contains(e, "too many open files"):
			kinds["load generator out of file descriptors"] = true
		default:
			if len(e) > 60 {
				e = e[:60] + "..."
			}
			kinds[e] = true
		}
	}
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

func waitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("ward serve not ready after %s", timeout)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// rssMiB reads the resident set of a process from /proc.
func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds reads the user and system CPU time of a process from /proc.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count fields after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
