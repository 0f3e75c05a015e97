package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// MaxRequestBytes bounds an AdmissionReview's body, as controller-runtime does: two
// objects of at most 3 MiB each (etcd's limit, encoded as JSON) and the review around them.
const MaxRequestBytes = 7 << 20

// reviewGVK is the only AdmissionReview version ward answers; the shipped
// ValidatingWebhookConfiguration asks for it (admissionReviewVersions: [v1]).
var reviewGVK = admissionv1.SchemeGroupVersion.WithKind("AdmissionReview")

// reviewEnvelope is what Filter reads of a body before controller-runtime decodes it.
type reviewEnvelope struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Request    *struct {
		UID types.UID `json:"uid"`
	} `json:"request"`
}

// Filter guards the admission webhook: it answers, with an AdmissionReview holding an
// error and counted in m, every body that is not an admission.k8s.io/v1
// AdmissionReview in JSON of at most MaxRequestBytes. controller-runtime's decoder
// accepts a review of any apiVersion and kind and answers in kind; ward refuses them.
func Filter(next http.Handler, m *Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(code int32, uid types.UID, err error) {
			// V(1): whoever reaches the port can send garbage; the metric counts it.
			logf.FromContext(r.Context()).V(1).Info("refused admission request", keyReason, err.Error())
			m.requests.WithLabelValues(labelOther, labelOther, decisionError).Inc()
			writeReview(w, uid, code, err)
		}
		if r.Method != http.MethodPost {
			fail(http.StatusMethodNotAllowed, "", fmt.Errorf("method %s: want POST", r.Method))
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			fail(http.StatusBadRequest, "", fmt.Errorf("content type %q: want application/json", ct))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
		switch {
		case err != nil:
			fail(http.StatusBadRequest, "", fmt.Errorf("read request body: %w", err))
			return
		case len(body) > MaxRequestBytes:
			fail(http.StatusRequestEntityTooLarge, "", fmt.Errorf("request body is too large: limit is %d bytes", MaxRequestBytes))
			return
		case len(bytes.TrimSpace(body)) == 0:
			fail(http.StatusBadRequest, "", errors.New("request body is empty"))
			return
		}
		var env reviewEnvelope
		if err := json.Unmarshal(body, &env); err != nil {
			fail(http.StatusBadRequest, "", fmt.Errorf("malformed AdmissionReview: %w", err))
			return
		}
		var uid types.UID
		if env.Request != nil {
			uid = env.Request.UID
		}
		if env.APIVersion != reviewGVK.GroupVersion().String() || env.Kind != reviewGVK.Kind {
			fail(http.StatusBadRequest, uid, fmt.Errorf("got apiVersion %q kind %q: want %s %s",
				env.APIVersion, env.Kind, reviewGVK.GroupVersion(), reviewGVK.Kind))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// writeReview writes an admission.k8s.io/v1 AdmissionReview refusing the request.
func writeReview(w http.ResponseWriter, uid types.UID, code int32, err error) {
	ar := admissionv1.AdmissionReview{Response: &admissionv1.AdmissionResponse{
		UID:    uid,
		Result: &metav1.Status{Code: code, Message: err.Error()},
	}}
	ar.SetGroupVersionKind(reviewGVK)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ar) // the client may be gone; nothing left to tell it
}
