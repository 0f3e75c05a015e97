package webhook

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

const (
	badDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
`
	goodDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        securityContext: {capabilities: {drop: [ALL]}}
`
	exemptDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pinger
  namespace: shop
  annotations: {ignore.ward.dev/drop-net-raw: "needs raw sockets for ping"}
spec:
  selector: {matchLabels: {app: pinger}}
  template:
    metadata: {labels: {app: pinger}}
    spec:
      containers:
      - name: ping
        image: busybox
`
	systemDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: dns, namespace: kube-system}
spec:
  selector: {matchLabels: {app: dns}}
  template:
    metadata: {labels: {app: dns}}
    spec:
      containers:
      - name: dns
        image: coredns
`
	denyAll = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`
	allowWeb = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - ports: [{port: 8080}]
`
	openPolicy = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: open, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {}
    - ipBlock: {cidr: 10.0.0.1/8}
`
	widget = `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
spec: {size: 3}
`
)

const (
	netRawDeny    = `[drop-net-raw] container "web" does not drop NET_RAW (at spec.template.spec.containers[0].securityContext.capabilities.drop)`
	defaultDenyIn = `[default-deny] namespace "shop" has no default-deny NetworkPolicy for ingress`
)

func TestHandle(t *testing.T) {
	tests := []struct {
		name      string
		cfg       string
		inventory []string
		cluster   *fakeCluster
		req       func(t *testing.T) admission.Request
		// wantCode is the Result code: 200 allowed, 403 denied, 400/500 errors.
		wantCode     int32
		wantMsg      []string // substrings of the result message
		wantWarnings []string // each a prefix of one warning, in order
		wantDecision string
		wantViolated map[string]string // rule -> enforcement counted
	}{
		{
			name:      "bad deployment denied with the rule's message",
			inventory: []string{denyAll},
			req:       func(t *testing.T) admission.Request { return review(t, admissionv1.Create, badDeployment, "", "") },
			wantCode:  http.StatusForbidden, wantMsg: []string{netRawDeny},
			wantDecision: decisionDenied, wantViolated: map[string]string{"drop-net-raw": "deny"},
		},
		{
			name:      "good deployment admitted without warnings",
			inventory: []string{denyAll},
			req:       func(t *testing.T) admission.Request { return review(t, admissionv1.Create, goodDeployment, "", "") },
			wantCode:  http.StatusOK, wantDecision: decisionAllowed,
		},
		{
			name:         "default-deny warns by default",
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Create, goodDeployment, "", "") },
			wantCode:     http.StatusOK,
			wantWarnings: []string{defaultDenyIn},
			wantDecision: decisionAllowed, wantViolated: map[string]string{"default-deny": "warn"},
		},
		{
			name:         "deny and warn together: denied, warnings kept",
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Create, badDeployment, "", "") },
			wantCode:     http.StatusForbidden,
			wantMsg:      []string{netRawDeny},
			wantWarnings: []string{defaultDenyIn},
			wantDecision: decisionDenied,
		},
		{
			name:         "default-deny set to deny denies",
			cfg:          "rules: {default-deny: {enforcement: deny}}",
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Create, goodDeployment, "", "") },
			wantCode:     http.StatusForbidden,
			wantMsg:      []string{defaultDenyIn, "(at metadata.namespace)"},
			wantDecision: decisionDenied,
		},
		{
			name:         "warn enforcement returns warnings on allow",
			cfg:          "rules: {drop-net-raw: {enforcement: warn}}",
			inventory:    []string{denyAll},
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Create, badDeployment, "", "") },
			wantCode:     http.StatusOK,
			wantWarnings: []string{netRawDeny},
			wantDecision: decisionAllowed, wantViolated: map[string]string{"drop-net-raw": "warn"},
		},
		{
			name:         "dryrun enforcement only counts",
			cfg:          "rules: {drop-net-raw: {enforcement: dryrun}}",
			inventory:    []string{denyAll},
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Create, badDeployment, "", "") },
			wantCode:     http.StatusOK,
			wantDecision: decisionAllowed, wantViolated: map[string]string{"drop-net-raw": "dryrun"},
		},
		{
			name:         "disabled rule does not run",
			cfg:          "rules: {drop-net-raw: {enabled: false}}",
			inventory:    []string{denyAll},
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Create, badDeployment, "", "") },
			wantCode:     http.StatusOK,
			wantDecision: decisionAllowed,
		},
		{
			name:         "exempted by annotation",
			inventory:    []string{denyAll},
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Create, exemptDeployment, "", "") },
			wantCode:     http.StatusOK,
			wantDecision: decisionAllowed,
		},
		{
			name:         "excluded namespace passes",
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Create, systemDeployment, "", "") },
			wantCode:     http.StatusOK,
			wantDecision: decisionAllowed,
		},
		{
			name:         "network policy rules deny on create",
			inventory:    []string{denyAll},
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Create, openPolicy, "", "") },
			wantCode:     http.StatusForbidden,
			wantMsg:      []string{"[cidr-base-address] ", "10.0.0.0/8", "[namespace-scoped-ingress] ", "(at spec.ingress[0].from[0].namespaceSelector)"},
			wantDecision: decisionDenied,
		},
		{
			name:         "deleting the last deny-all while workloads remain",
			cfg:          "rules: {default-deny: {enforcement: deny}}",
			inventory:    []string{denyAll, goodDeployment},
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Delete, "", denyAll, "") },
			wantCode:     http.StatusForbidden,
			wantMsg:      []string{`[default-deny] deleting NetworkPolicy "deny-all" leaves 1 workload(s) in namespace "shop"`},
			wantDecision: decisionDenied,
		},
		{
			name:         "weakening the last deny-all while workloads remain",
			cfg:          "rules: {default-deny: {enforcement: deny}}",
			inventory:    []string{denyAll, goodDeployment},
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Update, allowWeb, denyAll, "") },
			wantCode:     http.StatusForbidden,
			wantMsg:      []string{`[default-deny] weakening NetworkPolicy "deny-all"`},
			wantDecision: decisionDenied,
		},
		{
			name:         "deleting the last deny-all of an empty namespace",
			cfg:          "rules: {default-deny: {enforcement: deny}}",
			inventory:    []string{denyAll},
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Delete, "", denyAll, "") },
			wantCode:     http.StatusOK,
			wantDecision: decisionAllowed,
		},
		{
			name:      "namespace controller deletions are never denied",
			cfg:       "rules: {default-deny: {enforcement: deny}}",
			inventory: []string{denyAll, goodDeployment},
			req: func(t *testing.T) admission.Request {
				return review(t, admissionv1.Delete, "", denyAll, NamespaceController)
			},
			wantCode:     http.StatusOK,
			wantDecision: decisionAllowed,
		},
		{
			name:      "deletions in a terminating namespace are never denied",
			cfg:       "rules: {default-deny: {enforcement: deny}}",
			inventory: []string{denyAll, goodDeployment},
			cluster: func() *fakeCluster {
				c := newFakeCluster(true)
				c.setTerminating("shop")
				return c
			}(),
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Delete, "", denyAll, "") },
			wantCode:     http.StatusOK,
			wantDecision: decisionAllowed,
		},
		{
			name:         "deleting a bad deployment is allowed",
			inventory:    []string{denyAll},
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Delete, "", badDeployment, "") },
			wantCode:     http.StatusOK,
			wantDecision: decisionAllowed,
		},
		{
			name:         "unknown kinds are evaluated and allowed",
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Create, widget, "", "") },
			wantCode:     http.StatusOK,
			wantDecision: decisionAllowed,
		},
		{
			name:         "connect is allowed",
			req:          func(t *testing.T) admission.Request { return review(t, admissionv1.Connect, widget, "", "") },
			wantCode:     http.StatusOK,
			wantDecision: decisionAllowed,
		},
		{
			name: "malformed object",
			req: func(t *testing.T) admission.Request {
				r := review(t, admissionv1.Create, goodDeployment, "", "")
				r.Object = runtime.RawExtension{Raw: []byte(`{"kind": "Deployment", "spec": {`)}
				return r
			},
			wantCode: http.StatusBadRequest, wantMsg: []string{"object: decode"}, wantDecision: decisionError,
		},
		{
			name: "object that is not an object",
			req: func(t *testing.T) admission.Request {
				r := review(t, admissionv1.Create, goodDeployment, "", "")
				r.Object = runtime.RawExtension{Raw: []byte(`[1, 2]`)}
				return r
			},
			wantCode: http.StatusBadRequest, wantMsg: []string{"not a JSON object"}, wantDecision: decisionError,
		},
		{
			name: "trailing data after the object",
			req: func(t *testing.T) admission.Request {
				r := review(t, admissionv1.Create, goodDeployment, "", "")
				r.Object = runtime.RawExtension{Raw: []byte(`{"kind": "Deployment"} {"kind": "Pod"}`)}
				return r
			},
			wantCode: http.StatusBadRequest, wantMsg: []string{"data after the object"}, wantDecision: decisionError,
		},
		{
			name: "create without object",
			req: func(t *testing.T) admission.Request {
				r := review(t, admissionv1.Create, goodDeployment, "", "")
				r.Object = runtime.RawExtension{}
				return r
			},
			wantCode: http.StatusBadRequest, wantMsg: []string{"CREATE needs object"}, wantDecision: decisionError,
		},
		{
			name: "delete without oldObject",
			req: func(t *testing.T) admission.Request {
				r := review(t, admissionv1.Delete, "", denyAll, "")
				r.OldObject = runtime.RawExtension{Raw: []byte("null")}
				return r
			},
			wantCode: http.StatusBadRequest, wantMsg: []string{"DELETE needs oldObject"}, wantDecision: decisionError,
		},
		{
			name:     "empty request",
			req:      func(*testing.T) admission.Request { return admission.Request{} },
			wantCode: http.StatusBadRequest, wantMsg: []string{"no request"}, wantDecision: decisionError,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cluster Cluster
			if tc.cluster != nil {
				cluster = tc.cluster
			}
			f := newFixture(t, tc.cfg, cluster)
			for _, y := range tc.inventory {
				f.put(t, y)
			}
			req := tc.req(t)
			resp := f.handler.Handle(t.Context(), req)
			code := resp.Result.Code
			if resp.Allowed && code == 0 {
				code = http.StatusOK
			}
			if code != tc.wantCode {
				t.Fatalf("code = %d, want %d; allowed=%v message=%q warnings=%q", code, tc.wantCode, resp.Allowed, resp.Result.Message, resp.Warnings)
			}
			if resp.Allowed != (tc.wantCode == http.StatusOK) {
				t.Errorf("allowed = %v with code %d", resp.Allowed, code)
			}
			for _, want := range tc.wantMsg {
				if !strings.Contains(resp.Result.Message, want) {
					t.Errorf("message %q does not contain %q", resp.Result.Message, want)
				}
			}
			if len(resp.Warnings) != len(tc.wantWarnings) {
				t.Fatalf("warnings = %q, want %d starting %q", resp.Warnings, len(tc.wantWarnings), tc.wantWarnings)
			}
			for i, want := range tc.wantWarnings {
				if !strings.HasPrefix(resp.Warnings[i], want) {
					t.Errorf("warning %d = %q, want prefix %q", i, resp.Warnings[i], want)
				}
			}
			op, kind := operationLabel(string(req.Operation)), kindLabel(req.Kind.Kind)
			if got := testutil.ToFloat64(f.metrics.requests.WithLabelValues(op, kind, tc.wantDecision)); got != 1 {
				t.Errorf("requests{%s,%s,%s} = %v, want 1", op, kind, tc.wantDecision, got)
			}
			for rule, enf := range tc.wantViolated {
				if got := testutil.ToFloat64(f.metrics.violations.WithLabelValues(rule, enf)); got != 1 {
					t.Errorf("violations{%s,%s} = %v, want 1", rule, enf, got)
				}
			}
			if n := testutil.CollectAndCount(f.metrics.latency); n != 1 {
				t.Errorf("latency series = %d, want 1", n)
			}
		})
	}
}

func TestDenialListsEveryMessageSorted(t *testing.T) {
	f := newFixture(t, "rules: {default-deny: {enforcement: deny}}", nil)
	pod := `
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  containers:
  - {name: b, image: x}
  - {name: a, image: x, securityContext: {privileged: true, capabilities: {drop: [ALL]}}}
`
	resp := f.handler.Handle(t.Context(), review(t, admissionv1.Create, pod, "", ""))
	want := strings.Join([]string{
		`[default-deny] namespace "shop" has no default-deny NetworkPolicy for ingress: add one that selects all pods (podSelector: {}) with policyTypes [Ingress] and no ingress rules (at metadata.namespace)`,
		`[drop-net-raw] container "a" is privileged, which grants every capability (NET_RAW among them) whatever it drops (at spec.containers[1].securityContext.privileged)`,
		`[drop-net-raw] container "b" does not drop NET_RAW (at spec.containers[0].securityContext.capabilities.drop)`,
	}, "\n")
	if resp.Allowed || resp.Result.Message != want {
		t.Errorf("message:\n%s\nwant:\n%s", resp.Result.Message, want)
	}
}

func TestUnknownKindCountedAsOther(t *testing.T) {
	f := newFixture(t, "", nil)
	f.handler.Handle(t.Context(), review(t, admissionv1.Create, widget, "", ""))
	if got := testutil.ToFloat64(f.metrics.requests.WithLabelValues("CREATE", labelOther, decisionAllowed)); got != 1 {
		t.Errorf("requests{CREATE,other,allowed} = %v, want 1", got)
	}
}

// slowPolicy is a user rule that takes seconds, to overrun any short deadline.
const slowPolicy = `# METADATA
# title: Slow
# custom:
#   id: slow
#   severity: error
#   remediation: Wait.
package ward.rules.slow

violation contains {"msg": "slow", "details": {"path": []}} if {
	some i in numbers.range(1, 4000)
	some j in numbers.range(1, 4000)
	i * j == -1
}
`

// failingPolicy is a user rule that fails at evaluation: conflicting values.
const failingPolicy = `# METADATA
# title: Broken
# custom:
#   id: broken
#   severity: error
#   remediation: Fix it.
package ward.rules.broken

_x := input.review.object.metadata.name
_x := "other" if input.review.object.kind

violation contains {"msg": _x, "details": {"path": []}} if true
`

func writePolicy(t *testing.T, name, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := writeFile(dir, name+".rego", text); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestEvaluationOverrun(t *testing.T) {
	dir := writePolicy(t, "slow", slowPolicy)
	for _, tc := range []struct {
		action      string
		wantAllowed bool
		decision    string
	}{
		{"deny", false, decisionDenied},
		{"allow", true, decisionAllowed},
	} {
		t.Run(tc.action, func(t *testing.T) {
			f := newFixture(t, fmt.Sprintf("webhook: {evaluationTimeout: 50ms, onTimeout: %s}", tc.action), nil, dir)
			start := time.Now()
			resp := f.handler.Handle(t.Context(), review(t, admissionv1.Create, goodDeployment, "", ""))
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("overrun answered after %s, want about 50ms", took)
			}
			if resp.Allowed != tc.wantAllowed {
				t.Fatalf("allowed = %v, want %v: %+v", resp.Allowed, tc.wantAllowed, resp.Result)
			}
			text := resp.Result.Message + strings.Join(resp.Warnings, "")
			if !strings.Contains(text, "evaluation overran its deadline (50ms)") {
				t.Errorf("answer %q does not name the overrun", text)
			}
			if got := testutil.ToFloat64(f.metrics.overruns.WithLabelValues(tc.action)); got != 1 {
				t.Errorf("overruns{%s} = %v, want 1", tc.action, got)
			}
			if got := testutil.ToFloat64(f.metrics.requests.WithLabelValues("CREATE", "Deployment", tc.decision)); got != 1 {
				t.Errorf("requests{CREATE,Deployment,%s} = %v, want 1", tc.decision, got)
			}
		})
	}
}

func TestUnsyncedInventoryOverruns(t *testing.T) {
	f := newFixture(t, "webhook: {evaluationTimeout: 20ms}", newFakeCluster(false))
	resp := f.handler.Handle(t.Context(), review(t, admissionv1.Create, goodDeployment, "", ""))
	if resp.Allowed {
		t.Fatalf("allowed before the inventory synced, want the overrun answer (deny)")
	}
	if got := testutil.ToFloat64(f.metrics.overruns.WithLabelValues("deny")); got != 1 {
		t.Errorf("overruns{deny} = %v, want 1", got)
	}
}

func TestRuleFailureIs500(t *testing.T) {
	dir := writePolicy(t, "broken", failingPolicy)
	f := newFixture(t, "", nil, dir)
	resp := f.handler.Handle(t.Context(), review(t, admissionv1.Create, badDeployment, "", ""))
	if resp.Allowed || resp.Result.Code != http.StatusInternalServerError {
		t.Fatalf("got allowed=%v code=%d, want a 500", resp.Allowed, resp.Result.Code)
	}
	if !strings.Contains(resp.Result.Message, "rule broken") {
		t.Errorf("message %q does not name the failing rule", resp.Result.Message)
	}
}

// TestConcurrentReviews runs many reviews at once while the inventory changes under
// them; run with -race.
func TestConcurrentReviews(t *testing.T) {
	// A generous deadline: on two cores under -race, 400 reviews at once queue for
	// seconds, and an overrun is not what this test looks for.
	f := newFixture(t, "rules: {default-deny: {enforcement: deny}}\nwebhook: {evaluationTimeout: 25s}", newFakeCluster(true))
	f.put(t, denyAll)
	const n = 400
	var wg sync.WaitGroup
	errs := make(chan string, n)
	wg.Go(func() {
		for i := range 50 {
			f.put(t, fmt.Sprintf("{apiVersion: apps/v1, kind: Deployment, metadata: {name: d%d, namespace: other}}", i))
		}
	})
	for i := range n {
		wg.Go(func() {
			y, want := badDeployment, false
			if i%2 == 0 {
				y, want = goodDeployment, true
			}
			resp := f.handler.Handle(t.Context(), review(t, admissionv1.Create, y, "", ""))
			if resp.Allowed != want {
				errs <- fmt.Sprintf("review %d: allowed=%v, want %v: %s", i, resp.Allowed, want, resp.Result.Message)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	total := testutil.ToFloat64(f.metrics.requests.WithLabelValues("CREATE", "Deployment", decisionAllowed)) +
		testutil.ToFloat64(f.metrics.requests.WithLabelValues("CREATE", "Deployment", decisionDenied))
	if total != n {
		t.Errorf("requests counted = %v, want %d", total, n)
	}
}
