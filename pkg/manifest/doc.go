// Package manifest reads Kubernetes manifests (YAML and JSON files, directories, stdin)
// and Azure ARM templates into objects that keep their file and position.
//
// Values are decoded the way kubectl decodes them: YAML 1.1 scalars as go.yaml.in/yaml/v2
// resolves them (plain yes/on are true), converted to JSON types as sigs.k8s.io/yaml does,
// so the rules judge what the API server would receive. Decoding goes once from
// go.yaml.in/yaml/v3 nodes straight to JSON-typed Go values; positions are looked up
// again from the source only for the objects that have findings.
//
// Helm's output (helm template, on standard input or in a file) is placed in the chart:
// a document led by the comment "# Source: chart/templates/x.yaml" is reported in that
// file, at the line where helm template --output-dir writes it ("---" on line 1,
// "# Source:" on line 2, the object from line 3; further documents of the same
// template follow in order).
package manifest
