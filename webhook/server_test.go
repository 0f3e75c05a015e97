package webhook

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/wardsec/ward/webhook/testcert"
)

// testServer is a running Server with the handler of a fixture at Path.
type testServer struct {
	srv      *Server
	endpoint *Endpoint
	addr     string
	ca       *testcert.CA
	client   *http.Client
	dir      string
	stop     context.CancelFunc
	done     chan error
}

func startServer(t *testing.T, h admission.Handler, m *Metrics, opts ServerOptions, maxInFlight int) *testServer {
	t.Helper()
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := serving.Write(dir); err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.CertDir = "127.0.0.1", 0, dir
	srv := NewServer(opts)
	endpoint, err := NewEndpoint(h, m, EndpointOptions{MaxInFlight: maxInFlight})
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(Path, endpoint)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	actx, acancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer acancel()
	addr, err := srv.Addr(actx)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{
		srv:      srv,
		endpoint: endpoint,
		addr:     addr.String(), ca: ca, dir: dir, stop: cancel, done: done,
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12},
		}},
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	})
	return ts
}

func (ts *testServer) url() string { return "https://" + ts.addr + Path }

// post sends body and decodes the AdmissionReview answer.
func (ts *testServer) post(t *testing.T, contentType string, body []byte) (int, *admissionv1.AdmissionResponse) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.url(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var ar admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&ar); err != nil {
		t.Fatalf("decode answer (HTTP %d): %v", resp.StatusCode, err)
	}
	if ar.Response == nil {
		t.Fatalf("answer (HTTP %d) has no response", resp.StatusCode)
	}
	return resp.StatusCode, ar.Response
}

func reviewJSON(t *testing.T, req admission.Request) []byte {
	t.Helper()
	ar := admissionv1.AdmissionReview{Request: &req.AdmissionRequest}
	ar.APIVersion, ar.Kind = "admission.k8s.io/v1", "AdmissionReview"
	return mustJSON(t, ar)
}

func TestServerFaults(t *testing.T) {
	f := newFixture(t, "", nil)
	ts := startServer(t, f.handler, f.metrics, ServerOptions{}, 0)
	bad := reviewJSON(t, review(t, admissionv1.Create, badDeployment, "", ""))
	tests := []struct {
		name        string
		contentType string
		body        []byte
		wantAllowed bool
		wantCode    int32
		wantMsg     string
	}{
		{"valid review denied", "application/json", bad, false, http.StatusForbidden, "[drop-net-raw]"},
		{"malformed JSON", "application/json", []byte(`{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {`), false, http.StatusBadRequest, ""},
		{"not JSON at all", "application/json", []byte("\x00\x01binary"), false, http.StatusBadRequest, ""},
		{"wrong apiVersion", "application/json", bytes.Replace(bad, []byte("admission.k8s.io/v1"), []byte("admission.k8s.io/v9"), 1), false, http.StatusBadRequest, ""},
		{"wrong kind", "application/json", bytes.Replace(bad, []byte(`"AdmissionReview"`), []byte(`"Pod"`), 1), false, http.StatusBadRequest, ""},
		{"missing request", "application/json", []byte(`{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}`), false, http.StatusBadRequest, "no request"},
		{"missing object", "application/json", []byte(`{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"}, "operation": "CREATE"}}`), false, http.StatusBadRequest, "needs object"},
		{"wrong content type", "text/plain", bad, false, http.StatusBadRequest, "want application/json"},
		{"empty body", "application/json", nil, false, http.StatusBadRequest, "empty"},
		{"wrong review version", "application/json", bytes.Replace(bad, []byte("admission.k8s.io/v1"), []byte("admission.k8s.io/v1beta1"), 1), false, http.StatusBadRequest, "want admission.k8s.io/v1 AdmissionReview"},
		{"object not a JSON object", "application/json", []byte(`{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"}, "operation": "CREATE", "object": ["x"]}}`), false, http.StatusBadRequest, "malformed AdmissionReview"},
		{"data after the review", "application/json", append(slices.Clone(bad), `{}`...), false, http.StatusBadRequest, "data after the review"},
		{"body over the limit", "application/json", append(append([]byte(`{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "`), bytes.Repeat([]byte("a"), 7<<20)...), `"}}`...), false, http.StatusRequestEntityTooLarge, "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, resp := ts.post(t, tc.contentType, tc.body)
			if status != http.StatusOK {
				t.Errorf("HTTP status %d, want 200 with the verdict in the review", status)
			}
			if resp.Allowed != tc.wantAllowed || resp.Result == nil || resp.Result.Code != tc.wantCode {
				t.Fatalf("got allowed=%v result=%+v, want allowed=%v code %d", resp.Allowed, resp.Result, tc.wantAllowed, tc.wantCode)
			}
			if !strings.Contains(resp.Result.Message, tc.wantMsg) {
				t.Errorf("message %q does not contain %q", resp.Result.Message, tc.wantMsg)
			}
		})
	}
	// Every refusal is counted, those the filter makes and those the handler makes.
	if got := testutil.ToFloat64(f.metrics.requests.WithLabelValues(labelOther, labelOther, decisionError)); got != 11 {
		t.Errorf("requests{other,other,error} = %v, want 11", got)
	}
	// A refused review that has a uid is answered for that uid: the API server checks it.
	if _, resp := ts.post(t, "application/json", bytes.Replace(bad, []byte(`"operation":"CREATE"`), []byte(`"operation":"CREATE","object":7`), 1)); resp.UID != "uid-1" || resp.Result == nil || resp.Result.Code != http.StatusBadRequest {
		t.Errorf("refusal of a review with a uid: %+v", resp)
	}
	// The server still answers after all of that.
	if _, resp := ts.post(t, "application/json", bad); resp.Allowed {
		t.Error("bad deployment allowed after the faults")
	}
}

