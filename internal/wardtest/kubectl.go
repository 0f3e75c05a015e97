package wardtest

import (
	"bytes"
	"encoding/json"

	sigsyaml "sigs.k8s.io/yaml"
)

// KubectlDecode decodes one YAML document the way kubectl does: sigs.k8s.io/yaml to
// JSON, then encoding/json with numbers kept as written (json.Number). The differential
// tests hold ward's decoder, and the OPA values it builds, to it.
func KubectlDecode(doc []byte) (any, error) {
	j, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
