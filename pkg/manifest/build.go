package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"

	yaml "go.yaml.in/yaml/v3"
)

// Builder makes the values of decoded documents. The decoder (decode.go) holds every
// rule of kubectl's YAML 1.1 reading: it resolves each scalar, expands aliases and merge
// keys, refuses duplicate keys, and hands the builder what sigs.k8s.io/yaml would make of
// each node; the builder only chooses how that is represented. MapBuilder makes the
// JSON-typed Go values sigs.k8s.io/yaml makes; the engine has a builder of OPA values, so
// that ward lint decodes each document once, into the values its rules read, with no
// map[string]any in between.
//
// The reading methods are what the manifest reader needs of the values it built: an
// object's identity, Lists and ARM templates are read from the same decode, whichever
// builder made it. A Builder must be safe for concurrent use: files are decoded on every
// core.
type Builder interface {
	Null() any
	Bool(b bool) any
	String(s string) any
	// Number gets the number's JSON text, as sigs.k8s.io/yaml writes it (and
	// encoding/json's UseNumber reads it back as a json.Number).
	Number(text string) (any, error)
	// Sequence gets the items in order. The slice is the decoder's: copy what is kept.
	Sequence(items []any) (any, error)
	// Mapping gets the keys (distinct: where a merge key and an explicit key wrote the
	// same key, the later one's value is there already) and their values, in document
	// order. The slices are the decoder's: copy what is kept.
	Mapping(keys []string, values []any) (any, error)

	// Type says what v, a value this builder made, is.
	Type(v any) Type
	// Get returns the value at key of the mapping v; false when v is not a mapping or
	// has no such key.
	Get(v any, key string) (any, bool)
	// Text returns the string v; false when v is not a string.
	Text(v any) (string, bool)
	// Len returns the length of the sequence v (0 when v is not one); Index its i-th item.
	Len(v any) int
	Index(v any, i int) any
	// Keys returns the keys of the mapping v, in any order (nil when v is not one).
	Keys(v any) []string
	// With returns a copy of the mapping v with key set to val; v is left as it was.
	With(v any, key string, val any) (any, error)
	// Without returns a copy of the mapping v without key; v is left as it was.
	Without(v any, key string) (any, error)
}

// Type is the JSON type of a decoded value.
type Type uint8

// The types of decoded values.
const (
	TypeNull Type = iota
	TypeBool
	TypeNumber
	TypeString
	TypeSequence
	TypeMapping
)

// MapBuilder builds the values sigs.k8s.io/yaml yields: map[string]any, []any, string,
// bool, nil and json.Number. It is the default builder; Object.Value holds what it made.
type MapBuilder struct{}

var _ Builder = MapBuilder{}

// Null returns nil.
func (MapBuilder) Null() any { return nil }

// Bool returns b.
func (MapBuilder) Bool(b bool) any { return b }

// String returns s.
func (MapBuilder) String(s string) any { return s }

// Number returns text as a json.Number.
func (MapBuilder) Number(text string) (any, error) { return json.Number(text), nil }

// Sequence returns a copy of items.
func (MapBuilder) Sequence(items []any) (any, error) {
	return append(make([]any, 0, len(items)), items...), nil
}

// Mapping returns the map of keys to values.
func (MapBuilder) Mapping(keys []string, values []any) (any, error) {
	if len(keys) != len(values) {
		return nil, errors.New("mapping: keys and values differ in number")
	}
	m := make(map[string]any, len(keys))
	for i, k := range keys {
		m[k] = values[i]
	}
	return m, nil
}

// Type says what v is.
func (MapBuilder) Type(v any) Type {
	switch v.(type) {
	case nil:
		return TypeNull
	case bool:
		return TypeBool
	case string:
		return TypeString
	case []any:
		return TypeSequence
	case map[string]any:
		return TypeMapping
	}
	return TypeNumber
}

// Get returns v[key].
func (MapBuilder) Get(v any, key string) (any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	x, ok := m[key]
	return x, ok
}

// Text returns the string v.
func (MapBuilder) Text(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

// Len returns len(v) of a sequence.
func (MapBuilder) Len(v any) int {
	s, _ := v.([]any)
	return len(s)
}

// Index returns v[i] of a sequence.
func (MapBuilder) Index(v any, i int) any {
	if s, ok := v.([]any); ok && i >= 0 && i < len(s) {
		return s[i]
	}
	return nil
}

// Keys returns the keys of a map.
func (MapBuilder) Keys(v any) []string {
	m, _ := v.(map[string]any)
	if m == nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// With returns a shallow copy of the map v with key set.
func (MapBuilder) With(v any, key string, val any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("set %q: not a mapping", key)
	}
	c := make(map[string]any, len(m)+1)
	maps.Copy(c, m)
	c[key] = val
	return c, nil
}

// Without returns a shallow copy of the map v without key.
func (MapBuilder) Without(v any, key string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("remove %q: not a mapping", key)
	}
	c := maps.Clone(m)
	delete(c, key)
	return c, nil
}

// text returns the string at the path of mapping keys below v, "" when it is absent or
// not a string.
func text(b Builder, v any, path ...string) string {
	for _, k := range path {
		var ok bool
		if v, ok = b.Get(v, k); !ok {
			return ""
		}
	}
	s, _ := b.Text(v)
	return s
}

// Documents splits data, the text of a file, into its YAML documents as ward reads them
// (kubectl's document splitter), leaving out those that hold only blanks and comments.
// With DecodeDocument it lets other packages hold their builders to the reader's
// decoding, document by document.
func Documents(data []byte) [][]byte {
	var docs [][]byte
	for _, c := range splitDocuments(data) {
		if !blank(c.data) {
			docs = append(docs, c.data)
		}
	}
	return docs
}

// DecodeDocument decodes the first YAML document of doc with b as ward reads it, without
// the alias bound of a file: what b makes of it, or the document's error (not UTF-8
// text, a syntax error, a duplicate key, a limit). An empty document is b.Null().
func DecodeDocument(doc []byte, b Builder) (any, error) {
	data, err := checkText(doc)
	if err != nil {
		return nil, err
	}
	if i := invalidUTF8(data); i >= 0 {
		return nil, fmt.Errorf("%w: invalid UTF-8 byte 0x%02x at offset %d", ErrNotText, data[i], i)
	}
	var n yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return b.Null(), nil
		}
		return nil, fmt.Errorf("YAML syntax error: %w", err)
	}
	d := decoder{b: b, src: sourceText{data: data}}
	v, err := d.decode(&n, 0)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return v, nil
}