func TestServerRefusesOldTLSAndPlainHTTP(t *testing.T) {
	f := newFixture(t, "", nil)
	ts := startServer(t, f.handler, f.metrics, ServerOptions{}, 0)
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.ca.Pool(), MinVersion: v, MaxVersion: v})
			if err == nil {
				_ = conn.Close()
				t.Fatalf("handshake with %s succeeded", tls.VersionName(v))
			}
		})
	}
	t.Run("TLS 1.2 and 1.3 accepted, no HTTP/2", func(t *testing.T) {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.ca.Pool(), MinVersion: v, MaxVersion: v, NextProtos: []string{"h2", "http/1.1"}})
			if err != nil {
				t.Fatalf("%s: %v", tls.VersionName(v), err)
			}
			if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
				t.Errorf("%s negotiated %q", tls.VersionName(v), p)
			}
			_ = conn.Close()
		}
	})
	t.Run("plain HTTP", func(t *testing.T) {
		body := reviewJSON(t, review(t, admissionv1.Create, badDeployment, "", ""))
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+ts.addr+Path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // connection refused or reset: refused
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || bytes.Contains(b, []byte("AdmissionReview")) {
			t.Errorf("plain HTTP got %d %q, want a 400 without a review", resp.StatusCode, b)
		}
	})
}

func TestServerSlowClients(t *testing.T) {
	f := newFixture(t, "", nil)
	ts := startServer(t, f.handler, f.metrics, ServerOptions{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond}, 0)
	dial := func(t *testing.T) *tls.Conn {
		conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.ca.Pool(), MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	// closedWithin reads until the server closes the connection, at most within d.
	closedWithin := func(t *testing.T, conn *tls.Conn, d time.Duration) string {
		t.Helper()
		if err := conn.SetReadDeadline(time.Now().Add(d)); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("server kept a slow client's connection open past %s", d)
		}
		return string(b)
	}
	t.Run("headers never finish", func(t *testing.T) {
		conn := dial(t)
		mustWrite(t, conn, "POST %s HTTP/1.1\r\nHost: x\r\n", Path)
		closedWithin(t, conn, 5*time.Second)
	})
	t.Run("body never finishes", func(t *testing.T) {
		conn := dial(t)
		mustWrite(t, conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"apiVersion\":", Path)
		answer := closedWithin(t, conn, 5*time.Second)
		if answer != "" && !strings.Contains(answer, "timeout") {
			t.Errorf("answer to a stalled body: %q", answer)
		}
	})
	t.Run("others are served meanwhile", func(t *testing.T) {
		conn := dial(t)
		mustWrite(t, conn, "POST %s HTTP/1.1\r\nHost: x\r\n", Path)
		if _, resp := ts.post(t, "application/json", reviewJSON(t, review(t, admissionv1.Create, goodDeployment, "", ""))); resp.Result != nil && resp.Result.Code >= 400 && resp.Result.Code != http.StatusForbidden {
			t.Errorf("a normal review failed beside a slow client: %+v", resp.Result)
		}
	})
}

