// Package policies holds ward's rule library: Rego rules and their shared helpers,
// embedded into the binary so that ward lint and ward serve evaluate the very same bytes.
// The engine evaluates each rule's violation set on its own (pkg/engine), so there is no
// entrypoint in Rego.
package policies

import "embed"

// FS holds every file of the rule library: lib/, and one folder per rule with
// its Rego, its Rego tests, its fixtures (testdata/) and the examples ward explain prints.
//
//go:embed *
var FS embed.FS
