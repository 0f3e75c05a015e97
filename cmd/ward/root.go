package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "ward",
		Short: "Kubernetes policy linter and validating admission webhook",
		Long: `ward checks Kubernetes manifests against one library of Rego rules, offline
(ward lint, in pre-commit hooks and CI) and in the cluster (ward serve, a validating
admission webhook): same rule, same input, same verdict.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newLintCommand(),
		newRulesCommand(),
		newExplainCommand(),
		newServeCommand(),
		newVersionCommand(),
	)
	return root
}