func TestServerReloadsCertificateUnderLoad(t *testing.T) {
	f := newFixture(t, "", nil)
	ts := startServer(t, f.handler, f.metrics, ServerOptions{}, 0)
	next, err := ts.ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	var failures atomic.Int64
	var handshakes atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.ca.Pool(), MinVersion: tls.VersionTLS12})
				if err != nil {
					failures.Add(1)
					t.Errorf("handshake during rotation: %v", err)
					continue
				}
				handshakes.Add(1)
				_ = conn.Close()
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	if err := next.Write(ts.dir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	rotated := false
	for !rotated && time.Now().Before(deadline) {
		conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.ca.Pool(), MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		rotated = conn.ConnectionState().PeerCertificates[0].SerialNumber.Cmp(next.Serial) == 0
		_ = conn.Close()
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if !rotated {
		t.Fatal("the server never served the new certificate")
	}
	if failures.Load() > 0 || handshakes.Load() == 0 {
		t.Errorf("%d failed handshakes of %d during rotation", failures.Load(), handshakes.Load()+failures.Load())
	}
}

// TestServerShutdownAnswersInFlight stops the server while reviews are in flight, some
// running and the others waiting their turn: every one is answered, and Start returns
// cleanly.
func TestServerShutdownAnswersInFlight(t *testing.T) {
	const n = 16
	slow := admission.HandlerFunc(func(ctx context.Context, _ admission.Request) admission.Response {
		select {
		case <-time.After(100 * time.Millisecond):
			return admission.Allowed("slow but sure")
		case <-ctx.Done():
			return admission.Errored(http.StatusServiceUnavailable, ctx.Err())
		}
	})
	m, err := NewMetrics(prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, slow, m, ServerOptions{}, 0)
	body := reviewJSON(t, review(t, admissionv1.Create, goodDeployment, "", ""))
	var wg sync.WaitGroup
	results := make(chan string, n)
	for range n {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(context.WithoutCancel(t.Context()), http.MethodPost, ts.url(), bytes.NewReader(body))
			if err != nil {
				results <- err.Error()
				return
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := ts.client.Do(req)
			if err != nil {
				results <- err.Error()
				return
			}
			defer func() { _ = resp.Body.Close() }()
			var ar admissionv1.AdmissionReview
			if err := json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&ar); err != nil || ar.Response == nil || !ar.Response.Allowed {
				results <- fmt.Sprintf("bad answer: %v %+v", err, ar.Response)
				return
			}
			results <- ""
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for ts.endpoint.inFlight.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d reviews in flight, want %d", ts.endpoint.inFlight.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ts.stop()
	wg.Wait()
	close(results)
	for r := range results {
		if r != "" {
			t.Error(r)
		}
	}
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Start returned %v after a graceful stop", err)
		}
		ts.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.ca.Pool(), MinVersion: tls.VersionTLS12}); err == nil {
		t.Error("server still accepts connections after stopping")
	}
}

func mustWrite(t *testing.T, w io.Writer, format string, args ...any) {
	t.Helper()
	if _, err := fmt.Fprintf(w, format, args...); err != nil {
		t.Fatal(err)
	}
}
