package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wardsec/ward/pkg/rules"
)

func newExplainCommand() *cobra.Command {
	o := &policyOptions{}
	cmd := &cobra.Command{
		Use:   "explain ID",
		Short: "Explain a rule: what it demands, why, examples, remediation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, _, err := o.load(cmd.Context())
			if err != nil {
				return err
			}
			r, ok := eng.Rules().Get(args[0])
			if !ok {
				return usageError(fmt.Errorf("%w %q; known rules: %s", rules.ErrUnknownRule, args[0], strings.Join(eng.Rules().IDs(), ", ")))
			}
			return explain(cmd.OutOrStdout(), r)
		},
	}
	o.bind(cmd)
	return cmd
}

func explain(w io.Writer, r *rules.Rule) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n", r.ID, r.Title)
	fmt.Fprintf(&b, "severity: %s    webhook enforcement: %s\n", r.Severity, r.Enforcement)
	section(&b, "What it demands", r.Description)
	section(&b, "Why", r.Why)
	if len(r.Parameters) > 0 {
		var lines []string
		for _, k := range slices.Sorted(maps.Keys(r.Parameters)) {
			lines = append(lines, fmt.Sprintf("%s: %v", k, r.Parameters[k]))
		}
		section(&b, "Parameters (defaults; set them under rules."+r.ID+".parameters in .ward.yaml)", strings.Join(lines, "\n"))
	}
	section(&b, "Bad", r.BadExample)
	section(&b, "Good", r.GoodExample)
	section(&b, "Remediation", r.Remediation)
	exemption := fmt.Sprintf("Annotate the object with %s: \"<reason>\".", r.IgnoreAnnotation())
	if r.Exemption != "" {
		exemption += "\n" + r.Exemption
	}
	section(&b, "Exemption", exemption)
	_, err := io.WriteString(w, b.String())
	return err
}

func section(b *strings.Builder, title, body string) {
	body = strings.TrimRight(body, "\n")
	if body == "" {
		return
	}
	fmt.Fprintf(b, "\n%s:\n", title)
	for line := range strings.SplitSeq(body, "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		fmt.Fprintf(b, "  %s\n", line)
	}
}
