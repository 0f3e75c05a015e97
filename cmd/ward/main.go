// Command ward is a Kubernetes policy linter and validating admission webhook: one
// library of Rego rules, run offline over manifests (ward lint) and in the cluster as an
// admission webhook (ward serve), with the same verdict in both places.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	// For their init functions: the garbage collector set for a short run before the
	// heavy package inits allocate, and the rules compiled beside them.
	_ "github.com/wardsec/ward/cmd/ward/internal/gcstart"
	_ "github.com/wardsec/ward/cmd/ward/internal/preload"
)

// Exit codes of ward, as DESIGN.md pins them.
const (
	exitOK       = 0 // nothing at or above --fail-on
	exitFindings = 1 // findings at or above --fail-on
	exitInput    = 2 // an input or usage error
)

// ExitError carries a process exit code out of a command. Its message, if any, has been
// printed already or is printed by main.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes ward with args and returns the exit code; main is only this and os.Exit,
// so tests drive the real command tree in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if ee, ok := errors.AsType[*ExitError](err); ok {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "ward: %v\n", ee.Err)
		}
		return ee.Code
	}
	// Cobra's own errors (unknown flag, wrong arguments) are usage errors.
	fmt.Fprintf(stderr, "ward: %v\n", err)
	return exitInput
}
