package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wardsec/ward/bench/gen"
	"github.com/wardsec/ward/pkg/manifest"
)

// corpusReviews returns AdmissionReview bodies of the first n Deployments of the
// benchmark corpus, as loadgen sends them.
func corpusReviews(b *testing.B, n int) [][]byte {
	b.Helper()
	dir := b.TempDir()
	if _, err := gen.Generate(dir, 200, 7); err != nil {
		b.Fatal(err)
	}
	set := manifest.Read(b.Context(), []string{dir}, manifest.Options{})
	var out [][]byte
	for i, o := range set.Objects {
		if o.Kind() != "Deployment" {
			continue
		}
		obj, err := json.Marshal(o.Value)
		if err != nil {
			b.Fatal(err)
		}
		ns := o.Namespace()
		if ns == "" {
			ns = "default"
		}
		body, err := gen.DeploymentReview(i, ns, o.Name(), obj)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, body)
		if len(out) == n {
			break
		}
	}
	return out
}

// BenchmarkEndpoint is the webhook's cost per AdmissionReview over HTTP, without TLS:
// reading and decoding the review, evaluating every rule, answering. "excluded" reviews
// the same Deployments in an excluded namespace: everything but the evaluation.
func BenchmarkEndpoint(b *testing.B) {
	bodies := corpusReviews(b, 20)
	for _, tc := range []struct{ name, cfg string }{
		{"evaluated", ""},
		{"excluded", "excludedNamespaces: [default, " + allNamespaces() + "]"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFixture(b, tc.cfg, nil)
			h := newBenchEndpoint(b, f)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("HTTP %d", rec.Code)
				}
				i++
			}
		})
	}
}

func allNamespaces() string {
	var b bytes.Buffer
	for i := range gen.Namespaces {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "team-%02d", i)
	}
	return b.String()
}

func newBenchEndpoint(b *testing.B, f *fixture) http.Handler {
	b.Helper()
	e, err := NewEndpoint(f.handler, f.metrics, EndpointOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return e
}
