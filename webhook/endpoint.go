package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// MaxRequestBytes bounds an AdmissionReview's body, as controller-runtime does: two
// objects of at most 3 MiB each (etcd's limit, encoded as JSON) and the review around them.
const MaxRequestBytes = 7 << 20

// maxInFlightPerCPU times GOMAXPROCS is the default bound on reviews in flight.
// GOMAXPROCS of them run at once (the work is CPU-bound) and the others wait their
// turn, holding only their body. The bound is set so that a burst, or a stall of the
// process (a collection, CFS throttling at a CPU limit, a busy node) of up to ~100 ms
// at 1,000 reviews/s, is queued rather than refused, while under sustained overload
// what is admitted still waits only ~100 ms (128 reviews of ~0.3-0.7 ms of CPU on two
// cores), far below the API server's timeout, and memory stays flat.
const maxInFlightPerCPU = 64

// overloadLogEvery is the least time between two log lines about refused reviews:
// overload comes in floods, and the metric counts every refusal.
const overloadLogEvery = 10 * time.Second

// refusals counts refusals (of reviews, of connections) between two log lines and says
// when the next line is due: at most every overloadLogEvery.
type refusals struct {
	count   atomic.Int64 // since the last log line
	lastLog atomic.Int64 // Unix ns of the last log line
}

// add counts one refusal under a bound of limit. When a log line is due it returns the
// line's key-value pairs (the refusals since the last line, the limit, and how long
// since that line) and true.
func (r *refusals) add(limit int64) ([]any, bool) {
	r.count.Add(1)
	now := time.Now().UnixNano()
	last := r.lastLog.Load()
	if now-last < int64(overloadLogEvery) || !r.lastLog.CompareAndSwap(last, now) {
		return nil, false
	}
	kv := []any{keyCount, r.count.Swap(0), keyLimit, limit}
	if last != 0 {
		kv = append(kv, keySince, time.Duration(now-last).Round(time.Second).String())
	}
	return kv, true
}

// DefaultMaxInFlight is the bound on reviews in flight when none is configured:
// maxInFlightPerCPU per GOMAXPROCS (which follows the container's CPU limit).
func DefaultMaxInFlight() int { return maxInFlightPerCPU * runtime.GOMAXPROCS(0) }

// reviewGVK is the only AdmissionReview version ward answers; the shipped
// ValidatingWebhookConfiguration asks for it (admissionReviewVersions: [v1]).
var reviewGVK = admissionv1.SchemeGroupVersion.WithKind("AdmissionReview")

// EndpointOptions configure NewEndpoint.
type EndpointOptions struct {
	// MaxInFlight bounds the reviews read in full and not yet answered: GOMAXPROCS of
	// them are decoded, evaluated and answered at once, the others wait their turn.
	// Beyond it a review is refused at once with HTTP 429. 0 means DefaultMaxInFlight.
	MaxInFlight int
	// Path labels controller-runtime's webhook metrics; "" means Path.
	Path string
	// Logger is the base of every review's logger.
	Logger logr.Logger
}

// Endpoint serves admission.k8s.io/v1 AdmissionReviews over HTTP for an
// admission.Handler, in place of controller-runtime's admission.Webhook:
//
//   - it refuses, with an AdmissionReview holding an error, every body that is not an
//     admission.k8s.io/v1 AdmissionReview in JSON of at most MaxRequestBytes
//     (controller-runtime's decoder accepts any apiVersion and kind and answers in
//     kind);
//   - it decodes the review once, the objects straight into the JSON values the engine
//     reads when the handler is ward's own Handler (controller-runtime's path parses
//     the body three times before the handler decodes the objects a fourth);
//   - it runs GOMAXPROCS reviews at once and bounds those in flight, running or
//     waiting: a review read in full beyond the bound is answered at once with HTTP
//     429 and a Status, never queued. The API server treats that answer as a failed
//     call and applies the webhook's failurePolicy at once: Fail rejects the request
//     with ward's message, Ignore admits it unchecked. An AdmissionReview denying or
//     allowing the request instead would override the failurePolicy the cluster's
//     owner chose, and a Retry-After header would make the API server wait and send
//     the review again, adding load to an overloaded webhook while the user waits.
//
// It is safe for concurrent use.
type Endpoint struct {
	handler admission.Handler
	ward    *Handler // handler, when it is ward's own: objects are decoded for it
	metrics *Metrics
	log     logr.Logger
	max     int64

	// inFlight counts the reviews read in full and not yet answered: those running and
	// those waiting to. running holds a token per review being decoded, evaluated and
	// encoded, at most GOMAXPROCS: the work is CPU-bound, and a review waiting for a
	// token is parked, so it costs the scheduler nothing (see serve).
	inFlight atomic.Int64
	running  chan struct{}
	refused  refusals

	httpRequests map[int]prometheus.Counter
	httpOther    *prometheus.CounterVec
	httpLatency  prometheus.Observer
	httpInFlight prometheus.Gauge

	// buffers hold the buffers bodies are read into and answers encoded into.
	buffers sync.Pool

	// recoverPanics answers a handler's panic with HTTP 500 inside the review; off in
	// the fuzz test, so that a panic fails it.
	recoverPanics bool
}

