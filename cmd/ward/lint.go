package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/lint"
	"github.com/wardsec/ward/pkg/manifest"
	"github.com/wardsec/ward/pkg/report"
	"github.com/wardsec/ward/pkg/rules"
)

// lintOptions are ward lint's flags.
type lintOptions struct {
	policyOptions
	Outputs        []string
	Namespace      string
	Enable         []string
	Disable        []string
	FailOn         string
	InventoryPaths []string
	MaxFileSize    int64
	NoKustomize    bool
}

func newLintCommand() *cobra.Command {
	o := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint [PATH|-]...",
		Short: "Check manifests against the rules",
		Long: `Check Kubernetes manifests (YAML and JSON files, directories read recursively,
"-" for standard input) and Azure ARM templates against ward's rules.

Exit codes: 0 nothing at or above --fail-on; 1 findings; 2 an input or usage error
(unreadable file, YAML syntax error, bad flag, bad config or policy). Every other file is
still read and linted when one fails, and every finding is still reported.`,
		Example: `  ward lint examples/
  ward lint -o json deploy/ > findings.json
  ward lint -o text -o sarif=ward.sarif .
  ward lint overlays/prod/                 # a kustomization: rendered, findings at the files that define each object
  helm template ./chart | ward lint -
  ward lint --inventory . changed.yaml     # pre-commit: judge changed files against the repo`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	o.bind(cmd)
	f := cmd.Flags()
	f.StringArrayVarP(&o.Outputs, "output", "o", []string{"text"}, "output format: "+strings.Join(report.Formats(), ", ")+"; FORMAT=FILE writes to a file (repeatable)")
	f.StringVarP(&o.Namespace, "namespace", "n", lint.DefaultNamespace, "namespace of objects that name none")
	f.StringArrayVar(&o.Enable, "enable", nil, "enable a rule by ID (repeatable)")
	f.StringArrayVar(&o.Disable, "disable", nil, "disable a rule by ID (repeatable)")
	f.StringVar(&o.FailOn, "fail-on", "error", "lowest severity that fails the run: error, warning, never")
	f.StringArrayVar(&o.InventoryPaths, "inventory", nil, "files or directories read only as context for cross-object rules, never reported (repeatable)")
	f.Int64Var(&o.MaxFileSize, "max-file-size", manifest.DefaultMaxFileSize, "largest file read, in bytes")
	f.BoolVar(&o.NoKustomize, "no-kustomize", false, "read directories with a kustomization file as plain manifests instead of rendering them")
	return cmd
}

type output struct {
	format string
	path   string // "" for stdout
}

func parseOutputs(specs []string) ([]output, error) {
	var outs []output
	stdout := 0
	for _, s := range specs {
		format, path, _ := strings.Cut(s, "=")
		if path == "" {
			stdout++
		}
		outs = append(outs, output{format: format, path: path})
	}
	if stdout > 1 {
		return nil, fmt.Errorf("only one --output may go to standard output; write the others to files with FORMAT=FILE")
	}
	return outs, nil
}

func (o *lintOptions) run(cmd *cobra.Command, args []string) error {
	ctx := cmd.Context()
	switch o.FailOn {
	case "error", "warning", "never":
	default:
		return usageError(fmt.Errorf("--fail-on %q: want error, warning or never", o.FailOn))
	}
	outs, err := parseOutputs(o.Outputs)
	if err != nil {
		return usageError(err)
	}
	eng, cfg, err := o.load(ctx, logr.Discard())
	if err != nil {
		return err
	}
	settings, err := cfg.Resolve(eng.Rules(), config.Flags{Enable: o.Enable, Disable: o.Disable})
	if err != nil {
		return usageError(err)
	}
	formatters := make([]report.Formatter, len(outs))
	for i, out := range outs {
		opts := report.Options{Version: Version(), Rules: eng.Rules().List(), Color: out.path == "" && colorable(cmd.OutOrStdout())}
		if formatters[i], err = report.New(out.format, opts); err != nil {
			return usageError(err)
		}
	}
	if len(args) == 0 {
		args = []string{"."}
	}
	res, err := lint.Run(ctx, eng, lint.Options{
		Paths:          args,
		InventoryPaths: o.InventoryPaths,
		Namespace:      o.Namespace,
		Settings:       settings,
		Manifest:       manifest.Options{MaxFileSize: o.MaxFileSize, Stdin: cmd.InOrStdin()},
		Kustomize:      !o.NoKustomize,
	})
	if err != nil {
		return &ExitError{Code: exitInput, Err: err}
	}
	for i, out := range outs {
		if err := write(cmd, out, formatters[i], res); err != nil {
			return &ExitError{Code: exitInput, Err: err}
		}
	}
	if textToStdout(outs) {
		for _, e := range res.Errors {
			fmt.Fprintf(cmd.ErrOrStderr(), "ward: %s\n", describeInputError(e))
		}
	}
	return exitFor(res, o.FailOn)
}

func describeInputError(e report.InputError) string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Message)
}

func textToStdout(outs []output) bool {
	for _, o := range outs {
		if o.format == "text" && o.path == "" {
			return true
		}
	}
	return false
}

func write(cmd *cobra.Command, out output, f report.Formatter, res *report.Result) error {
	if out.path == "" {
		return f.Format(cmd.OutOrStdout(), res)
	}
	file, err := os.Create(out.path)
	if err != nil {
		return fmt.Errorf("output %s: %w", out.format, err)
	}
	if err := f.Format(file, res); err != nil {
		return errors.Join(err, file.Close())
	}
	return file.Close()
}

// exitFor maps a result to ward's exit code: input errors first, then findings at or
// above --fail-on.
func exitFor(res *report.Result, failOn string) error {
	if len(res.Errors) > 0 {
		return &ExitError{Code: exitInput}
	}
	failing := 0
	switch failOn {
	case "error":
		failing = res.Count(rules.SeverityError)
	case "warning":
		failing = res.Count(rules.SeverityError) + res.Count(rules.SeverityWarning)
	}
	if failing > 0 {
		return &ExitError{Code: exitFindings}
	}
	return nil
}

// colorable reports whether w is a terminal that wants colour (NO_COLOR unset).
func colorable(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
