// Package report holds the result of a lint run and writes it in each output format:
// text, json, sarif, junit and github.
package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/wardsec/ward/pkg/rules"
)

// Object identifies the object a finding is about.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// Finding is one rule violation, placed in a file.
type Finding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Object   Object `json:"object"`
	Path     string `json:"path"`
	// Reason is the exemption's reason; set on exempted findings only.
	Reason string `json:"reason,omitempty"`
}

// InputError is a file or document ward could not read.
type InputError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// Summary counts what a run saw.
type Summary struct {
	Files    int `json:"files"`
	Objects  int `json:"objects"`
	Findings int `json:"findings"`
	Exempted int `json:"exempted"`
	Errors   int `json:"errors"`
}

// Check is one object and the rules evaluated on it, for formats that report what
// passed as well as what failed (JUnit: a testcase per object and rule).
type Check struct {
	File   string
	Line   int
	Object Object
	// Rules are the IDs of the rules evaluated on the object, sorted; empty when its
	// namespace is excluded.
	Rules []string
}

// Result is everything a lint run reports.
type Result struct {
	Findings []Finding    `json:"findings"`
	Exempted []Finding    `json:"exempted"`
	Errors   []InputError `json:"errors"`
	Summary  Summary      `json:"summary"`
	// Checks lists every linted object; not part of the JSON document.
	Checks []Check `json:"-"`
}

// Sort orders findings by file, line, column, rule and message, errors by file and
// line, and checks by file and line, so output is the same whatever the concurrency. It
// also fills in the summary counts.
func (r *Result) Sort() {
	slices.SortStableFunc(r.Findings, compareFindings)
	slices.SortStableFunc(r.Exempted, compareFindings)
	slices.SortStableFunc(r.Errors, func(a, b InputError) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Message, b.Message))
	})
	slices.SortStableFunc(r.Checks, func(a, b Check) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Exempted == nil {
		r.Exempted = []Finding{}
	}
	if r.Errors == nil {
		r.Errors = []InputError{}
	}
	r.Summary.Findings = len(r.Findings)
	r.Summary.Exempted = len(r.Exempted)
	r.Summary.Errors = len(r.Errors)
}

func compareFindings(a, b Finding) int {
	return cmp.Or(
		strings.Compare(a.File, b.File),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Column, b.Column),
		strings.Compare(a.Rule, b.Rule),
		strings.Compare(a.Message, b.Message),
	)
}

// Count returns how many findings have the given severity.
func (r *Result) Count(sev rules.Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == string(sev) {
			n++
		}
	}
	return n
}

// Formatter writes a Result in one output format.
type Formatter interface {
	Format(w io.Writer, r *Result) error
}

// Options are what formatters may need beyond the result.
type Options struct {
	// Color enables ANSI colour (text format only; set when writing to a terminal).
	Color bool
	// Version is ward's version, for formats that name the tool.
	Version string
	// Rules describes every rule, for formats that list them (SARIF).
	Rules []*rules.Rule
}

// Formats lists the output format names.
func Formats() []string { return []string{"text", "json", "sarif", "junit", "github"} }

// New returns the formatter for a format name; an unknown name is an error listing the
// valid ones.
func New(name string, opts Options) (Formatter, error) {
	switch name {
	case "text":
		return textFormatter{opts: opts}, nil
	case "json":
		return jsonFormatter{}, nil
	case "sarif":
		return sarifFormatter{opts: opts}, nil
	case "junit":
		return junitFormatter{opts: opts}, nil
	case "github":
		return githubFormatter{opts: opts}, nil
	}
	return nil, fmt.Errorf("%w %q: valid formats are %s", ErrUnknownFormat, name, strings.Join(Formats(), ", "))
}
