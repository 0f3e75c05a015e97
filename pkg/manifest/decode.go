package manifest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Limits that keep a hostile document from costing unbounded time or memory.
const (
	// maxDepth bounds nesting; no Kubernetes object comes near it.
	maxDepth = 1000
	// maxValues bounds the values one document may expand to through aliases
	// ("billion laughs"); a real manifest expands to a few thousand.
	maxValues = 1_000_000
)

// decodeError is an error at a node, with the node's line in the chunk.
type decodeError struct {
	line int
	msg  string
	// first is the chunk line of an earlier node the error refers to (a duplicate
	// key's first occurrence); 0 when there is none.
	first int
}

func (e *decodeError) Error() string { return e.message(e.first) }

// message is the error's text, naming first, the line of the node it refers to (in the
// file, when the caller has mapped it there).
func (e *decodeError) message(first int) string {
	if e.first > 0 {
		return fmt.Sprintf("%s (first at line %d)", e.msg, first)
	}
	return e.msg
}

func errAt(n *yaml.Node, format string, args ...any) error {
	return &decodeError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

// decoder turns yaml.v3 nodes into the values sigs.k8s.io/yaml would produce:
// map[string]any, []any, string, bool, nil and json.Number.
type decoder struct {
	values  int
	aliases map[*yaml.Node]bool // anchors being expanded, to refuse self-reference
	budget  *aliasBudget        // what aliases may still add to the file; nil: no bound
	outer   *yaml.Node          // the outermost alias being expanded, where errors point
	src     sourceText          // the text decoded, for what yaml.v3's nodes do not keep
}

func (d *decoder) decode(n *yaml.Node, depth int) (any, error) {
	d.values++
	if d.values > maxValues {
		return nil, errAt(n, "document expands to more than %d values (alias bomb?)", maxValues)
	}
	if d.budget != nil && len(d.aliases) > 0 {
		if d.budget.left--; d.budget.left < 0 {
			return nil, errAt(d.outer, "aliases expand the file by more than %d values (alias bomb?)", d.budget.limit)
		}
	}
	if depth > maxDepth {
		return nil, errAt(n, "document nests deeper than %d levels", maxDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return d.decode(n.Content[0], depth)
	case yaml.AliasNode:
		if d.aliases[n.Alias] {
			return nil, errAt(n, "anchor %q value contains itself", n.Value)
		}
		if d.aliases == nil {
			d.aliases = map[*yaml.Node]bool{}
		}
		if len(d.aliases) == 0 {
			d.outer = n
		}
		d.aliases[n.Alias] = true
		v, err := d.decode(n.Alias, depth+1)
		delete(d.aliases, n.Alias)
		return v, err
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		if err := d.mapping(n, m, depth, true); err != nil {
			return nil, err
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := d.decode(c, depth+1)
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	case yaml.ScalarNode:
		if d.src.nonSpecificTag(n) {
			// "! 1" is the string "1" to yaml.v2, as the YAML spec says; yaml.v3
			// drops the "!" and resolves the scalar as if it were untagged.
			return n.Value, nil
		}
		return scalar(n)
	}
	return nil, errAt(n, "unknown YAML node kind %d", n.Kind)
}

// mapping fills m from a mapping node in order, as yaml.v2 does: a merge key ("<<")
// writes its maps into m where it stands, so explicit keys after it win and keys before it
// lose. Two explicit keys that are equal are an error: kubectl rejects them, and reading
// either one silently would let a field hide from the rules.
func (d *decoder) mapping(n *yaml.Node, m map[string]any, depth int, checkDup bool) error {
	var seen map[string]*yaml.Node
	if checkDup {
		seen = make(map[string]*yaml.Node, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if isMerge(kn) {
			if err := d.merge(vn, m, depth); err != nil {
				return err
			}
			continue
		}
		key, err := d.key(kn, depth)
		if err != nil {
			return err
		}
		if checkDup {
			if first, ok := seen[key]; ok {
				return &decodeError{line: kn.Line, msg: fmt.Sprintf("duplicate key %q", key), first: first.Line}
			}
			seen[key] = kn
		}
		v, err := d.decode(vn, depth+1)
		if err != nil {
			return err
		}
		m[key] = v
	}
	return nil
}

func isMerge(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode || n.Value != "<<" {
		return false
	}
	return n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 &&
		(n.Style&yaml.TaggedStyle == 0 || n.Tag == "!!merge")
}

func (d *decoder) merge(n *yaml.Node, m map[string]any, depth int) error {
	target := n
	if n.Kind == yaml.AliasNode {
		target = n.Alias
	}
	switch target.Kind {
	case yaml.MappingNode:
		return d.mergeMap(n, m, depth)
	case yaml.SequenceNode:
		if n.Kind == yaml.AliasNode {
			break
		}
		// Earlier maps take precedence, so they are written last.
		for _, c := range slices.Backward(n.Content) {
			t := c
			if c.Kind == yaml.AliasNode {
				t = c.Alias
			}
			if t.Kind != yaml.MappingNode {
				return errAt(c, "map merge requires map or sequence of maps as the value")
			}
			if err := d.mergeMap(c, m, depth); err != nil {
				return err
			}
		}
		return nil
	}
	return errAt(n, "map merge requires map or sequence of maps as the value")
}

func (d *decoder) mergeMap(n *yaml.Node, m map[string]any, depth int) error {
	if n.Kind == yaml.AliasNode {
		if d.aliases[n.Alias] {
			return errAt(n, "anchor %q value contains itself", n.Value)
		}
		if d.aliases == nil {
			d.aliases = map[*yaml.Node]bool{}
		}
		if len(d.aliases) == 0 {
			d.outer = n
		}
		d.aliases[n.Alias] = true
		defer delete(d.aliases, n.Alias)
		n = n.Alias
	}
	d.values++
	return d.mapping(n, m, depth+1, false)
}

// key converts a mapping key to the string sigs.k8s.io/yaml makes of it.
func (d *decoder) key(n *yaml.Node, depth int) (string, error) {
	v, err := d.decode(n, depth+1)
	if err != nil {
		return "", err
	}
	switch k := v.(type) {
	case string:
		return k, nil
	case bool:
		return strconv.FormatBool(k), nil
	case json.Number:
		return keyNumber(n, k)
	}
	return "", errAt(n, "unsupported map key %s (keys must be strings, numbers or booleans)", describe(v))
}

func keyNumber(n *yaml.Node, num json.Number) (string, error) {
	raw := resolvedNumber(n)
	switch x := raw.(type) {
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 32)
		switch s {
		case "+Inf":
			s = ".inf"
		case "-Inf":
			s = "-.inf"
		case "NaN":
			s = ".nan"
		}
		return s, nil
	}
	return string(num), nil
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "of type map"
	case []any:
		return "of type sequence"
	}
	return fmt.Sprintf("%v", v)
}

const (
	tagStr       = "!!str"
	tagBool      = "!!bool"
	tagInt       = "!!int"
	tagFloat     = "!!float"
	tagNull      = "!!null"
	tagTimestamp = "!!timestamp"
	tagBinary    = "!!binary"
)

var yamlStyleFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// scalar resolves a scalar node as go.yaml.in/yaml/v2 does into interface{}, then
// converts the result to its JSON form as sigs.k8s.io/yaml does.
func scalar(n *yaml.Node) (any, error) {
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	tagged := n.Style&yaml.TaggedStyle != 0
	if !tagged {
		if quoted {
			return n.Value, nil
		}
		return resolvePlain(n)
	}
	tag := n.Tag
	switch tag {
	case tagStr, tagTimestamp:
		if tag == tagTimestamp {
			if !parseTimestamp(n.Value) {
				return nil, errAt(n, "cannot decode %q as a !!timestamp", n.Value)
			}
		}
		return n.Value, nil
	case tagBinary:
		b, err := base64.StdEncoding.DecodeString(n.Value)
		if err != nil {
			return nil, errAt(n, "!!binary value contains invalid base64 data")
		}
		return string(b), nil
	case tagBool, tagInt, tagFloat, tagNull:
		v, err := resolvePlain(n)
		if err != nil {
			return nil, err
		}
		got := kindTag(n, v)
		if got == tag || (tag == tagFloat && got == tagInt) {
			return v, nil
		}
		return nil, errAt(n, "cannot decode %s `%s` as a %s", got, n.Value, tag)
	}
	// Unknown and local tags are not resolved by yaml.v2: the text is the value.
	return n.Value, nil
}

func kindTag(n *yaml.Node, v any) string {
	switch v.(type) {
	case nil:
		return tagNull
	case bool:
		return tagBool
	case json.Number:
		if _, ok := resolvedNumber(n).(float64); ok {
			return tagFloat
		}
		return tagInt
	case string:
		if parseTimestamp(n.Value) {
			return tagTimestamp
		}
	}
	return tagStr
}

var plainWords = map[string]any{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true,
	"true": true, "True": true, "TRUE": true,
	"on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false,
	"false": false, "False": false, "FALSE": false,
	"off": false, "Off": false, "OFF": false,
	"": nil, "~": nil, "null": nil, "Null": nil, "NULL": nil,
}

var nonFinite = map[string]bool{
	".nan": true, ".NaN": true, ".NAN": true,
	".inf": true, ".Inf": true, ".INF": true,
	"+.inf": true, "+.Inf": true, "+.INF": true,
	"-.inf": true, "-.Inf": true, "-.INF": true,
}

// errNonFinite mirrors encoding/json refusing NaN and infinities, which sigs.k8s.io/yaml
// hits when it converts such a document to JSON.
var errNonFinite = errors.New("unsupported value: NaN or infinity cannot be represented in JSON")

func resolvePlain(n *yaml.Node) (any, error) {
	in := n.Value
	if in == "" {
		return nil, nil
	}
	switch c := in[0]; {
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		if nonFinite[in] {
			return nil, errAt(n, "%v", errNonFinite)
		}
		switch x := resolvedNumber(n).(type) {
		case int64:
			return json.Number(strconv.FormatInt(x, 10)), nil
		case uint64:
			return json.Number(strconv.FormatUint(x, 10)), nil
		case float64:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, errAt(n, "%v", errNonFinite)
			}
			return json.Number(b), nil
		}
		return in, nil
	case strings.IndexByte("yYnNtTfFoO~", c) >= 0:
		if v, ok := plainWords[in]; ok {
			return v, nil
		}
	}
	return in, nil
}

// resolvedNumber returns the int64, uint64 or float64 yaml.v2 makes of a plain scalar, or
// nil when it is not a number (a string or a timestamp).
func resolvedNumber(n *yaml.Node) any {
	in := n.Value
	if in == "" {
		return nil
	}
	if in[0] == '.' {
		if f, err := strconv.ParseFloat(in, 64); err == nil {
			return f
		}
		return nil
	}
	if parseTimestamp(in) {
		return nil
	}
	plain := strings.ReplaceAll(in, "_", "")
	if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return u
	}
	if yamlStyleFloat.MatchString(plain) {
		if f, err := strconv.ParseFloat(plain, 64); err == nil {
			return f
		}
	}
	switch {
	case strings.HasPrefix(plain, "0b"):
		if i, err := strconv.ParseInt(plain[2:], 2, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(plain[2:], 2, 64); err == nil {
			return u
		}
	case strings.HasPrefix(plain, "-0b"):
		if i, err := strconv.ParseInt("-"+plain[3:], 2, 64); err == nil {
			return i
		}
	}
	return nil
}

// parseTimestamp accepts the timestamp forms yaml.v2 recognises; such plain scalars stay
// strings when decoded into interface{}, as sigs.k8s.io/yaml does.
func parseTimestamp(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			break
		}
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, layout := range timestampLayouts {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

var timestampLayouts = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}
