// Package rules is ward's rule registry: the metadata of every rule (id, title,
// severity, remediation, rationale, examples, defaults) read from the rules' Rego
// METADATA, so that a rule is described in one place, next to its code.
package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Severity is how a finding of a rule counts for the exit code.
type Severity string

// The severities a rule may declare.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Enforcement is what the webhook does with a finding.
type Enforcement string

// The webhook enforcement actions.
const (
	EnforcementDeny   Enforcement = "deny"
	EnforcementWarn   Enforcement = "warn"
	EnforcementDryRun Enforcement = "dryrun"
)

// ParseSeverity checks a severity named in config or metadata.
func ParseSeverity(s string) (Severity, error) {
	switch Severity(s) {
	case SeverityError, SeverityWarning:
		return Severity(s), nil
	}
	return "", fmt.Errorf("%w %q: want error or warning", ErrBadSeverity, s)
}

// ParseEnforcement checks an enforcement action named in config or metadata.
func ParseEnforcement(s string) (Enforcement, error) {
	switch Enforcement(s) {
	case EnforcementDeny, EnforcementWarn, EnforcementDryRun:
		return Enforcement(s), nil
	}
	return "", fmt.Errorf("%w %q: want deny, warn or dryrun", ErrBadEnforcement, s)
}

// Rule is one rule's metadata.
type Rule struct {
	ID          string
	Title       string
	Description string
	Severity    Severity
	Remediation string
	// Why is the rationale: the practice or incident the rule comes from.
	Why string
	// Exemption says where the ignore annotation goes for the exemption to cover what
	// the user means (for workloads: the pod template too, so Pods are covered).
	Exemption string
	// Enforcement is the default webhook action.
	Enforcement Enforcement
	// Parameters are the defaults; config overrides them key by key.
	Parameters map[string]any
	// Package is the Rego package name under data.ward.rules (snake_case of ID).
	Package string
	// Source is the file the rule was read from.
	Source string
	// GoodExample and BadExample are manifests ward explain prints; may be empty.
	GoodExample, BadExample string
	// Builtin is true for rules of the embedded library, false for --policy rules.
	Builtin bool
}

// IgnoreAnnotation is the annotation that exempts an object from this rule.
func (r *Rule) IgnoreAnnotation() string { return IgnoreAnnotationPrefix + r.ID }

// IgnoreAnnotationPrefix starts every exemption annotation key.
const IgnoreAnnotationPrefix = "ignore.ward.dev/"

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Validate checks the metadata every rule must have.
func (r *Rule) Validate() error {
	var errs []error
	if !idPattern.MatchString(r.ID) {
		errs = append(errs, fmt.Errorf("id %q is not kebab-case", r.ID))
	}
	if want := strings.ReplaceAll(r.ID, "-", "_"); r.Package != want {
		errs = append(errs, fmt.Errorf("package ward.rules.%s does not match id %q (want ward.rules.%s)", r.Package, r.ID, want))
	}
	if r.Title == "" {
		errs = append(errs, errors.New("no title"))
	}
	if _, err := ParseSeverity(string(r.Severity)); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseEnforcement(string(r.Enforcement)); err != nil {
		errs = append(errs, err)
	}
	if r.Remediation == "" || !strings.HasSuffix(strings.TrimSpace(r.Remediation), ".") {
		errs = append(errs, errors.New("remediation must be present and end with a period"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rule %s (%s): %w", r.ID, r.Source, err)
	}
	return nil
}

// Registry holds the rules by ID.
type Registry struct {
	byID  map[string]*Rule
	byPkg map[string]*Rule
	list  []*Rule
}

// NewRegistry validates the rules and indexes them. A duplicate ID is an error.
func NewRegistry(list []*Rule) (*Registry, error) {
	r := &Registry{byID: map[string]*Rule{}, byPkg: map[string]*Rule{}}
	var errs []error
	for _, rule := range list {
		if err := rule.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := r.byID[rule.ID]; ok {
			errs = append(errs, fmt.Errorf("%w: %q in %s and %s", ErrDuplicateID, rule.ID, prev.Source, rule.Source))
			continue
		}
		r.byID[rule.ID] = rule
		r.byPkg[rule.Package] = rule
		r.list = append(r.list, rule)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(r.list, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
	return r, nil
}

// Get looks a rule up by ID.
func (r *Registry) Get(id string) (*Rule, bool) {
	rule, ok := r.byID[id]
	return rule, ok
}

// ByPackage looks a rule up by its Rego package name.
func (r *Registry) ByPackage(pkg string) (*Rule, bool) {
	rule, ok := r.byPkg[pkg]
	return rule, ok
}

// List returns the rules sorted by ID.
func (r *Registry) List() []*Rule { return slices.Clone(r.list) }

// IDs returns the rule IDs, sorted.
func (r *Registry) IDs() []string {
	ids := make([]string, len(r.list))
	for i, rule := range r.list {
		ids[i] = rule.ID
	}
	return ids
}
