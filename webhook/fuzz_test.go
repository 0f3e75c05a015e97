package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// FuzzAdmissionReview feeds arbitrary bodies to the webhook's HTTP handler (Endpoint
// over Handler) with panic recovery off: whatever arrives, the answer is an
// admission.k8s.io/v1 AdmissionReview with a response, and nothing panics.
func FuzzAdmissionReview(f *testing.F) {
	fx := newFixture(f, "rules: {default-deny: {enforcement: deny}}", newFakeCluster(true))
	fx.put(f, denyAll)
	fx.put(f, goodDeployment)
	h, err := NewEndpoint(fx.handler, fx.metrics, EndpointOptions{})
	if err != nil {
		f.Fatal(err)
	}
	h.recoverPanics = false

	for _, req := range []admission.Request{
		review(f, admissionv1.Create, badDeployment, "", ""),
		review(f, admissionv1.Create, goodDeployment, "", ""),
		review(f, admissionv1.Update, allowWeb, denyAll, ""),
		review(f, admissionv1.Delete, "", denyAll, NamespaceController),
		review(f, admissionv1.Create, openPolicy, "", ""),
		review(f, admissionv1.Create, widget, "", ""),
	} {
		ar := admissionv1.AdmissionReview{Request: &req.AdmissionRequest}
		ar.APIVersion, ar.Kind = "admission.k8s.io/v1", "AdmissionReview"
		f.Add(mustJSON(f, ar))
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"securityContext":{"capabilities":{"add":[1e999]}}}]}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"DELETE","oldObject":"x"}}`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var ar admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &ar); err != nil {
			t.Fatalf("answer is not JSON: %v: %q", err, rec.Body.String())
		}
		if ar.Response == nil {
			t.Fatalf("answer has no response: %q", rec.Body.String())
		}
		if !ar.Response.Allowed && ar.Response.Result == nil {
			t.Fatalf("refusal without a result: %q", rec.Body.String())
		}
	})
}
