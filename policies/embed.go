// Package policies holds ward's rule library: Rego rules, their shared helpers and the
// single entrypoint, embedded into the binary so that ward lint and ward serve evaluate the
// very same bytes.
package policies

import "embed"

// FS holds every file of the rule library: main.rego, lib/, and one folder per rule with
// its Rego, its Rego tests, its fixtures (testdata/) and the examples ward explain prints.
//
//go:embed *
var FS embed.FS