var _ http.Handler = (*Endpoint)(nil)

// NewEndpoint returns the endpoint of h, counted in m. It registers the gauges of the
// bound in m's registry, so build one per Metrics.
func NewEndpoint(h admission.Handler, m *Metrics, o EndpointOptions) (*Endpoint, error) {
	if h == nil || m == nil {
		return nil, errors.New("new endpoint: handler and metrics are required")
	}
	if o.MaxInFlight < 0 {
		return nil, fmt.Errorf("new endpoint: max in flight %d: want 0 (the default) or more", o.MaxInFlight)
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight()
	}
	if o.Path == "" {
		o.Path = Path
	}
	if o.Logger.GetSink() == nil {
		o.Logger = logf.Log.WithName("admission")
	}
	e := &Endpoint{
		handler:       h,
		metrics:       m,
		log:           o.Logger,
		max:           int64(o.MaxInFlight),
		running:       make(chan struct{}, min(o.MaxInFlight, runtime.GOMAXPROCS(0))),
		httpRequests:  map[int]prometheus.Counter{},
		httpOther:     m.httpRequests.MustCurryWith(prometheus.Labels{"webhook": o.Path}),
		httpLatency:   m.httpLatency.WithLabelValues(o.Path),
		httpInFlight:  m.httpInFlight.WithLabelValues(o.Path),
		recoverPanics: true,
	}
	e.ward, _ = h.(*Handler)
	// The codes the endpoint answers with, looked up once rather than per request.
	for _, code := range []int{http.StatusOK, http.StatusTooManyRequests, http.StatusInternalServerError} {
		e.httpRequests[code] = e.httpOther.WithLabelValues(strconv.Itoa(code))
	}
	if err := m.registerMaxInFlight(o.MaxInFlight, func() float64 { return float64(e.inFlight.Load()) }); err != nil {
		return nil, fmt.Errorf("new endpoint: %w", err)
	}
	return e, nil
}

// maxPooledBuffer is the largest buffer kept for reuse: one that grew past it (a review
// of large objects) is let go rather than kept for every later review.
const maxPooledBuffer = 256 << 10

func (e *Endpoint) getBuffer() *bytes.Buffer {
	if b, ok := e.buffers.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (e *Endpoint) putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	e.buffers.Put(b)
}

// ServeHTTP answers one AdmissionReview.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	e.httpInFlight.Inc()
	code := e.serve(w, r)
	e.httpInFlight.Dec()
	e.httpLatency.Observe(time.Since(start).Seconds())
	if c, ok := e.httpRequests[code]; ok {
		c.Inc()
	} else {
		e.httpOther.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}

