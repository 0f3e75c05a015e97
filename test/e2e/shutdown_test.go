package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// TestShutdownAnswersInFlight sends SIGTERM to ward while reviews are in flight: each
// client has sent its headers and half its body when the signal arrives, and the rest
// after it. Every review still gets its verdict, and ward exits 0.
func TestShutdownAnswersInFlight(t *testing.T) {
	need(t)
	ward := startWard(t, "shutdown", "")
	const n = 8
	conns := make([]*tls.Conn, n)
	rests := make([][]byte, n)
	for i := range n {
		body := inflightReview(t, types.UID(fmt.Sprintf("inflight-%d", i)))
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), &tls.Config{RootCAs: s.ca.Pool(), MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		head := fmt.Sprintf("POST /validate HTTP/1.1\r\nHost: ward\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		half := len(body) / 2
		if _, err := conn.Write(append([]byte(head), body[:half]...)); err != nil {
			t.Fatal(err)
		}
		conns[i], rests[i] = conn, body[half:]
	}
	time.Sleep(200 * time.Millisecond) // the server has read the headers: requests are active
	stopped := time.Now()
	if err := ward.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // ward is shutting down now
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			uid := fmt.Sprintf("inflight-%d", i)
			if _, err := conns[i].Write(rests[i]); err != nil {
				t.Errorf("%s: finishing the body: %v", uid, err)
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(conns[i]), nil)
			if err != nil {
				t.Errorf("%s: no answer: %v", uid, err)
				return
			}
			defer func() { _ = resp.Body.Close() }()
			var answer admissionv1.AdmissionReview
			if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.Response == nil {
				t.Errorf("%s: no review in the answer: %v", uid, err)
				return
			}
			r := answer.Response
			if string(r.UID) != uid || r.Allowed || r.Result == nil || !strings.HasPrefix(r.Result.Message, "[drop-net-raw]") {
				t.Errorf("%s: want drop-net-raw's denial, got uid %q allowed %v result %+v", uid, r.UID, r.Allowed, r.Result)
			}
		})
	}
	wg.Wait()
	if err := ward.stop(t); err != nil {
		t.Errorf("ward exited with %v after SIGTERM, want 0", err)
	}
	t.Logf("%d reviews in flight at SIGTERM; ward exited %s after it", n, time.Since(stopped).Round(time.Millisecond))
}

func inflightReview(t *testing.T, uid types.UID) []byte {
	t.Helper()
	obj := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"e2e-inflight"},` +
		`"spec":{"containers":[{"name":"c","image":"busybox"}]}}`
	review := admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{
		UID: uid, Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Namespace: "e2e-inflight", Name: "p", Operation: admissionv1.Create,
		Object: runtime.RawExtension{Raw: []byte(obj)},
	}}
	review.APIVersion, review.Kind = "admission.k8s.io/v1", "AdmissionReview"
	body, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	return body
}
