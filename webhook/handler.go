package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/klog/v2"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/rules"
)

// NamespaceController is the user the namespace controller deletes a terminating
// namespace's contents as. Its deletions are never denied.
const NamespaceController = "system:serviceaccount:kube-system:namespace-controller"

// Cluster is what the handler knows of the cluster beyond the request itself.
type Cluster interface {
	// Synced is closed once the inventory holds everything the cache listed at start.
	Synced() <-chan struct{}
	// Terminating reports whether namespace ns is being deleted.
	Terminating(ns string) bool
}

// HandlerOptions configure NewHandler.
type HandlerOptions struct {
	// Evaluator judges reviews; prepare it once, over the live inventory.
	Evaluator *engine.Evaluator
	// Settings give each rule's enforcement and the webhook's deadline.
	Settings *config.Settings
	// Metrics count what the handler does; required.
	Metrics *Metrics
	// Cluster tells whether the inventory has synced and which namespaces terminate.
	// Nil means synced from the start and no namespace terminating.
	Cluster Cluster
}

// Handler is ward's admission.Handler: it decodes a request into an engine.Review,
// evaluates it within the configured deadline, and answers by each rule's enforcement.
// It is safe for concurrent use.
type Handler struct {
	eval        *engine.Evaluator
	enforcement map[string]rules.Enforcement
	timeout     time.Duration
	onTimeout   config.OnTimeout
	metrics     *Metrics
	cluster     Cluster
}

var _ admission.Handler = (*Handler)(nil)

// NewHandler builds the handler.
func NewHandler(o HandlerOptions) (*Handler, error) {
	if o.Evaluator == nil || o.Settings == nil || o.Metrics == nil {
		return nil, errors.New("new handler: evaluator, settings and metrics are required")
	}
	h := &Handler{
		eval:        o.Evaluator,
		enforcement: map[string]rules.Enforcement{},
		timeout:     o.Settings.Webhook.EvaluationTimeout,
		onTimeout:   o.Settings.Webhook.OnTimeout,
		metrics:     o.Metrics,
		cluster:     o.Cluster,
	}
	if h.timeout <= 0 {
		h.timeout = config.DefaultEvaluationTimeout
	}
	if h.onTimeout == "" {
		h.onTimeout = config.DefaultOnTimeout
	}
	for id, rs := range o.Settings.Rules {
		h.enforcement[id] = rs.Enforcement
	}
	return h, nil
}

// Handle answers one admission request. It never panics on its input: whatever the
// request holds, the answer is an allow, a deny with reasons, or an error with a code.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	return h.review(ctx, &req, decodeObjects(&req))
}

// review answers a request whose objects are decoded, and counts and logs the answer.
// Endpoint calls it with objects decoded straight from the HTTP body.
func (h *Handler) review(ctx context.Context, req *admission.Request, objs objects) admission.Response {
	start := time.Now()
	log := requestLog{base: logf.FromContext(ctx), req: req}
	resp, decision := h.handle(ctx, &log, req, objs)
	took := time.Since(start)
	op := operationLabel(string(req.Operation))
	h.metrics.requests.WithLabelValues(op, kindLabel(req.Kind.Kind), decision).Inc()
	h.metrics.latency.WithLabelValues(op).Observe(took.Seconds())
	if log.base.V(1).Enabled() {
		log.get().V(1).Info("reviewed", keyDecision, decision, keyDuration, took.String())
	}
	return resp
}

func (h *Handler) handle(ctx context.Context, log *requestLog, req *admission.Request, objs objects) (admission.Response, string) {
	review, err := reviewOf(req, objs)
	if err != nil {
		log.get().Info("undecodable admission request", keyReason, err.Error())
		return admission.Errored(http.StatusBadRequest, err), decisionError
	}
	switch {
	case req.Operation == admissionv1.Connect:
		return admission.Allowed("ward judges objects, not connections"), decisionAllowed
	case req.Operation == admissionv1.Delete && h.namespaceGoingAway(req):
		if log.base.V(1).Enabled() {
			log.get().V(1).Info("deletion in a terminating namespace allowed unevaluated")
		}
		return admission.Allowed("namespace is terminating"), decisionAllowed
	}

	ectx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	var out engine.Outcome
	if err := h.waitSynced(ectx); err != nil {
		return h.overrun(ctx, log.get())
	}
	out = h.eval.Evaluate(ectx, review)
	if len(out.Errors) > 0 && ectx.Err() != nil {
		return h.overrun(ctx, log.get())
	}
	if len(out.Errors) > 0 {
		ids := make([]string, 0, len(out.Errors))
		errs := make([]error, 0, len(out.Errors))
		for _, e := range out.Errors {
			ids = append(ids, e.RuleID)
			errs = append(errs, e)
		}
		err := errors.Join(errs...)
		log.get().Error(err, "rule evaluation failed", keyRules, ids)
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("ward could not evaluate the request: %w", err)), decisionError
	}
	if out.Excluded {
		if log.base.V(1).Enabled() {
			log.get().V(1).Info("namespace excluded")
		}
		return admission.Allowed(""), decisionAllowed
	}
	return h.verdict(log, out)
}

