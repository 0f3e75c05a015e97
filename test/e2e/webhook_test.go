package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// webhookName is the webhook's name in examples/deploy/webhook.yaml; the API server
// names it in every denial.
const webhookName = `admission webhook "validate.ward.dev" denied the request`

func deployment(ns, name string, dropAll bool) *appsv1.Deployment {
	c := corev1.Container{Name: "web", Image: "nginx:1.27"}
	if dropAll {
		c.SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	}
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{c}},
			},
		},
	}
}

func denyAll(ns string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: ns},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
	}
}

var dryRun = []string{metav1.DryRunAll}

func createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := s.client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createDeployment(ctx context.Context, d *appsv1.Deployment, opts metav1.CreateOptions) error {
	_, err := s.client.AppsV1().Deployments(d.Namespace).Create(ctx, d, opts)
	return err
}

// warningsFrom runs f and returns the admission warnings the API server passed on.
func warningsFrom(f func() error) ([]string, error) {
	s.warnings.take()
	err := f()
	return s.warnings.take(), err
}

func hasWarning(warnings []string, prefix string) bool {
	return slices.ContainsFunc(warnings, func(w string) bool { return strings.HasPrefix(w, prefix) })
}

const netRawWeb = `[drop-net-raw] container "web" does not drop NET_RAW (at spec.template.spec.containers[0].securityContext.capabilities.drop)`

