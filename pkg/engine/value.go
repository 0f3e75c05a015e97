package engine

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/wardsec/ward/internal/parallel"
)

// Value is an object converted once for evaluation: the OPA value the rules read, and
// the two facts the engine reads itself (the kind, for dispatch; the ignore.ward.dev
// annotations, for exemptions). Offline, the same Value is the object's inventory entry
// and its review's input, and the caller may let the decoded map go: a manifest set is
// then held once, not twice, which halves the heap the garbage collector walks through
// for the whole run. A Value is immutable and safe to share between goroutines.
type Value struct {
	value  ast.Value
	kind   string
	ignore map[string]string
}

// NewValue converts obj (JSON-typed values: map[string]any, []any, string, bool, nil,
// json.Number and Go numbers).
func NewValue(obj map[string]any) (*Value, error) {
	v, err := ast.InterfaceToValue(obj)
	if err != nil {
		return nil, err
	}
	freeze(v)
	return &Value{value: v, kind: kindOf(obj), ignore: annotationsOf(obj)}, nil
}

// NewValues converts objs on every core; the first error names the object's index.
func NewValues(objs []map[string]any) ([]*Value, error) {
	out := make([]*Value, len(objs))
	errs := make([]error, len(objs))
	parallel.For(len(objs), func(i int) { out[i], errs[i] = NewValue(objs[i]) })
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
	}
	return out, nil
}
