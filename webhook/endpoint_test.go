package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// blockingHandler holds every review until release is closed.
type blockingHandler struct {
	entered chan struct{}
	release chan struct{}
}

func newBlockingHandler() *blockingHandler {
	return &blockingHandler{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (b *blockingHandler) Handle(ctx context.Context, _ admission.Request) admission.Response {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return admission.Allowed("released")
	case <-ctx.Done():
		return admission.Errored(http.StatusServiceUnavailable, ctx.Err())
	}
}

// postRaw sends body and returns the status, the Retry-After header and the body.
func (ts *testServer) postRaw(ctx context.Context, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.url(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ts.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// TestMaxInFlight fills the bound with reviews that wait, then sends more: each is
// answered at once with HTTP 429 and a Status the API server reads, and counted; the
// admitted reviews are then answered, and the slots they free admit new ones.
func TestMaxInFlight(t *testing.T) {
	const limit, extra = 3, 8
	m, err := NewMetrics(prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newBlockingHandler()
	ts := startServer(t, h, m, ServerOptions{}, limit)
	body := reviewJSON(t, review(t, admissionv1.Create, goodDeployment, "", ""))

	type result struct {
		code int
		body []byte
		err  error
	}
	admitted := make(chan result, limit)
	for range limit {
		go func() {
			code, _, b, err := ts.postRaw(context.WithoutCancel(t.Context()), body)
			admitted <- result{code, b, err}
		}()
	}
	// GOMAXPROCS of them run; the others wait, parked, and count as in flight.
	running := min(limit, runtime.GOMAXPROCS(0))
	for range running {
		select {
		case <-h.entered:
		case <-time.After(20 * time.Second):
			t.Fatal("the admitted reviews never reached the handler")
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for ts.endpoint.inFlight.Load() < limit {
		if time.Now().After(deadline) {
			t.Fatalf("in flight = %d, want %d", ts.endpoint.inFlight.Load(), limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-h.entered:
		t.Fatalf("more than %d reviews ran at once", running)
	case <-time.After(100 * time.Millisecond):
	}

	var wg sync.WaitGroup
	refusals := make(chan string, extra)
	for range extra {
		wg.Go(func() {
			start := time.Now()
			code, header, b, err := ts.postRaw(t.Context(), body)
			took := time.Since(start)
			switch {
			case err != nil:
				refusals <- err.Error()
				return
			case code != http.StatusTooManyRequests:
				refusals <- fmt.Sprintf("HTTP %d, want 429: %s", code, b)
				return
			case header.Get("Retry-After") != "":
				refusals <- "Retry-After set: the API server would wait and retry"
				return
			case header.Get("Content-Type") != "application/json":
				refusals <- fmt.Sprintf("content type %q", header.Get("Content-Type"))
				return
			case took > 5*time.Second:
				refusals <- fmt.Sprintf("refused after %s: not at once", took)
				return
			}
			var st metav1.Status
			if err := json.Unmarshal(b, &st); err != nil {
				refusals <- fmt.Sprintf("body is not a Status: %v: %s", err, b)
				return
			}
			if st.Kind != "Status" || st.APIVersion != "v1" || st.Code != http.StatusTooManyRequests ||
				st.Reason != metav1.StatusReasonTooManyRequests || st.Status != metav1.StatusFailure ||
				!strings.Contains(st.Message, "ward is overloaded") {
				refusals <- fmt.Sprintf("status %+v", st)
				return
			}
			refusals <- ""
		})
	}
	wg.Wait()
	close(refusals)
	for r := range refusals {
		if r != "" {
			t.Error(r)
		}
	}
	if got := testutil.ToFloat64(m.overloaded); got != extra {
		t.Errorf("ward_admission_overloaded_total = %v, want %d", got, extra)
	}
	if got := testutil.ToFloat64(m.httpRequests.WithLabelValues(Path, "429")); got != extra {
		t.Errorf("controller_runtime_webhook_requests_total{code=429} = %v, want %d", got, extra)
	}

	close(h.release)
	for range limit - running {
		<-h.entered // the waiting reviews run once the others are done
	}
	for range limit {
		r := <-admitted
		if r.err != nil || r.code != http.StatusOK {
			t.Fatalf("admitted review: HTTP %d %v", r.code, r.err)
		}
		var ar admissionv1.AdmissionReview
		if err := json.Unmarshal(r.body, &ar); err != nil || ar.Response == nil || !ar.Response.Allowed || ar.Response.UID != "uid-1" {
			t.Errorf("admitted review answered %v %s", err, r.body)
		}
	}
	// Every slot is free again.
	for range limit + 1 {
		if code, _, b, err := ts.postRaw(t.Context(), body); err != nil || code != http.StatusOK {
			t.Fatalf("after the load: HTTP %d %v %s", code, err, b)
		}
		<-h.entered
	}
	if got := ts.endpoint.inFlight.Load(); got != 0 {
		t.Errorf("in flight after the load = %d, want 0", got)
	}
}

// TestMaxInFlightSlowClient: a client that sends its body slowly holds no slot, so it
// cannot keep the API server's reviews out.
func TestMaxInFlightSlowClient(t *testing.T) {
	f := newFixture(t, "", nil)
	ts := startServer(t, f.handler, f.metrics, ServerOptions{}, 1)
	conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.ca.Pool(), MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	mustWrite(t, conn, "POST %s HTTP/1.1\r\nHost: ward\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"apiVersion\":", Path)

	body := reviewJSON(t, review(t, admissionv1.Create, badDeployment, "", ""))
	for range 3 {
		status, resp := ts.post(t, "application/json", body)
		if status != http.StatusOK || resp.Allowed {
			t.Fatalf("review beside a slow client: HTTP %d allowed=%v %+v", status, resp.Allowed, resp.Result)
		}
	}
}

func TestNewEndpointOptions(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewEndpoint(newBlockingHandler(), m, EndpointOptions{MaxInFlight: -1}); err == nil {
		t.Error("MaxInFlight -1 accepted")
	}
	e, err := NewEndpoint(newBlockingHandler(), m, EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.max != int64(DefaultMaxInFlight()) || e.max < maxInFlightPerCPU {
		t.Errorf("default bound %d, want %d", e.max, DefaultMaxInFlight())
	}
}
