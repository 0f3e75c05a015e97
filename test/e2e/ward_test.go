package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// wardProcess is one `ward serve` run as a subprocess.
type wardProcess struct {
	cmd         *exec.Cmd
	logPath     string
	metricsAddr string
	probeAddr   string
	done        chan struct{}
	err         error // the exit error, once done is closed
}

// startWard runs `ward serve` with config cfgYAML (and extra flags) on the suite's
// webhook port and waits until /readyz answers 200: the cache has synced and the server
// serves.
func startWard(t *testing.T, name, cfgYAML string, flags ...string) *wardProcess {
	t.Helper()
	cfgPath := filepath.Join(s.dir, name+".ward.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	metricsPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	probePort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	w := &wardProcess{
		logPath:     filepath.Join(s.dir, name+".log"),
		metricsAddr: "127.0.0.1:" + strconv.Itoa(metricsPort),
		probeAddr:   "127.0.0.1:" + strconv.Itoa(probePort),
		done:        make(chan struct{}),
	}
	logFile, err := os.Create(w.logPath)
	if err != nil {
		t.Fatal(err)
	}
	w.cmd = exec.Command(s.bin, append([]string{"serve",
		"--config", cfgPath,
		"--kubeconfig", s.kubeconfig,
		"--cert-dir", s.certDir,
		"--port", strconv.Itoa(s.port),
		"--metrics-bind-address", w.metricsAddr,
		"--health-probe-bind-address", w.probeAddr,
		"--shutdown-timeout", "10s",
		"-v", "1",
	}, flags...)...)
	w.cmd.Stdout, w.cmd.Stderr = logFile, logFile
	w.cmd.Env = append(os.Environ(), "KUBECONFIG=") // only --kubeconfig
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("start ward: %v", err)
	}
	go func() {
		w.err = w.cmd.Wait()
		_ = logFile.Close()
		close(w.done)
	}()
	t.Cleanup(func() {
		_ = w.stop(t) // a failure to stop is reported by stop itself
		if t.Failed() {
			w.dumpLog(t)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		code, _, err := get(ctx, "http://"+w.probeAddr+"/readyz")
		if err == nil && code == http.StatusOK {
			return w
		}
		select {
		case <-w.done:
			w.dumpLog(t)
			t.Fatalf("ward exited before it was ready: %v", w.err)
		case <-ctx.Done():
			w.dumpLog(t)
			t.Fatalf("ward not ready within 60s: last /readyz %d %v", code, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits for ward to exit; it returns the exit error.
func (w *wardProcess) stop(t *testing.T) error {
	t.Helper()
	select {
	case <-w.done:
		return w.err
	default:
	}
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM ward: %v", err)
	}
	select {
	case <-w.done:
		return w.err
	case <-time.After(30 * time.Second):
		t.Error("ward did not exit within 30s of SIGTERM; killing it")
		_ = w.cmd.Process.Kill()
		<-w.done
		return w.err
	}
}

func (w *wardProcess) dumpLog(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(w.logPath)
	if err != nil {
		t.Logf("ward log: %v", err)
		return
	}
	// Failed probes repeat every 100ms while ward starts; they say nothing new.
	var lines []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.Contains(line, "healthz check failed") {
			lines = append(lines, line)
		}
	}
	b = []byte(strings.Join(lines, "\n"))
	const tail = 8000
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	t.Logf("ward log (tail):\n%s", b)
}

// log returns ward's log so far.
func (w *wardProcess) log(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(w.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// get fetches url and returns status and body.
func get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// eventually retries f until it returns nil or timeout passes; ward's cache sees a
// change a moment after the API server has made it.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func errContains(err error, want string) error {
	switch {
	case err == nil:
		return fmt.Errorf("no error, want one containing %q", want)
	case !strings.Contains(err.Error(), want):
		return fmt.Errorf("error %q does not contain %q: %w", err.Error(), want, err)
	}
	return nil
}
