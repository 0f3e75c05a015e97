package manifest

import "testing"

// TestARMClusterKindIsCanonical reads AKS clusters from ARM templates whose resource
// types are spelled in other cases, nested in a deployment too: each object's kind is
// ManagedClusters (what the rules match), its type field as the template wrote it.
func TestARMClusterKindIsCanonical(t *testing.T) {
	doc := `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "resources": [
    {"type": "microsoft.containerservice/MANAGEDCLUSTERS", "apiVersion": "2024-02-01", "name": "lower"},
    {"type": "Microsoft.Network/publicIPAddresses", "apiVersion": "2023-04-01", "name": "ip"},
    {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "nested",
     "properties": {"template": {
       "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
       "resources": [{"type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2024-02-01", "name": "inner"}]}}}
  ]
}`
	set := Parse("aks.json", []byte(doc))
	if len(set.Errors) > 0 {
		t.Fatal(set.Errors)
	}
	want := map[string]string{"lower": "microsoft.containerservice/MANAGEDCLUSTERS", "inner": "Microsoft.ContainerService/managedClusters"}
	if len(set.Objects) != len(want) {
		t.Fatalf("got %d objects, want %d", len(set.Objects), len(want))
	}
	for _, o := range set.Objects {
		if !o.ARM || o.Kind() != ManagedClusters {
			t.Errorf("%s: ARM %v, kind %q; want an ARM object of kind %q", o.Name(), o.ARM, o.Kind(), ManagedClusters)
		}
		if typ := o.Value["type"]; typ != want[o.Name()] {
			t.Errorf("%s: type %v, want %q as written", o.Name(), typ, want[o.Name()])
		}
	}
}
