package config

import (
	"fmt"
	"time"
)

// OnTimeout is what ward serve answers when a review's evaluation overruns its deadline.
type OnTimeout string

// The answers to an evaluation overrun.
const (
	// OnTimeoutDeny rejects the request: fail closed, like failurePolicy Fail.
	OnTimeoutDeny OnTimeout = "deny"
	// OnTimeoutAllow admits the request with a warning: fail open.
	OnTimeoutAllow OnTimeout = "allow"
)

// Defaults of the webhook section.
const (
	// DefaultEvaluationTimeout stays below the 5 s timeoutSeconds of the shipped
	// ValidatingWebhookConfiguration, leaving the API server time to get an answer.
	DefaultEvaluationTimeout = 3 * time.Second
	// DefaultOnTimeout fails closed, as the shipped failurePolicy Fail does.
	DefaultOnTimeout = OnTimeoutDeny
	// maxEvaluationTimeout is the API server's own limit on a webhook call.
	maxEvaluationTimeout = 30 * time.Second
)

// Webhook is the webhook section of .ward.yaml:
//
//	webhook:
//	  evaluationTimeout: 3s   # below the webhook's timeoutSeconds
//	  onTimeout: deny         # deny | allow
type Webhook struct {
	// EvaluationTimeout bounds the evaluation of one review.
	EvaluationTimeout time.Duration `yaml:"evaluationTimeout"`
	// OnTimeout is deny or allow.
	OnTimeout string `yaml:"onTimeout"`
}

// WebhookSettings are the webhook section resolved, defaults applied.
type WebhookSettings struct {
	EvaluationTimeout time.Duration
	OnTimeout         OnTimeout
}

func (w Webhook) resolve() (WebhookSettings, error) {
	s := WebhookSettings{EvaluationTimeout: DefaultEvaluationTimeout, OnTimeout: DefaultOnTimeout}
	if w.EvaluationTimeout != 0 {
		if w.EvaluationTimeout < 0 || w.EvaluationTimeout >= maxEvaluationTimeout {
			return s, fmt.Errorf("evaluationTimeout %s: want more than 0 and less than %s", w.EvaluationTimeout, maxEvaluationTimeout)
		}
		s.EvaluationTimeout = w.EvaluationTimeout
	}
	switch OnTimeout(w.OnTimeout) {
	case "":
	case OnTimeoutDeny, OnTimeoutAllow:
		s.OnTimeout = OnTimeout(w.OnTimeout)
	default:
		return s, fmt.Errorf("onTimeout %q: want deny or allow", w.OnTimeout)
	}
	return s, nil
}
