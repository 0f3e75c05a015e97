package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/wardsec/ward/internal/parallel"
	"github.com/wardsec/ward/pkg/manifest"
	"github.com/wardsec/ward/pkg/rules"
)

// Value is an object converted once for evaluation: the OPA value the rules read, and
// the two facts the engine reads itself (the kind, for dispatch; the ignore.ward.dev
// annotations, for exemptions). Offline, the same Value is the object's inventory entry
// and its review's input, and the caller may let the decoded object go: a manifest set
// is then held once, not twice, which halves the heap the garbage collector walks
// through for the whole run. A Value is immutable and safe to share between goroutines.
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

// newBuiltValue makes the Value of an object Builder built.
func newBuiltValue(v ast.Value) (*Value, error) {
	obj, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("object is %s, not an object", ast.ValueName(v))
	}
	// Evaluations share the value, as data and as input: Builder made it frozen (see
	// sorted), and walking it again here, long after, would cost a pass over cold memory.
	var b Builder
	out := &Value{value: obj, ignore: map[string]string{}}
	out.kind, _ = b.Text(get(obj, "kind"))
	md, _ := b.Get(obj, "metadata")
	if ann, ok := md.(ast.Object); ok {
		if ann, ok := get(ann, "annotations").(ast.Object); ok {
			ann.Foreach(func(k, v *ast.Term) {
				key, kok := k.Value.(ast.String)
				s, vok := v.Value.(ast.String)
				if kok && vok && strings.HasPrefix(string(key), rules.IgnoreAnnotationPrefix) {
					out.ignore[string(key)] = string(s)
				}
			})
		}
	}
	return out, nil
}

// ValueOf converts one object: a map[string]any (JSON-typed, as NewValue takes) or an
// object Builder built from the decoder (manifest.Object's Decoded).
func ValueOf(obj any) (*Value, error) {
	switch x := obj.(type) {
	case map[string]any:
		return NewValue(x)
	case ast.Value:
		return newBuiltValue(x)
	}
	return nil, fmt.Errorf("cannot convert %T", obj)
}

// NewValues converts objs on every core: each is a map[string]any (JSON-typed, as
// NewValue takes) or an object Builder built from the decoder (manifest.Object's
// Decoded). The first error names the object's index.
func NewValues(objs []any) ([]*Value, error) {
	out := make([]*Value, len(objs))
	errs := make([]error, len(objs))
	parallel.For(len(objs), func(i int) { out[i], errs[i] = ValueOf(objs[i]) })
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
	}
	return out, nil
}

// Builder builds OPA values straight from the manifest decoder's nodes (it is a
// manifest.Builder): ward lint decodes each document once, into the values the rules
// read, with no map[string]any and no ast.InterfaceToValue in between. It makes what
// ast.InterfaceToValue makes of the JSON-typed values sigs.k8s.io/yaml yields: the same
// strings (interned where OPA interns them), booleans, null, numbers
// (ast.InterfaceToValue of a json.Number) and objects; a test and a fuzz target hold it
// to that on every document of the test corpora. The decoder keeps every YAML rule;
// this only chooses the representation. What it makes is frozen as it is made (see
// sorted), ready to be shared. It has no state and is safe for concurrent use.
type Builder struct{}

var _ manifest.Builder = Builder{}

// errNotBuilt is a value handed to the builder that it did not make.
var errNotBuilt = errors.New("not a value the engine's builder made")

// Null returns null.
func (Builder) Null() any { return ast.NullValue }

// Bool returns b.
func (Builder) Bool(b bool) any { return ast.InternedValue(b) }

// String returns s.
func (Builder) String(s string) any { return internedString(s) }

