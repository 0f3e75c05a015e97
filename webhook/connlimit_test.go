package webhook

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
)

// rawConn is one keep-alive TLS connection to the test server.
type rawConn struct {
	conn *tls.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, ts *testServer) (*rawConn, error) {
	t.Helper()
	d := &tls.Dialer{Config: &tls.Config{RootCAs: ts.ca.Pool(), MinVersion: tls.VersionTLS12}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", ts.addr)
	if err != nil {
		return nil, err
	}
	tc := c.(*tls.Conn)
	t.Cleanup(func() { _ = tc.Close() })
	return &rawConn{conn: tc, r: bufio.NewReader(tc)}, nil
}

// send writes one review.
func (c *rawConn) send(t *testing.T, body []byte) {
	t.Helper()
	mustWrite(t, c.conn, "POST %s HTTP/1.1\r\nHost: ward\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", Path, len(body), body)
}

// answer reads one answer and checks it is an allowed review.
func (c *rawConn) answer(t *testing.T) error {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var ar admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&ar); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || ar.Response == nil || !ar.Response.Allowed {
		return fmt.Errorf("HTTP %d, response %+v", resp.StatusCode, ar.Response)
	}
	return nil
}

// TestMaxConnections holds the server at its cap of connections: a new one takes the
// place of a keep-alive one idle for a while, and with none it is closed at once,
// before its handshake completes. The connections in use are answered throughout.
func TestMaxConnections(t *testing.T) {
	const limit = 2
	m, err := NewMetrics(prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newBlockingHandler()
	close(h.release) // answer at once, for now
	ts := startServer(t, h, m, ServerOptions{MaxConnections: limit, Metrics: m}, 0)
	body := reviewJSON(t, review(t, admissionv1.Create, goodDeployment, "", ""))

	var conns []*rawConn
	for range limit {
		c, err := dialRaw(t, ts)
		if err != nil {
			t.Fatal(err)
		}
		c.send(t, body)
		if err := c.answer(t); err != nil {
			t.Fatal(err)
		}
		<-h.entered
		conns = append(conns, c)
	}
	// Both idle a moment: in use still, so a third connection is refused.
	if c, err := dialRaw(t, ts); err == nil {
		c.send(t, body)
		if err := c.answer(t); err == nil {
			t.Fatal("a connection beside two just used was served")
		}
	}
	if got := testutil.ToFloat64(m.connectionsShed.WithLabelValues("refused")); got != 1 {
		t.Errorf("refused = %v, want 1", got)
	}
	// Both idle for longer: a third connection takes the place of one of them.
	time.Sleep(minIdleToEvict + 100*time.Millisecond)
	third, err := dialRaw(t, ts)
	if err != nil {
		t.Fatalf("a connection beside idle ones: %v", err)
	}
	third.send(t, body)
	if err := third.answer(t); err != nil {
		t.Fatalf("a connection beside idle ones: %v", err)
	}
	<-h.entered
	if got := testutil.ToFloat64(m.connectionsShed.WithLabelValues("evicted")); got != 1 {
		t.Errorf("evicted = %v, want 1", got)
	}
	// One of the first two is gone; the other still serves.
	served := 0
	for _, c := range conns {
		c.send(t, body)
		if err := c.answer(t); err == nil {
			served++
			<-h.entered
		}
	}
	if served != 1 {
		t.Errorf("%d of the first two connections still serve, want 1", served)
	}

	// Now hold every place with a review in flight: a new connection is refused.
	m2, err := NewMetrics(prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h2 := newBlockingHandler()
	ts2 := startServer(t, h2, m2, ServerOptions{MaxConnections: limit, Metrics: m2}, 0)
	var busy []*rawConn
	for range limit {
		c, err := dialRaw(t, ts2)
		if err != nil {
			t.Fatal(err)
		}
		c.send(t, body)
		<-h2.entered
		busy = append(busy, c)
	}
	if c, err := dialRaw(t, ts2); err == nil {
		// TLS 1.3 may finish the client's side of the handshake before the server's
		// close arrives; the connection is dead all the same.
		c.send(t, body)
		if err := c.answer(t); err == nil {
			t.Fatal("a connection beyond the cap was served")
		}
	}
	if got := testutil.ToFloat64(m2.connectionsShed.WithLabelValues("refused")); got < 1 {
		t.Errorf("refused = %v, want 1 or more", got)
	}
	// Full is not unready: the readiness check does not count on a connection of its own.
	if err := ts2.srv.StartedChecker()(nil); err != nil {
		t.Errorf("readiness at the cap: %v", err)
	}
	close(h2.release)
	for _, c := range busy {
		if err := c.answer(t); err != nil {
			t.Errorf("a review in flight at the cap: %v", err)
		}
	}
}
