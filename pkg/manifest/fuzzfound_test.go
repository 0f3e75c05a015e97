package manifest

import "testing"

// TestFuzzFoundDivergences holds documents on which FuzzDecodeDifferential found ward's
// decoder and sigs.k8s.io/yaml to disagree, now fixed. Each also has its corpus entry
// under testdata/fuzz/FuzzDecodeDifferential.
func TestFuzzFoundDivergences(t *testing.T) {
	for name, doc := range map[string]string{
		// yaml.v3 drops the non-specific tag "!"; yaml.v2 reads "! x" as the string "x".
		"non-specific tag, empty":    "!",
		"non-specific tag, number":   "a: ! 1\nb: ! true\nc: ! ~\nd: ! 1.0\n",
		"non-specific tag, key":      "! 1.0: a\n! true: b\n",
		"non-specific tag, anchored": "a: &x ! 12\nb: *x\nc: ! &y 13\n",
		"non-specific tag, in flow":  "[! 1, !, ! null]\n",
		"exclamation in strings":     "a: hello!\nb: '! 1'\nc: \"!\"\nd: x ! 1\n",
	} {
		t.Run(name, func(t *testing.T) { differential(t, []byte(doc)) })
	}
}
