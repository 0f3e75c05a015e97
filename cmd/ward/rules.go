package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"github.com/wardsec/ward/pkg/rules"
)

func newRulesCommand() *cobra.Command {
	o := &policyOptions{}
	var docsDir string
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List every rule: id, severity, title",
		Long: `List every rule: id, severity, title. With --docs DIR, write one Markdown page per
rule into DIR instead (docs/rules/ in this repository is generated that way).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, _, err := o.load(cmd.Context(), logr.Discard())
			if err != nil {
				return err
			}
			if docsDir != "" {
				return writeDocs(docsDir, eng.Rules().List())
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEVERITY\tTITLE")
			for _, r := range eng.Rules().List() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Title)
			}
			return tw.Flush()
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVar(&docsDir, "docs", "", "write one Markdown page per rule into this directory")
	return cmd
}

func writeDocs(dir string, list []*rules.Rule) error {
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // G301: documentation the user's repository publishes
		return fmt.Errorf("docs: %w", err)
	}
	for _, r := range list {
		f, err := os.Create(filepath.Join(dir, r.ID+".md")) //nolint:gosec // G304: the directory the user named with --docs
		if err != nil {
			return fmt.Errorf("docs: %w", err)
		}
		if err := explainMarkdown(f, r); err != nil {
			return fmt.Errorf("docs %s: %w", r.ID, errors.Join(err, f.Close()))
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("docs %s: %w", r.ID, err)
		}
	}
	return nil
}