// requestLog is the logger of one review, with the request's identity as key/values,
// built on first use: most reviews log nothing, and zap encodes those values eagerly.
type requestLog struct {
	base  logr.Logger
	req   *admission.Request
	log   logr.Logger
	built bool
}

func (l *requestLog) get() logr.Logger {
	if !l.built {
		r := l.req
		l.log = l.base.WithValues(keyObject, klog.KRef(r.Namespace, r.Name), keyNamespace, r.Namespace, keyName, r.Name,
			keyResource, r.Resource, keyUser, r.UserInfo.Username, keyRequestID, r.UID,
			keyOperation, string(r.Operation), keyKind, r.Kind.Kind)
		l.built = true
	}
	return l.log
}

// verdict maps findings to a response by each rule's enforcement.
func (h *Handler) verdict(rlog *requestLog, out engine.Outcome) (admission.Response, string) {
	var denies, warnings []string
	var denyIDs, dryrunIDs []string
	for _, v := range out.Violations {
		enf := h.enforcementOf(v.RuleID)
		h.metrics.violations.WithLabelValues(h.metrics.ruleLabel(v.RuleID), string(enf)).Inc()
		switch enf {
		case rules.EnforcementWarn:
			warnings = append(warnings, FormatViolation(v))
		case rules.EnforcementDryRun:
			dryrunIDs = append(dryrunIDs, v.RuleID)
		default:
			denies = append(denies, FormatViolation(v))
			denyIDs = append(denyIDs, v.RuleID)
		}
	}
	slices.Sort(denies)
	slices.Sort(warnings)
	if len(dryrunIDs) > 0 {
		rlog.get().Info("dryrun violations", keyRules, compactSorted(dryrunIDs), keyEnforcement, string(rules.EnforcementDryRun))
	}
	if len(out.Exempted) > 0 && rlog.base.V(1).Enabled() {
		ids := make([]string, 0, len(out.Exempted))
		for _, v := range out.Exempted {
			ids = append(ids, v.RuleID)
		}
		rlog.get().V(1).Info("exempted violations", keyRules, compactSorted(ids))
	}
	if len(denies) > 0 {
		rlog.get().Info("denied", keyRules, compactSorted(denyIDs), keyCount, len(denies))
		return admission.Denied(strings.Join(denies, "\n")).WithWarnings(warnings...), decisionDenied
	}
	return admission.Allowed("").WithWarnings(warnings...), decisionAllowed
}

func (h *Handler) enforcementOf(id string) rules.Enforcement {
	if e, ok := h.enforcement[id]; ok && e != "" {
		return e
	}
	return rules.EnforcementDeny
}

// overrun answers a review whose evaluation did not finish in time, as configured.
func (h *Handler) overrun(ctx context.Context, log logr.Logger) (admission.Response, string) {
	if errors.Is(ctx.Err(), context.Canceled) {
		// The caller went away; nobody reads this answer.
		return admission.Errored(http.StatusServiceUnavailable, fmt.Errorf("request cancelled: %w", ctx.Err())), decisionError
	}
	h.metrics.overruns.WithLabelValues(string(h.onTimeout)).Inc()
	log.Info("evaluation overran its deadline", keyTimeout, h.timeout.String(), keyAction, string(h.onTimeout))
	msg := fmt.Sprintf("ward: %v (%s)", ErrOverrun, h.timeout)
	if h.onTimeout == config.OnTimeoutAllow {
		return admission.Allowed("").WithWarnings(msg + "; admitted unchecked (webhook.onTimeout: allow)"), decisionAllowed
	}
	return admission.Denied(msg + "; denied (webhook.onTimeout: deny)"), decisionDenied
}

func (h *Handler) waitSynced(ctx context.Context) error {
	if h.cluster == nil {
		return nil
	}
	select {
	case <-h.cluster.Synced():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// namespaceGoingAway holds for deletions the namespace controller makes and for
// deletions in a namespace that is terminating: emptying a namespace that is being
// deleted must never be blocked.
func (h *Handler) namespaceGoingAway(req *admission.Request) bool {
	if req.UserInfo.Username == NamespaceController {
		return true
	}
	return req.Namespace != "" && h.cluster != nil && h.cluster.Terminating(req.Namespace)
}

// FormatViolation renders a finding as the webhook reports it:
// "[rule-id] message (at path)".
func FormatViolation(v engine.Violation) string {
	if p := engine.PathString(v.Path); p != "" {
		return fmt.Sprintf("[%s] %s (at %s)", v.RuleID, v.Message, p)
	}
	return fmt.Sprintf("[%s] %s", v.RuleID, v.Message)
}

func compactSorted(ids []string) []string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}
