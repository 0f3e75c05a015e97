package rules

import "errors"

// ErrDuplicateID is returned when two rules declare the same ID.
var ErrDuplicateID = errors.New("duplicate rule id")

// ErrBadSeverity is returned for a severity other than error or warning.
var ErrBadSeverity = errors.New("invalid severity")

// ErrBadEnforcement is returned for an enforcement other than deny, warn or dryrun.
var ErrBadEnforcement = errors.New("invalid enforcement")

// ErrUnknownRule is returned when config or a flag names a rule that does not exist.
var ErrUnknownRule = errors.New("unknown rule")