// serve answers and returns the HTTP status code of the answer.
func (e *Endpoint) serve(w http.ResponseWriter, r *http.Request) int {
	ctx := logf.IntoContext(r.Context(), e.log)
	if r.Method != http.MethodPost {
		return e.refuse(ctx, w, http.StatusMethodNotAllowed, fmt.Errorf("method %s: want POST", r.Method))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return e.refuse(ctx, w, http.StatusBadRequest, fmt.Errorf("content type %q: want application/json", ct))
	}
	body := e.getBuffer()
	defer e.putBuffer(body)
	if r.ContentLength > 0 && r.ContentLength <= MaxRequestBytes {
		body.Grow(int(r.ContentLength))
	}
	_, err := body.ReadFrom(io.LimitReader(r.Body, MaxRequestBytes+1))
	switch {
	case err != nil:
		return e.refuse(ctx, w, http.StatusBadRequest, fmt.Errorf("read request body: %w", err))
	case body.Len() > MaxRequestBytes:
		return e.refuse(ctx, w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is too large: limit is %d bytes", MaxRequestBytes))
	case len(bytes.TrimSpace(body.Bytes())) == 0:
		return e.refuse(ctx, w, http.StatusBadRequest, errors.New("request body is empty"))
	}

	// The body is in: from here on the review holds memory. A slow client holds no
	// place until then.
	if n := e.inFlight.Add(1); n > e.max {
		e.inFlight.Add(-1)
		return e.overloaded(ctx, w)
	}
	defer e.inFlight.Add(-1)
	// Wait, parked, for a core. Counting reviews in flight alone would not bound
	// anything: a CPU-bound review runs from its body to its answer without blocking,
	// so few are ever between the two, while the requests not yet read queue unseen in
	// the Go scheduler behind every runnable review (measured: 0 refused and seconds of
	// latency at 2,000/s). Parked here, the reviews beyond GOMAXPROCS leave the
	// scheduler to the connections, which read and refuse at once; the wait is FIFO.
	select {
	case e.running <- struct{}{}:
	case <-r.Context().Done():
		// The client went away while the review waited: nobody reads this answer.
		return e.refuse(ctx, w, http.StatusServiceUnavailable, fmt.Errorf("request cancelled: %w", r.Context().Err()))
	}
	answer := func() *bytes.Buffer {
		defer func() { <-e.running }()
		return e.review(ctx, body.Bytes())
	}()
	defer e.putBuffer(answer)
	send(w, http.StatusOK, answer)
	return http.StatusOK
}

// review decodes an AdmissionReview, answers it and encodes the answer.
func (e *Endpoint) review(ctx context.Context, body []byte) *bytes.Buffer {
	req, objs, err := e.decode(body)
	if err != nil {
		return e.refusal(ctx, http.StatusBadRequest, req.UID, err)
	}
	resp := e.answer(ctx, &req, objs)
	if err := resp.Complete(req); err != nil {
		resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("encode the response: %w", err))
		resp.UID = req.UID
	}
	return e.encodeReview(ctx, &resp.AdmissionResponse)
}

// answer asks the handler, and turns a panic into an error inside the review, as
// controller-runtime's admission.Webhook does.
func (e *Endpoint) answer(ctx context.Context, req *admission.Request, objs objects) (resp admission.Response) {
	if e.recoverPanics {
		defer func() {
			if p := recover(); p != nil {
				logf.FromContext(ctx).Error(fmt.Errorf("%v", p), "admission handler panicked", keyRequestID, req.UID)
				resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("panic: %v [recovered]", p))
			}
		}()
	}
	if e.ward != nil {
		return e.ward.review(ctx, req, objs)
	}
	return e.handler.Handle(ctx, *req)
}

// admissionReview is an AdmissionReview with the request type R: ward's, whose objects decode
// into JSON values, or the API's, whose objects stay raw.
type admissionReview[R any] struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Request    *R     `json:"request"`
}

// wardRequest is an AdmissionRequest whose object and oldObject (shadowing the
// embedded raw ones) are decoded straight into the JSON values ward lint builds from
// a file: maps, slices, strings, bools and json.Number.
type wardRequest struct {
	admissionv1.AdmissionRequest
	Object    map[string]any `json:"object"`
	OldObject map[string]any `json:"oldObject"`
}

// decode reads an AdmissionReview: for ward's Handler with its objects decoded, for any
// other handler with them raw. A review that is refused still yields what could be
// decoded of its request, the uid above all, to answer it with.
func (e *Endpoint) decode(body []byte) (admission.Request, objects, error) {
	var req admission.Request
	if e.ward != nil {
		var rv admissionReview[wardRequest]
		err := decodeReview(body, &rv)
		err = checkReview(rv.APIVersion, rv.Kind, err)
		if rv.Request == nil {
			return req, objects{}, err
		}
		req.AdmissionRequest = rv.Request.AdmissionRequest
		return req, objects{object: rv.Request.Object, oldObject: rv.Request.OldObject}, err
	}
	var rv admissionReview[admissionv1.AdmissionRequest]
	err := decodeReview(body, &rv)
	err = checkReview(rv.APIVersion, rv.Kind, err)
	if rv.Request != nil {
		req.AdmissionRequest = *rv.Request
	}
	return req, objects{}, err
}

