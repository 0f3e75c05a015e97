package engine

import "errors"

// ErrNoRuleMetadata is returned for a package under data.ward.rules that declares no
// METADATA custom.id: every rule must say who it is.
var ErrNoRuleMetadata = errors.New("rule package has no METADATA with custom.id")

// ErrCompile wraps a policy compile error; its text names file and line.
var ErrCompile = errors.New("compile policies")
