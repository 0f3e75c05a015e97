package webhook

import (
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

const denyAllPolicy = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`

// BenchmarkHandle is the handler's cost per AdmissionReview of a Deployment: decoding
// the request, evaluating every rule, answering. One denied and one allowed review.
func BenchmarkHandle(b *testing.B) {
	for _, tc := range []struct{ name, obj string }{{"denied", badDeployment}, {"allowed", goodDeployment}} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFixture(b, "", nil)
			f.put(b, denyAllPolicy)
			req := review(b, admissionv1.Create, tc.obj, "", "")
			b.ReportAllocs()
			for b.Loop() {
				f.handler.Handle(b.Context(), req)
			}
		})
	}
}

// BenchmarkHandleParallel handles the same review on every core at once, as the server
// does under load.
func BenchmarkHandleParallel(b *testing.B) {
	f := newFixture(b, "", nil)
	f.put(b, denyAllPolicy)
	req := review(b, admissionv1.Create, badDeployment, "", "")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f.handler.Handle(b.Context(), req)
		}
	})
}
