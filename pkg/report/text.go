package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/wardsec/ward/pkg/rules"
)

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
)

// textFormatter writes one line per finding, file:line:col: severity rule: message, the
// way compilers do so editors can jump to it, then a summary line.
type textFormatter struct{ opts Options }

func (t textFormatter) paint(code, s string) string {
	if !t.opts.Color {
		return s
	}
	return code + s + ansiReset
}

func (t textFormatter) Format(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	for _, f := range r.Findings {
		sev := f.Severity
		switch rules.Severity(sev) {
		case rules.SeverityError:
			sev = t.paint(ansiRed, sev)
		case rules.SeverityWarning:
			sev = t.paint(ansiYellow, sev)
		}
		fmt.Fprintf(bw, "%s: %s %s: %s\n", t.paint(ansiBold, fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)), sev, f.Rule, f.Message)
	}
	for _, f := range r.Exempted {
		fmt.Fprintln(bw, t.paint(ansiDim, fmt.Sprintf("%s:%d:%d: exempted %s: %s (reason: %s)", f.File, f.Line, f.Column, f.Rule, f.Message, f.Reason)))
	}
	fmt.Fprintln(bw, summaryLine(r))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write text: %w", err)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func summaryLine(r *Result) string {
	s := r.Summary
	parts := []string{plural(s.Findings, "finding", "findings")}
	if s.Findings > 0 {
		parts[0] += fmt.Sprintf(" (%s, %s)", plural(r.Count(rules.SeverityError), "error", "errors"), plural(r.Count(rules.SeverityWarning), "warning", "warnings"))
	}
	parts = append(parts, fmt.Sprintf("%d exempted", s.Exempted))
	if s.Errors > 0 {
		parts = append(parts, plural(s.Errors, "input error", "input errors"))
	}
	return fmt.Sprintf("%s in %s, %s", strings.Join(parts, ", "), plural(s.Files, "file", "files"), plural(s.Objects, "object", "objects"))
}