// Number returns the number of JSON text text, as ast.InterfaceToValue(json.Number(text)).
func (Builder) Number(text string) (any, error) {
	if t := ast.InternedIntNumberTermFromString(text); t != nil {
		return t.Value, nil
	}
	n, err := ast.NumberChecked(text)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Sequence returns the array of items; the terms are allocated in one block, as
// ast.InterfaceToValue does.
func (Builder) Sequence(items []any) (any, error) {
	terms := make([]ast.Term, len(items))
	ptrs := make([]*ast.Term, len(items))
	for i, it := range items {
		v, ok := it.(ast.Value)
		if !ok {
			return nil, errNotBuilt
		}
		terms[i].Value = v
		ptrs[i] = &terms[i]
	}
	return ast.NewArray(ptrs...), nil
}

// Mapping returns the object of keys to values.
func (Builder) Mapping(keys []string, values []any) (any, error) {
	if len(keys) != len(values) {
		return nil, errors.New("mapping: keys and values differ in number")
	}
	terms := make([]ast.Term, 2*len(keys))
	items := make([][2]*ast.Term, len(keys))
	for i, k := range keys {
		v, ok := values[i].(ast.Value)
		if !ok {
			return nil, errNotBuilt
		}
		terms[2*i].Value = internedString(k)
		terms[2*i+1].Value = v
		items[i] = [2]*ast.Term{&terms[2*i], &terms[2*i+1]}
	}
	return sorted(ast.NewObject(items...)), nil
}

// sorted sorts o's keys now, while o is new and in the cache, and only this goroutine
// sees it: OPA sorts an object's keys in place the first time it iterates them, and a
// value evaluations share must not be written then (see freeze). An object sorted when
// made, of values sorted when made, is frozen as freeze leaves it.
func sorted(o ast.Object) ast.Object {
	o.Foreach(func(_, _ *ast.Term) {})
	return o
}

// Type says what v is.
func (Builder) Type(v any) manifest.Type {
	switch v.(type) {
	case nil, ast.Null:
		return manifest.TypeNull
	case ast.Boolean:
		return manifest.TypeBool
	case ast.Number:
		return manifest.TypeNumber
	case ast.String:
		return manifest.TypeString
	case *ast.Array:
		return manifest.TypeSequence
	case ast.Object:
		return manifest.TypeMapping
	}
	// Not a JSON value (sets and the like are never built): no type the reader reads.
	return manifest.TypeNumber
}

// Get returns v[key] of an object.
func (Builder) Get(v any, key string) (any, bool) {
	o, ok := v.(ast.Object)
	if !ok {
		return nil, false
	}
	if x := get(o, key); x != nil {
		return x, true
	}
	return nil, false
}

func get(o ast.Object, key string) ast.Value {
	if t := o.Get(ast.InternedTerm(key)); t != nil {
		return t.Value
	}
	return nil
}

// Text returns the string v.
func (Builder) Text(v any) (string, bool) {
	s, ok := v.(ast.String)
	return string(s), ok
}

// Len returns the length of an array.
func (Builder) Len(v any) int {
	if a, ok := v.(*ast.Array); ok {
		return a.Len()
	}
	return 0
}

// Index returns v[i] of an array.
func (Builder) Index(v any, i int) any {
	if a, ok := v.(*ast.Array); ok && i >= 0 && i < a.Len() {
		return a.Elem(i).Value
	}
	return nil
}

// Keys returns the (string) keys of an object.
func (Builder) Keys(v any) []string {
	o, ok := v.(ast.Object)
	if !ok {
		return nil
	}
	keys := make([]string, 0, o.Len())
	o.Foreach(func(k, _ *ast.Term) {
		if s, ok := k.Value.(ast.String); ok {
			keys = append(keys, string(s))
		}
	})
	return keys
}

// With returns a copy of the object v with key set to val; the copy shares v's terms.
func (Builder) With(v any, key string, val any) (any, error) {
	o, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("set %q: not an object", key)
	}
	x, ok := val.(ast.Value)
	if !ok {
		return nil, errNotBuilt
	}
	k := ast.InternedTerm(key)
	items := make([][2]*ast.Term, 0, o.Len()+1)
	o.Foreach(func(ok, ov *ast.Term) {
		if !ok.Equal(k) {
			items = append(items, [2]*ast.Term{ok, ov})
		}
	})
	return sorted(ast.NewObject(append(items, [2]*ast.Term{k, ast.NewTerm(x)})...)), nil
}

// Without returns a copy of the object v without key; the copy shares v's terms.
func (Builder) Without(v any, key string) (any, error) {
	o, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("remove %q: not an object", key)
	}
	k := ast.InternedTerm(key)
	items := make([][2]*ast.Term, 0, o.Len())
	o.Foreach(func(ok, ov *ast.Term) {
		if !ok.Equal(k) {
			items = append(items, [2]*ast.Term{ok, ov})
		}
	})
	return sorted(ast.NewObject(items...)), nil
}
