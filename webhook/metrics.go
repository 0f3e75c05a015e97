package webhook

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Label values of the metrics. Kinds and operations outside these sets are counted
// under labelOther, so that whoever can reach the port cannot grow the label space.
const (
	labelOther = "other"

	decisionAllowed = "allowed"
	decisionDenied  = "denied"
	decisionError   = "error"
)

// knownKinds are the kinds the shipped ValidatingWebhookConfiguration sends and the
// rules read; any other kind is counted as "other".
var knownKinds = map[string]bool{
	"Pod": true, "Deployment": true, "StatefulSet": true, "DaemonSet": true,
	"ReplicaSet": true, "ReplicationController": true, "Job": true, "CronJob": true,
	"PodTemplate": true, "NetworkPolicy": true, "Service": true, "Namespace": true,
}

var knownOperations = map[string]bool{"CREATE": true, "UPDATE": true, "DELETE": true, "CONNECT": true}

// Metrics are ward's admission metrics. Register them once, in controller-runtime's
// registry (sigs.k8s.io/controller-runtime/pkg/metrics.Registry) beside its own.
type Metrics struct {
	requests   *prometheus.CounterVec
	violations *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	overruns   *prometheus.CounterVec
	overloaded prometheus.Counter
	// connectionsShed counts the connections the server closed at its cap.
	connectionsShed *prometheus.CounterVec
	rules           map[string]bool

	// controller-runtime's webhook metrics, which its admission.Webhook kept before
	// Endpoint replaced it, counted on the same series.
	httpRequests *prometheus.CounterVec
	httpLatency  *prometheus.HistogramVec
	httpInFlight *prometheus.GaugeVec

	reg prometheus.Registerer
}

// NewMetrics creates ward's metrics and registers them with reg. ruleIDs are the loaded
// rules; a violation of any other rule is counted as "other".
func NewMetrics(reg prometheus.Registerer, ruleIDs []string) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ward_admission_requests_total",
			Help: "Admission reviews answered, by operation, kind and decision (allowed, denied, error). Kinds ward does not know are counted as \"other\".",
		}, []string{"operation", "kind", "decision"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ward_admission_violations_total",
			Help: "Rule findings on admission reviews, by rule and enforcement (deny, warn, dryrun).",
		}, []string{"rule", "enforcement"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ward_admission_review_duration_seconds",
			Help:    "Time to judge one decoded admission review, evaluation included, by operation; controller_runtime_webhook_latency_seconds times the whole HTTP request, the wait for a core included.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}, []string{"operation"}),
		overruns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ward_evaluation_overruns_total",
			Help: "Evaluations that overran their deadline, by the action taken (allow or deny).",
		}, []string{"action"}),
		overloaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ward_admission_overloaded_total",
			Help: "Admission reviews refused with HTTP 429 because the most reviews allowed in flight (--max-in-flight) were in flight; the API server applies the webhook's failurePolicy to them.",
		}),
		connectionsShed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ward_webhook_connections_shed_total",
			Help: "Connections the webhook server closed because it held as many as it takes: an idle keep-alive one to make room (evicted), or the new one before its TLS handshake (refused).",
		}, []string{"action"}),
		rules: map[string]bool{},
		reg:   reg,
	}
	for _, id := range ruleIDs {
		m.rules[id] = true
	}
	// Series that exist from the start read as 0, not as absent, in alerts.
	m.overruns.WithLabelValues("allow")
	m.overruns.WithLabelValues("deny")
	m.connectionsShed.WithLabelValues("refused")
	m.connectionsShed.WithLabelValues("evicted")
	for _, c := range []prometheus.Collector{m.requests, m.violations, m.latency, m.overruns, m.overloaded, m.connectionsShed} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	var err error
	if m.httpRequests, err = shared(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "controller_runtime_webhook_requests_total",
		Help: "Total number of admission requests by HTTP status code.",
	}, []string{"webhook", "code"})); err != nil {
		return nil, err
	}
	if m.httpLatency, err = shared(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:                            "controller_runtime_webhook_latency_seconds",
		Help:                            "Histogram of the latency of processing admission requests",
		Buckets:                         prometheus.ExponentialBuckets(10e-9, 10, 12),
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  100,
		NativeHistogramMinResetDuration: 1 * time.Hour,
	}, []string{"webhook"})); err != nil {
		return nil, err
	}
	if m.httpInFlight, err = shared(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "controller_runtime_webhook_requests_in_flight",
		Help: "Current number of admission requests being served.",
	}, []string{"webhook"})); err != nil {
		return nil, err
	}
	return m, nil
}

// RegisterRuntimeCollectors registers the Go runtime and process collectors
// (go_*, process_*) in reg, with the options controller-runtime uses.
// controller-runtime registers them in its metrics registry from the init of
// pkg/internal/controller/metrics, which only its controller builder links (the root
// package sigs.k8s.io/controller-runtime imports it). ward imports the packages it
// uses instead of the root, to keep those inits out of every ward process (ward lint
// included), and registers the collectors here, when ward serve starts, so that
// /metrics serves what it did. Collectors registered already are left as they are.
func RegisterRuntimeCollectors(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsAll)),
	} {
		if err := reg.Register(c); err != nil {
			if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
				continue
			}
			return fmt.Errorf("register runtime metrics: %w", err)
		}
	}
	return nil
}

// shared registers c, or returns the collector already registered under the same
// description: controller-runtime registers its webhook metrics in its registry when
// its webhook package is loaded, and ward counts on those very series.
func shared[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("register metrics: %w", err)
}

// registerMaxInFlight exposes the bound on reviews in flight and how many are in
// flight now, read when scraped.
func (m *Metrics) registerMaxInFlight(limit int, inFlight func() float64) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ward_admission_max_in_flight",
			Help: "The most admission reviews ward decodes, evaluates or answers at once (--max-in-flight); beyond it, it answers HTTP 429.",
		}, func() float64 { return float64(limit) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ward_admission_in_flight",
			Help: "Admission reviews being decoded, evaluated or answered now.",
		}, inFlight),
	} {
		if err := m.reg.Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}

func kindLabel(kind string) string {
	if knownKinds[kind] {
		return kind
	}
	return labelOther
}

func operationLabel(op string) string {
	if knownOperations[op] {
		return op
	}
	return labelOther
}

func (m *Metrics) ruleLabel(id string) string {
	if m.rules[id] {
		return id
	}
	return labelOther
}
