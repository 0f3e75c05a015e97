package e2e

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// slowRule takes tens of milliseconds on every Deployment (more under -race), so that
// reviews sent at once overlap inside ward.
const slowRule = `# METADATA
# title: Slow on purpose
# description: Takes a while on every Deployment, so that reviews overlap in the end-to-end suite.
# custom:
#   id: e2e-slow
#   severity: warning
#   remediation: Nothing to do.
package ward.rules.e2e_slow

violation contains {"msg": "never", "details": {"path": []}} if {
	input.review.object.kind == "Deployment"
	count(numbers.range(1, 100000)) < 0
}
`

// overloaded is what ward's HTTP 429 answer says; the API server quotes it.
const overloaded = "ward is overloaded"

// burstOutcome counts how the API server answered a burst of dry-run creates of
// Deployments that drop-net-raw denies.
type burstOutcome struct {
	denied, overloaded, admitted int
	other                        []string
	// refusal is the error of one refused review, as the API server's client sees it.
	refusal string
}

// burst creates n such Deployments at once.
func burst(ctx context.Context, ns string, n int) burstOutcome {
	var mu sync.Mutex
	var out burstOutcome
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := createDeployment(ctx, deployment(ns, fmt.Sprintf("burst-%d", i), false), metav1.CreateOptions{DryRun: dryRun})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				out.admitted++
			case errContains(err, webhookName+": "+netRawWeb) == nil:
				out.denied++
			case errContains(err, `failed calling webhook "validate.ward.dev"`) == nil && errContains(err, overloaded) == nil:
				out.overloaded++
				out.refusal = err.Error()
			default:
				out.other = append(out.other, err.Error())
			}
		})
	}
	wg.Wait()
	return out
}

// setFailurePolicy sets the failurePolicy of the suite's webhook.
func setFailurePolicy(t *testing.T, p admissionregistrationv1.FailurePolicyType) {
	t.Helper()
	// Also from a cleanup, where the test's context is already cancelled.
	ctx := context.WithoutCancel(t.Context())
	vwcs := s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	vwc, err := vwcs.Get(ctx, "ward", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].FailurePolicy = &p
	}
	if _, err := vwcs.Update(ctx, vwc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestOverload runs ward with room for one review at a time and a slow rule, and sends
// reviews in bursts through the API server. The reviews beyond the bound are refused
// at once with HTTP 429, and the API server applies the failurePolicy to them: Fail
// rejects the request naming ward's reason, Ignore admits it unchecked. The admitted
// reviews are answered as usual, and the refusals are counted.
func TestOverload(t *testing.T) {
	need(t)
	ctx := t.Context()
	dir := filepath.Join(s.dir, "slow-policy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "slow.rego"), []byte(slowRule), 0o600); err != nil {
		t.Fatal(err)
	}
	ward := startWard(t, "overload", "", "--max-in-flight", "1", "--policy", dir)
	createNamespace(t, "e2e-overload")
	const n = 12

	t.Run("failurePolicy Fail: refused reviews fail with ward's reason", func(t *testing.T) {
		var seen burstOutcome
		for range 10 {
			out := burst(ctx, "e2e-overload", n)
			if len(out.other) > 0 || out.admitted > 0 {
				t.Fatalf("a burst under failurePolicy Fail: %d admitted, other errors: %q", out.admitted, out.other)
			}
			seen.denied += out.denied
			seen.overloaded += out.overloaded
			seen.refusal = cmp.Or(seen.refusal, out.refusal)
			if seen.denied > 0 && seen.overloaded > 0 {
				break
			}
		}
		if seen.denied == 0 || seen.overloaded == 0 {
			t.Fatalf("after 10 bursts of %d: %d denied by the rules, %d refused as overloaded; want some of each", n, seen.denied, seen.overloaded)
		}
		t.Logf("%d denied by the rules, %d refused as overloaded: %s", seen.denied, seen.overloaded, seen.refusal)
	})

	t.Run("refusals are counted", func(t *testing.T) {
		code, body, err := get(ctx, "http://"+ward.metricsAddr+"/metrics")
		if err != nil || code != http.StatusOK {
			t.Fatalf("/metrics: %d %v", code, err)
		}
		for _, want := range []string{"ward_admission_max_in_flight 1", `controller_runtime_webhook_requests_total{code="429",webhook="/validate"}`} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if strings.Contains(body, "ward_admission_overloaded_total 0\n") || !strings.Contains(body, "ward_admission_overloaded_total ") {
			t.Errorf("ward_admission_overloaded_total counts no refusal")
		}
		if !strings.Contains(ward.log(t), `"msg":"refusing admission reviews: too many in flight"`) {
			t.Errorf("no log line about refused reviews")
		}
	})

	t.Run("failurePolicy Ignore: refused reviews are admitted unchecked", func(t *testing.T) {
		setFailurePolicy(t, admissionregistrationv1.Ignore)
		t.Cleanup(func() {
			setFailurePolicy(t, admissionregistrationv1.Fail)
			// The other tests count on Fail: wait until the API server applies it again.
			eventually(t, 60*time.Second, "failurePolicy Fail again", func() error {
				if out := burst(context.WithoutCancel(ctx), "e2e-overload", n); out.overloaded == 0 {
					return fmt.Errorf("a burst: %+v", out)
				}
				return nil
			})
		})
		eventually(t, 60*time.Second, "a refused review admitted under Ignore", func() error {
			out := burst(ctx, "e2e-overload", n)
			if len(out.other) > 0 {
				t.Fatalf("other errors: %q", out.other)
			}
			if out.admitted == 0 || out.overloaded > 0 {
				return fmt.Errorf("a burst: %+v", out)
			}
			return nil
		})
	})
}