// TestWebhook drives ward through the API server: deny, admit, warn, default-deny and
// its inventory, namespace termination, metrics and probes, and fail-closed when ward is
// down. The steps share one control plane and run in order.
func TestWebhook(t *testing.T) {
	need(t)
	start := time.Now()
	defer func() { t.Logf("TestWebhook took %s", time.Since(start).Round(time.Millisecond)) }()
	ctx := t.Context()

	createNamespace(t, "e2e-shop")
	createNamespace(t, "e2e-open")
	createNamespace(t, "e2e-strict")

	// Phase 1: the shipped config (examples/deploy/ward.yaml): every rule at deny but
	// default-deny at warn.
	shipped, err := os.ReadFile(repoFile("examples/deploy/ward.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ward := startWard(t, "shipped", string(shipped))

	t.Run("probes answer", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			code, body, err := get(ctx, "http://"+ward.probeAddr+path)
			if err != nil || code != http.StatusOK {
				t.Errorf("%s: %d %q %v", path, code, body, err)
			}
		}
	})

	if _, err := s.client.NetworkingV1().NetworkPolicies("e2e-shop").Create(ctx, denyAll("e2e-shop"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deny-all in e2e-shop: %v", err)
	}

	t.Run("bad deployment denied with ward's message", func(t *testing.T) {
		err := createDeployment(ctx, deployment("e2e-shop", "bad", false), metav1.CreateOptions{})
		if e := errContains(err, webhookName+": "+netRawWeb); e != nil {
			t.Fatal(e)
		}
	})

	t.Run("good deployment admitted", func(t *testing.T) {
		// The cache may not have seen e2e-shop's deny-all yet: wait for a clean dry run.
		eventually(t, 10*time.Second, "clean admission in e2e-shop", func() error {
			w, err := warningsFrom(func() error {
				return createDeployment(ctx, deployment("e2e-shop", "good", true), metav1.CreateOptions{DryRun: dryRun})
			})
			if err != nil || len(w) > 0 {
				return fmt.Errorf("warnings %q, error: %w", w, err)
			}
			return nil
		})
		w, err := warningsFrom(func() error {
			return createDeployment(ctx, deployment("e2e-shop", "good", true), metav1.CreateOptions{})
		})
		if err != nil || len(w) > 0 {
			t.Fatalf("good deployment: err %v, warnings %q", err, w)
		}
	})

	t.Run("default-deny at warn admits with a warning", func(t *testing.T) {
		w, err := warningsFrom(func() error {
			return createDeployment(ctx, deployment("e2e-open", "open", true), metav1.CreateOptions{})
		})
		if err != nil {
			t.Fatalf("denied: %v", err)
		}
		if !hasWarning(w, `[default-deny] namespace "e2e-open" has no default-deny NetworkPolicy for ingress`) {
			t.Errorf("warnings %q lack default-deny's", w)
		}
	})

	t.Run("a review posted over HTTPS gets ward lint's verdict", func(t *testing.T) {
		reviewParity(t)
	})

	t.Run("metrics answer", func(t *testing.T) {
		code, body, err := get(ctx, "http://"+ward.metricsAddr+"/metrics")
		if err != nil || code != http.StatusOK {
			t.Fatalf("/metrics: %d %v", code, err)
		}
		for _, want := range []string{
			`ward_admission_requests_total{decision="denied",kind="Deployment",operation="CREATE"}`,
			`ward_admission_requests_total{decision="allowed",kind="Deployment",operation="CREATE"}`,
			`ward_admission_violations_total{enforcement="deny",rule="drop-net-raw"}`,
			`ward_admission_violations_total{enforcement="warn",rule="default-deny"}`,
			`ward_admission_review_duration_seconds_bucket{operation="CREATE"`,
			`ward_evaluation_overruns_total{action="deny"} 0`,
			`controller_runtime_webhook_requests_total{code="200",webhook="/validate"}`,
			// Runtime and process metrics, which ward registers itself (RegisterRuntimeCollectors).
			"\ngo_goroutines ",
			"\nprocess_cpu_seconds_total ",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("one log line per denial, naming the rules", func(t *testing.T) {
		log := ward.log(t)
		if !strings.Contains(log, `"msg":"denied"`) || !strings.Contains(log, `"rules":["drop-net-raw"]`) {
			t.Errorf("no denial line with its rules in ward's log")
		}
		if strings.Contains(log, "nginx:1.27") {
			t.Errorf("ward's log holds object contents")
		}
	})

	if err := ward.stop(t); err != nil {
		t.Fatalf("ward exited with %v after SIGTERM, want 0", err)
	}

	// Phase 2: drop-net-raw at warn, default-deny at deny.
	ward = startWard(t, "strict", "rules:\n  drop-net-raw: {enforcement: warn}\n  default-deny: {enforcement: deny}\n")

	t.Run("warn enforcement returns warnings", func(t *testing.T) {
		w, err := warningsFrom(func() error {
			return createDeployment(ctx, deployment("e2e-shop", "bad-but-warned", false), metav1.CreateOptions{})
		})
		if err != nil {
			t.Fatalf("denied: %v", err)
		}
		if !hasWarning(w, netRawWeb) {
			t.Errorf("warnings %q lack %s", w, netRawWeb)
		}
	})

	t.Run("default-deny at deny: denied, then admitted once the policy exists", func(t *testing.T) {
		api := deployment("e2e-strict", "api", true)
		err := createDeployment(ctx, api, metav1.CreateOptions{})
		if e := errContains(err, webhookName+`: [default-deny] namespace "e2e-strict" has no default-deny NetworkPolicy`); e != nil {
			t.Fatal(e)
		}
		if _, err := s.client.NetworkingV1().NetworkPolicies("e2e-strict").Create(ctx, denyAll("e2e-strict"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create deny-all: %v", err)
		}
		eventually(t, 10*time.Second, "ward's cache sees the policy", func() error {
			return createDeployment(ctx, api, metav1.CreateOptions{DryRun: dryRun})
		})
		if err := createDeployment(ctx, api, metav1.CreateOptions{}); err != nil {
			t.Fatalf("admitted on dry run, then: %v", err)
		}
	})

	policies := s.client.NetworkingV1().NetworkPolicies("e2e-strict")
	const lastPolicy = `[default-deny] deleting NetworkPolicy "deny-all" leaves 1 workload(s) in namespace "e2e-strict"`

	t.Run("deleting the last deny-all policy is denied while workloads remain", func(t *testing.T) {
		eventually(t, 10*time.Second, "ward's cache sees the deployment", func() error {
			return errContains(policies.Delete(ctx, "deny-all", metav1.DeleteOptions{DryRun: dryRun}), lastPolicy)
		})
		if e := errContains(policies.Delete(ctx, "deny-all", metav1.DeleteOptions{}), webhookName+": "+lastPolicy); e != nil {
			t.Fatal(e)
		}
	})

	t.Run("weakening it is denied too", func(t *testing.T) {
		p, err := policies.Get(ctx, "deny-all", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
		_, err = policies.Update(ctx, p, metav1.UpdateOptions{})
		if e := errContains(err, `[default-deny] weakening NetworkPolicy "deny-all"`); e != nil {
			t.Fatal(e)
		}
	})

	t.Run("deleting it once the namespace terminates is allowed", func(t *testing.T) {
		// No namespace controller runs here: the namespace stays Terminating, and the
		// test deletes the policy as that controller would.
		if err := s.client.CoreV1().Namespaces().Delete(ctx, "e2e-strict", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		ns, err := s.client.CoreV1().Namespaces().Get(ctx, "e2e-strict", metav1.GetOptions{})
		if err != nil || ns.DeletionTimestamp == nil {
			t.Fatalf("namespace not terminating: %v %+v", err, ns.Status)
		}
		eventually(t, 10*time.Second, "ward's cache sees the namespace terminate", func() error {
			return policies.Delete(ctx, "deny-all", metav1.DeleteOptions{DryRun: dryRun})
		})
		if err := policies.Delete(ctx, "deny-all", metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete in a terminating namespace: %v", err)
		}
	})

	t.Run("failurePolicy Fail rejects while ward is down", func(t *testing.T) {
		if err := ward.stop(t); err != nil {
			t.Fatalf("ward exited with %v after SIGTERM, want 0", err)
		}
		err := createDeployment(ctx, deployment("e2e-shop", "while-down", true), metav1.CreateOptions{})
		if e := errContains(err, `failed calling webhook "validate.ward.dev"`); e != nil {
			t.Fatal(e)
		}
		// Namespaces the webhook excludes are not held hostage.
		if err := createDeployment(ctx, deployment("kube-system", "while-down", true), metav1.CreateOptions{}); err != nil {
			t.Errorf("kube-system blocked while ward is down: %v", err)
		}
	})
}

// reviewParity posts testdata/parity.yaml's Deployment as an AdmissionReview to the
// running ward over HTTPS, as curl would, and compares the denial with ward lint's
// findings on the same file.
func reviewParity(t *testing.T) {
	const file = "testdata/parity.yaml"
	out, err := exec.Command(s.bin, "lint", "-o", "json", file).Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("ward lint: %v", err)
	}
	var res struct {
		Findings []struct {
			Rule, Message, Path string
			Object              struct{ Kind, Name string }
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ward lint output: %v\n%s", err, out)
	}
	var want []string
	for _, f := range res.Findings {
		if f.Object.Kind == "Deployment" {
			want = append(want, fmt.Sprintf("[%s] %s (at %s)", f.Rule, f.Message, f.Path))
		}
	}
	if len(want) < 3 {
		t.Fatalf("ward lint found %d findings on the Deployment, want 3 or more: %s", len(want), out)
	}

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(data), "\n---\n")
	obj, err := yaml.YAMLToJSON([]byte(docs[len(docs)-1]))
	if err != nil {
		t.Fatal(err)
	}
	review := admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{
		UID:       "curl-1",
		Kind:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Resource:  metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
		Namespace: "e2e-shop", Name: "parity", Operation: admissionv1.Create,
		Object: runtime.RawExtension{Raw: obj},
		DryRun: new(true),
	}}
	review.APIVersion, review.Kind = "admission.k8s.io/v1", "AdmissionReview"
	body, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: s.ca.Pool(), MinVersion: tls.VersionTLS12},
	}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, fmt.Sprintf("https://127.0.0.1:%d/validate", s.port), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var answer admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.Response == nil {
		t.Fatalf("answer: %v", err)
	}
	if answer.Response.UID != "curl-1" || answer.Response.Allowed || answer.Response.Result.Code != http.StatusForbidden {
		t.Fatalf("answer: uid %q allowed %v result %+v", answer.Response.UID, answer.Response.Allowed, answer.Response.Result)
	}
	got := strings.Split(answer.Response.Result.Message, "\n")
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ward lint (-) and ward serve (+) disagree:\n%s", diff)
	}
	if len(answer.Response.Warnings) > 0 {
		t.Errorf("unexpected warnings: %q", answer.Response.Warnings)
	}
}
