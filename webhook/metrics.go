package webhook

import (
	"errors"
	"fmt"

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
	rules      map[string]bool
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
			Help:    "Time to answer one admission review, decoding and evaluation included, by operation.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}, []string{"operation"}),
		overruns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ward_evaluation_overruns_total",
			Help: "Evaluations that overran their deadline, by the action taken (allow or deny).",
		}, []string{"action"}),
		rules: map[string]bool{},
	}
	for _, id := range ruleIDs {
		m.rules[id] = true
	}
	// Series that exist from the start read as 0, not as absent, in alerts.
	m.overruns.WithLabelValues("allow")
	m.overruns.WithLabelValues("deny")
	for _, c := range []prometheus.Collector{m.requests, m.violations, m.latency, m.overruns} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
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
