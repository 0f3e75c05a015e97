package engine

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/wardsec/ward/policies"
)

// TestRegoUnitTests runs every *_test.rego of the embedded rule library through OPA's
// tester, as `opa test policies/` would, so `go test` covers the Rego tests without an
// opa binary.
func TestRegoUnitTests(t *testing.T) {
	modules, err := loadFS(policies.FS, "policies", true)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := tester.NewRunner().
		SetModules(modules).
		SetStore(inmem.New()).
		RaiseBuiltinErrors(true).
		SetDefaultRegoVersion(regoParseOptions.RegoVersion).
		RunTests(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := range ch {
		n++
		name := r.Package + "." + r.Name
		t.Run(name, func(t *testing.T) {
			switch {
			case r.Error != nil:
				t.Errorf("%s: error: %v", r.Location, r.Error)
			case r.Fail:
				t.Errorf("%s: failed", r.Location)
			case r.Skip:
				t.Errorf("%s: skipped (todo_ tests are not allowed)", r.Location)
			}
		})
	}
	if n == 0 {
		t.Fatal("no Rego tests found in policies/")
	}
}
