// Package manifest reads Kubernetes manifests (YAML and JSON files, directories, stdin)
// and Azure ARM templates into objects that keep their file and position.
//
// Values are decoded the way kubectl decodes them: YAML 1.1 scalars as go.yaml.in/yaml/v2
// resolves them (plain yes/on are true), converted to JSON types as sigs.k8s.io/yaml does,
// so the rules judge what the API server would receive. Decoding goes once from
// go.yaml.in/yaml/v3 nodes straight to JSON-typed Go values; positions are looked up
// again from the source only for the objects that have findings.
package manifest