// checkReview refuses what did not decode, and another version or kind than
// admission.k8s.io/v1 AdmissionReview.
func checkReview(apiVersion, kind string, decodeErr error) error {
	if decodeErr != nil {
		return decodeErr
	}
	if apiVersion != reviewGVK.GroupVersion().String() || kind != reviewGVK.Kind {
		return fmt.Errorf("got apiVersion %q kind %q: want %s %s", apiVersion, kind, reviewGVK.GroupVersion(), reviewGVK.Kind)
	}
	return nil
}

// decodeReview decodes one JSON value from body into v, numbers in untyped values as
// json.Number. The decoder scans the body once and decodes it once (json.Unmarshal
// would scan it twice); whatever follows the value is an error.
func decodeReview(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed AdmissionReview: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("malformed AdmissionReview: data after the review")
	}
	return nil
}

// refuse answers a request that is no AdmissionReview ward reads with one holding the
// error, counted in ward_admission_requests_total as an error.
// Nothing of such a request is read, its uid included.
func (e *Endpoint) refuse(ctx context.Context, w http.ResponseWriter, code int32, err error) int {
	answer := e.refusal(ctx, code, "", err)
	defer e.putBuffer(answer)
	send(w, http.StatusOK, answer)
	return http.StatusOK
}

// refusal counts and logs a refused request and encodes its answer.
func (e *Endpoint) refusal(ctx context.Context, code int32, uid types.UID, err error) *bytes.Buffer {
	// V(1): whoever reaches the port can send garbage; the metric counts it.
	if log := logf.FromContext(ctx); log.V(1).Enabled() {
		log.V(1).Info("refused admission request", keyReason, err.Error())
	}
	e.metrics.requests.WithLabelValues(labelOther, labelOther, decisionError).Inc()
	return e.encodeReview(ctx, &admissionv1.AdmissionResponse{
		UID:    uid,
		Result: &metav1.Status{Code: code, Message: err.Error()},
	})
}

// overloaded answers a review beyond the bound: HTTP 429 with a Status, which the API
// server's client decodes and names in the error it returns (see Endpoint).
func (e *Endpoint) overloaded(ctx context.Context, w http.ResponseWriter) int {
	e.metrics.overloaded.Inc()
	if kv, ok := e.refused.add(e.max); ok {
		logf.FromContext(ctx).Info("refusing admission reviews: too many in flight", kv...)
	}
	status := metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure,
		Reason:   metav1.StatusReasonTooManyRequests,
		Code:     http.StatusTooManyRequests,
		Message:  fmt.Sprintf("ward is overloaded: %d admission reviews are in flight, the most --max-in-flight allows; retry later", e.max),
	}
	answer := e.encode(ctx, &status)
	defer e.putBuffer(answer)
	send(w, http.StatusTooManyRequests, answer)
	return http.StatusTooManyRequests
}

// encodeReview encodes an admission.k8s.io/v1 AdmissionReview holding resp.
func (e *Endpoint) encodeReview(ctx context.Context, resp *admissionv1.AdmissionResponse) *bytes.Buffer {
	ar := admissionv1.AdmissionReview{Response: resp}
	ar.SetGroupVersionKind(reviewGVK)
	return e.encode(ctx, &ar)
}

// encode encodes v as JSON into a pooled buffer, so that the answer goes out in one
// write with its Content-Length.
func (e *Endpoint) encode(ctx context.Context, v any) *bytes.Buffer {
	buf := e.getBuffer()
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		// What ward answers always encodes; say so loudly if it ever does not.
		logf.FromContext(ctx).Error(err, "encode the answer")
		buf.Reset()
		buf.WriteString(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"ward could not encode its answer","code":500}`)
	}
	return buf
}

// send writes an encoded answer.
func send(w http.ResponseWriter, code int, answer *bytes.Buffer) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(answer.Len()))
	w.WriteHeader(code)
	// The client may be gone; nothing left to tell it.
	_, _ = w.Write(answer.Bytes()) //nolint:gosec // G705: JSON ward encoded itself, sent as application/json
}
