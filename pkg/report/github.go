package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/wardsec/ward/pkg/rules"
)

// githubFormatter writes GitHub Actions workflow commands: one ::error (or ::warning)
// line per finding and per input error, which GitHub shows as annotations on the
// file and line in the run and the pull request, then the summary as a plain line.
// Exempted findings are left out: they are decided and would only be noise in a
// review. File paths are written as given, so run ward from the repository root.
type githubFormatter struct{ opts Options }

func (g githubFormatter) Format(w io.Writer, r *Result) error {
	remediation := map[string]string{}
	for _, rule := range g.opts.Rules {
		remediation[rule.ID] = rule.Remediation
	}
	var b strings.Builder
	for _, f := range r.Findings {
		cmd := "error"
		if f.Severity == string(rules.SeverityWarning) {
			cmd = "warning"
		}
		msg := f.Message + "\n" + describeObject(f)
		if rem := remediation[f.Rule]; rem != "" {
			msg += "\nRemediation: " + rem
		}
		writeCommand(&b, cmd, location(f.File, f.Line, f.Column, "ward "+f.Rule), msg)
	}
	for _, e := range r.Errors {
		writeCommand(&b, "error", location(e.File, e.Line, 0, "ward input error"), e.Message)
	}
	b.WriteString("ward: " + summaryLine(r) + "\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write github: %w", err)
	}
	return nil
}

// describeObject says which object and field a finding is about:
// "Deployment shop/web, spec.template.spec.containers[0]".
func describeObject(f Finding) string {
	name := f.Object.Name
	if f.Object.Namespace != "" {
		name = f.Object.Namespace + "/" + name
	}
	s := f.Object.Kind + " " + name
	if f.Path != "" {
		s += ", " + f.Path
	}
	return s
}

type property struct{ key, value string }

func location(file string, line, col int, title string) []property {
	var props []property
	if file != "" && file != "-" {
		props = append(props, property{"file", file})
		if line > 0 {
			props = append(props, property{"line", strconv.Itoa(line)})
			if col > 0 {
				props = append(props, property{"col", strconv.Itoa(col)})
			}
		}
	}
	return append(props, property{"title", title})
}

// writeCommand writes ::cmd key=value,...::message with the escaping of the Actions
// runner (toolkit's command.ts): in the message % CR LF are escaped; in property
// values also : and , so that neither can end a value early.
func writeCommand(b *strings.Builder, cmd string, props []property, msg string) {
	b.WriteString("::")
	b.WriteString(cmd)
	for i, p := range props {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(escapeProperty(p.value))
	}
	b.WriteString("::")
	b.WriteString(escapeData(msg))
	b.WriteByte('\n')
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func escapeData(s string) string { return dataEscaper.Replace(s) }

func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
