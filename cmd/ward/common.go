package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"github.com/wardsec/ward/cmd/ward/internal/preload"
	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/engine"
)

// policyOptions are the flags every command that loads rules shares.
type policyOptions struct {
	ConfigPath string
	PolicyDirs []string
}

func (o *policyOptions) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.ConfigPath, "config", "c", "", "config file (default: "+config.FileName+", looked up from the working directory upward)")
	cmd.Flags().StringArrayVarP(&o.PolicyDirs, "policy", "p", nil, "directory of extra Rego rules (repeatable)")
}

// load reads the config and compiles the rules: the embedded library, the config's
// policies and --policy directories. Every failure here is a usage or input error.
// load reads the config and compiles the rules; log (serve's) hears how each rule will
// run, at V(1).
func (o *policyOptions) load(ctx context.Context, log logr.Logger) (*engine.Engine, *config.File, error) {
	path := o.ConfigPath
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, nil, &ExitError{Code: exitInput, Err: fmt.Errorf("working directory: %w", err)}
		}
		path = config.Find(wd)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, nil, &ExitError{Code: exitInput, Err: err}
	}
	dirs := append(append([]string{}, cfg.Policies...), o.PolicyDirs...)
	eng, err := engine.New(ctx, engine.Options{PolicyDirs: dirs, Preloaded: preload.Embedded(), Logger: log})
	if err != nil {
		return nil, nil, &ExitError{Code: exitInput, Err: err}
	}
	return eng, cfg, nil
}

// usageError marks err as a usage error (exit 2).
func usageError(err error) error {
	if _, ok := errors.AsType[*ExitError](err); ok {
		return err
	}
	return &ExitError{Code: exitInput, Err: err}
}
