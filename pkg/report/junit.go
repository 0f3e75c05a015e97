package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/wardsec/ward/pkg/rules"
)

// JUnit XML as Jenkins' junit plugin, GitLab's unit test reports and most CI test
// viewers read it (the Ant/Surefire dialect): a testsuite per file, a testcase per
// object and rule.
type junitTestsuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Skipped  int              `xml:"skipped,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []junitTestsuite `xml:"testsuite"`
}

type junitTestsuite struct {
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Skipped  int             `xml:"skipped,attr"`
	Time     string          `xml:"time,attr"`
	Cases    []junitTestcase `xml:"testcase"`
}

type junitTestcase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitFormatter writes JUnit XML. Each file is a testsuite; each object and enabled
// rule is a testcase, failed by that rule's findings on the object (several findings,
// say two containers, go in one <failure>: Jenkins reads only the first failure
// element of a testcase), skipped when the object is exempted, passed otherwise. An
// input error is an errored testcase of its file.
type junitFormatter struct{ opts Options }

// caseKey identifies a testcase: a file, an object and a rule.
type caseKey struct {
	file string
	obj  Object
	rule string
}

type junitCase struct {
	key      caseKey
	line     int
	findings []Finding
	exempted []Finding
}

func (j junitFormatter) Format(w io.Writer, r *Result) error {
	remediation := map[string]string{}
	for _, rule := range j.opts.Rules {
		remediation[rule.ID] = rule.Remediation
	}
	byFile := map[string][]*junitCase{}
	first := map[caseKey]*junitCase{}
	add := func(k caseKey, line int) *junitCase {
		c := &junitCase{key: k, line: line}
		byFile[k.file] = append(byFile[k.file], c)
		if first[k] == nil {
			first[k] = c
		}
		return c
	}
	for _, ch := range r.Checks {
		for _, rule := range ch.Rules {
			add(caseKey{file: ch.File, obj: ch.Object, rule: rule}, ch.Line)
		}
	}
	// A finding belongs to the first testcase of its file, object and rule; one that
	// matches none (a result built without checks) gets a testcase of its own.
	caseFor := func(f Finding) *junitCase {
		k := caseKey{file: f.File, obj: f.Object, rule: f.Rule}
		if c := first[k]; c != nil {
			return c
		}
		return add(k, f.Line)
	}
	for _, f := range r.Findings {
		c := caseFor(f)
		c.findings = append(c.findings, f)
	}
	for _, f := range r.Exempted {
		c := caseFor(f)
		c.exempted = append(c.exempted, f)
	}
	errs := map[string][]InputError{}
	for _, e := range r.Errors {
		errs[e.File] = append(errs[e.File], e)
		if byFile[e.File] == nil {
			byFile[e.File] = []*junitCase{}
		}
	}

	doc := junitTestsuites{Name: "ward", Time: "0"}
	for _, file := range slices.Sorted(maps.Keys(byFile)) {
		suite := junitTestsuite{Name: displayFile(file), Time: "0"}
		for _, c := range byFile[file] {
			tc := junitTestcase{Name: caseName(c), Classname: displayFile(file), Time: "0"}
			switch {
			case len(c.findings) > 0:
				tc.Failure = failureOf(c, remediation[c.key.rule])
				suite.Failures++
			case len(c.exempted) > 0:
				tc.Skipped = &junitSkipped{Message: "exempted: " + c.exempted[0].Reason}
				suite.Skipped++
			}
			suite.Cases = append(suite.Cases, tc)
		}
		for _, e := range errs[file] {
			name := "input error"
			if e.Line > 0 {
				name = fmt.Sprintf("input error at line %d", e.Line)
			}
			suite.Cases = append(suite.Cases, junitTestcase{
				Name: name, Classname: displayFile(file), Time: "0",
				Error: &junitProblem{Message: e.Message, Type: "input", Text: xmlText(describeError(e))},
			})
			suite.Errors++
		}
		suite.Tests = len(suite.Cases)
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
		doc.Errors += suite.Errors
		doc.Skipped += suite.Skipped
		doc.Suites = append(doc.Suites, suite)
	}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func failureOf(c *junitCase, remediation string) *junitProblem {
	msgs := make([]string, 0, len(c.findings))
	var text strings.Builder
	severity := c.findings[0].Severity
	for _, f := range c.findings {
		msgs = append(msgs, f.Message)
		fmt.Fprintf(&text, "%s:%d:%d: %s %s: %s\n", displayFile(f.File), f.Line, f.Column, f.Severity, f.Rule, f.Message)
		if f.Path != "" {
			fmt.Fprintf(&text, "  path: %s\n", f.Path)
		}
		if f.Severity == string(rules.SeverityError) {
			severity = f.Severity
		}
	}
	if remediation != "" {
		fmt.Fprintf(&text, "remediation: %s\n", remediation)
	}
	return &junitProblem{Message: strings.Join(msgs, "; "), Type: severity, Text: xmlText(text.String())}
}

// caseName is "rule Kind namespace/name", the way a reader looks an object up.
func caseName(c *junitCase) string {
	o := c.key.obj
	name := o.Name
	if name == "" {
		name = fmt.Sprintf("(unnamed, line %d)", c.line)
	}
	if o.Namespace != "" {
		name = o.Namespace + "/" + name
	}
	return fmt.Sprintf("%s %s %s", c.key.rule, o.Kind, name)
}

func describeError(e InputError) string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", displayFile(e.File), e.Line, e.Message)
	}
	return fmt.Sprintf("%s: %s", displayFile(e.File), e.Message)
}

// displayFile names standard input readably where "-" would puzzle.
func displayFile(file string) string {
	if file == "-" {
		return "<stdin>"
	}
	return file
}

// xmlText replaces the characters XML 1.0 cannot hold (most control characters, which
// a YAML string may carry as escapes) with U+FFFD, as encoding/xml does in attributes;
// CDATA sections are written as they are.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t', r == '\n', r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}
