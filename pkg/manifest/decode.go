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

// decoder turns yaml.v3 nodes into the values sigs.k8s.io/yaml would produce, made by
// its Builder (MapBuilder: map[string]any, []any, string, bool, nil and json.Number).
type decoder struct {
	b       Builder
	values  int
	aliases map[*yaml.Node]bool // anchors being expanded, to refuse self-reference
	budget  *aliasBudget        // what aliases may still add to the file; nil: no bound
	outer   *yaml.Node          // the outermost alias being expanded, where errors point
	src     sourceText          // the text decoded, for what yaml.v3's nodes do not keep
	stacks
}

// stacks hold the mappings and sequences being built, innermost last: a node's entries
// are collected here and handed to the builder once complete, so building a mapping
// allocates only what the builder keeps. They are empty between documents, and reused
// for the next one.
type stacks struct {
	keys  []string
	vals  []any
	knode []*yaml.Node // the explicit key that wrote an entry; nil for one a merge wrote
	items []any
}

// frame is one mapping being built: its entries are the decoder's stacks from base on.
type frame struct {
	base int
	// index finds a key among the entries once there are too many to scan.
	index map[string]int
}

// frameScan is the most entries a frame looks through one by one: for the mappings of
// Kubernetes objects, a few to a dozen keys, comparing strings beats a map.
const frameScan = 16

// find returns the index of key among the entries of frame f, -1 if it has none.
func (s *stacks) find(f *frame, key string) int {
	if f.index != nil {
		if i, ok := f.index[key]; ok {
			return i
		}
		return -1
	}
	for i := f.base; i < len(s.keys); i++ {
		if s.keys[i] == key {
			return i
		}
	}
	return -1
}

// add adds an entry to frame f; kn is the explicit key that wrote it (nil for none).
func (s *stacks) add(f *frame, key string, v any, kn *yaml.Node) {
	s.keys = append(s.keys, key)
	s.vals = append(s.vals, v)
	s.knode = append(s.knode, kn)
	switch n := len(s.keys) - f.base; {
	case f.index != nil:
		f.index[key] = len(s.keys) - 1
	case n > frameScan:
		f.index = make(map[string]int, 2*n)
		for i := f.base; i < len(s.keys); i++ {
			f.index[s.keys[i]] = i
		}
	}
}

// pop drops the entries of the frame at base, letting their values go.
func (s *stacks) pop(base int) {
	clear(s.vals[base:])
	clear(s.knode[base:])
	s.keys, s.vals, s.knode = s.keys[:base], s.vals[:base], s.knode[:base]
}

// popItems drops the sequence items from base on, letting them go.
func (s *stacks) popItems(base int) {
	clear(s.items[base:])
	s.items = s.items[:base]
}

// enter counts node n against the document's limits.
func (d *decoder) enter(n *yaml.Node, depth int) error {
	d.values++
	if d.values > maxValues {
		return errAt(n, "document expands to more than %d values (alias bomb?)", maxValues)
	}
	if d.budget != nil && len(d.aliases) > 0 {
		if d.budget.left--; d.budget.left < 0 {
			return errAt(d.outer, "aliases expand the file by more than %d values (alias bomb?)", d.budget.limit)
		}
	}
	if depth > maxDepth {
		return errAt(n, "document nests deeper than %d levels", maxDepth)
	}
	return nil
}

func (d *decoder) decode(n *yaml.Node, depth int) (any, error) {
	if err := d.enter(n, depth); err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return d.b.Null(), nil
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
		f := frame{base: len(d.keys)}
		err := d.mapping(n, &f, depth, true)
		var v any
		if err == nil {
			if v, err = d.b.Mapping(d.keys[f.base:], d.vals[f.base:]); err != nil {
				err = errAt(n, "%v", err)
			}
		}
		d.pop(f.base)
		return v, err
	case yaml.SequenceNode:
		base := len(d.items)
		var err error
		for _, c := range n.Content {
			var v any
			if v, err = d.decode(c, depth+1); err != nil {
				break
			}
			d.items = append(d.items, v)
		}
		var v any
		if err == nil {
			if v, err = d.b.Sequence(d.items[base:]); err != nil {
				err = errAt(n, "%v", err)
			}
		}
		d.popItems(base)
		return v, err
	case yaml.ScalarNode:
		s, err := d.scalar(n)
		if err != nil {
			return nil, err
		}
		return d.build(n, s)
	}
	return nil, errAt(n, "unknown YAML node kind %d", n.Kind)
}

// build hands the resolved scalar of node n to the builder.
func (d *decoder) build(n *yaml.Node, s scalarValue) (any, error) {
	v, err := buildScalar(d.b, s)
	if err != nil {
		return nil, errAt(n, "%v", err)
	}
	return v, nil
}

// buildScalar hands a resolved scalar to b; only a number can fail.
func buildScalar(b Builder, s scalarValue) (any, error) {
	switch s.kind {
	case scalarNull:
		return b.Null(), nil
	case scalarBool:
		return b.Bool(s.b), nil
	case scalarNumber:
		return b.Number(s.text)
	}
	return b.String(s.text), nil
}

// scalar resolves the scalar node n.
func (d *decoder) scalar(n *yaml.Node) (scalarValue, error) {
	if d.src.nonSpecificTag(n) {
		// "! 1" is the string "1" to yaml.v2, as the YAML spec says; yaml.v3
		// drops the "!" and resolves the scalar as if it were untagged.
		return scalarValue{kind: scalarString, text: n.Value}, nil
	}
	return resolveScalar(n)
}

// mapping fills frame f from a mapping node in order, as yaml.v2 does: a merge key ("<<")
// writes its maps into f where it stands, so explicit keys after it win and keys before it
// lose. Two explicit keys that are equal are an error: kubectl rejects them, and reading
// either one silently would let a field hide from the rules.
func (d *decoder) mapping(n *yaml.Node, f *frame, depth int, checkDup bool) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if isMerge(kn) {
			if err := d.merge(vn, f, depth); err != nil {
				return err
			}
			continue
		}
		key, err := d.key(kn, depth)
		if err != nil {
			return err
		}
		j := d.find(f, key)
		if checkDup && j >= 0 && d.knode[j] != nil {
			return &decodeError{line: kn.Line, msg: fmt.Sprintf("duplicate key %q", key), first: d.knode[j].Line}
		}
		v, err := d.decode(vn, depth+1)
		if err != nil {
			return err
		}
		// Only this mapping's own explicit keys count as duplicates: not those its
		// merged maps wrote, nor those of a merged map (checkDup false).
		var explicit *yaml.Node
		if checkDup {
			explicit = kn
		}
		if j < 0 {
			d.add(f, key, v, explicit)
			continue
		}
		d.vals[j] = v
		if explicit != nil {
			d.knode[j] = explicit
		}
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

func (d *decoder) merge(n *yaml.Node, f *frame, depth int) error {
	target := n
	if n.Kind == yaml.AliasNode {
		target = n.Alias
	}
	switch target.Kind {
	case yaml.MappingNode:
		return d.mergeMap(n, f, depth)
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
			if err := d.mergeMap(c, f, depth); err != nil {
				return err
			}
		}
		return nil
	}
	return errAt(n, "map merge requires map or sequence of maps as the value")
}

func (d *decoder) mergeMap(n *yaml.Node, f *frame, depth int) error {
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
	return d.mapping(n, f, depth+1, false)
}

// key converts a mapping key to the string sigs.k8s.io/yaml makes of it.
func (d *decoder) key(n *yaml.Node, depth int) (string, error) {
	if n.Kind == yaml.ScalarNode {
		if err := d.enter(n, depth+1); err != nil {
			return "", err
		}
		s, err := d.scalar(n)
		if err != nil {
			return "", err
		}
		if k, ok := scalarKey(s, n.Value); ok {
			return k, nil
		}
		return "", errAt(n, "unsupported map key null (keys must be strings, numbers or booleans)")
	}
	// An alias, a mapping or a sequence as a key: decoded as the map builder decodes
	// it, whatever d builds, to say what it is (or what is wrong inside it).
	b := d.b
	d.b = MapBuilder{}
	v, err := d.decode(n, depth+1)
	d.b = b
	if err != nil {
		return "", err
	}
	switch k := v.(type) {
	case string:
		return k, nil
	case bool:
		return strconv.FormatBool(k), nil
	case json.Number:
		return keyNumber(n.Value, string(k)), nil
	}
	return "", errAt(n, "unsupported map key %s (keys must be strings, numbers or booleans)", describe(v))
}

// scalarKey is the key sigs.k8s.io/yaml makes of the resolved scalar s, written as text;
// false for null, which cannot be a key.
func scalarKey(s scalarValue, text string) (string, bool) {
	switch s.kind {
	case scalarString:
		return s.text, true
	case scalarBool:
		return strconv.FormatBool(s.b), true
	case scalarNumber:
		return keyNumber(text, s.text), true
	}
	return "", false
}

// keyNumber is the key sigs.k8s.io/yaml makes of a number key written as text, whose
// JSON form is num.
func keyNumber(text, num string) string {
	raw := resolvedNumber(text)
	switch x := raw.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
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
		return s
	}
	return num
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

// scalarKind is what a scalar resolves to.
type scalarKind uint8

const (
	scalarNull scalarKind = iota
	scalarBool
	scalarNumber
	scalarString
)

// scalarValue is a resolved scalar, before a builder makes a value of it: text is a
// string's value or a number's JSON text.
type scalarValue struct {
	kind scalarKind
	text string
	b    bool
}

// resolveScalar resolves a scalar node as go.yaml.in/yaml/v2 does into interface{}, then
// converts the result to its JSON form as sigs.k8s.io/yaml does.
func resolveScalar(n *yaml.Node) (scalarValue, error) {
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	tagged := n.Style&yaml.TaggedStyle != 0
	str := scalarValue{kind: scalarString, text: n.Value}
	if !tagged {
		if quoted {
			return str, nil
		}
		return resolvePlainAt(n)
	}
	tag := n.Tag
	switch tag {
	case tagStr, tagTimestamp:
		if tag == tagTimestamp {
			if !parseTimestamp(n.Value) {
				return scalarValue{}, errAt(n, "cannot decode %q as a !!timestamp", n.Value)
			}
		}
		return str, nil
	case tagBinary:
		b, err := base64.StdEncoding.DecodeString(n.Value)
		if err != nil {
			return scalarValue{}, errAt(n, "!!binary value contains invalid base64 data")
		}
		return scalarValue{kind: scalarString, text: string(b)}, nil
	case tagBool, tagInt, tagFloat, tagNull:
		v, err := resolvePlainAt(n)
		if err != nil {
			return scalarValue{}, err
		}
		got := kindTag(n, v)
		if got == tag || (tag == tagFloat && got == tagInt) {
			return v, nil
		}
		return scalarValue{}, errAt(n, "cannot decode %s `%s` as a %s", got, n.Value, tag)
	}
	// Unknown and local tags are not resolved by yaml.v2: the text is the value.
	return str, nil
}

func kindTag(n *yaml.Node, v scalarValue) string {
	switch v.kind {
	case scalarNull:
		return tagNull
	case scalarBool:
		return tagBool
	case scalarNumber:
		if _, ok := resolvedNumber(n.Value).(float64); ok {
			return tagFloat
		}
		return tagInt
	}
	if parseTimestamp(n.Value) {
		return tagTimestamp
	}
	return tagStr
}

var plainWords = map[string]scalarValue{
	"y": {kind: scalarBool, b: true}, "Y": {kind: scalarBool, b: true},
	"yes": {kind: scalarBool, b: true}, "Yes": {kind: scalarBool, b: true}, "YES": {kind: scalarBool, b: true},
	"true": {kind: scalarBool, b: true}, "True": {kind: scalarBool, b: true}, "TRUE": {kind: scalarBool, b: true},
	"on": {kind: scalarBool, b: true}, "On": {kind: scalarBool, b: true}, "ON": {kind: scalarBool, b: true},
	"n": {kind: scalarBool}, "N": {kind: scalarBool}, "no": {kind: scalarBool}, "No": {kind: scalarBool}, "NO": {kind: scalarBool},
	"false": {kind: scalarBool}, "False": {kind: scalarBool}, "FALSE": {kind: scalarBool},
	"off": {kind: scalarBool}, "Off": {kind: scalarBool}, "OFF": {kind: scalarBool},
	"": {}, "~": {}, "null": {}, "Null": {}, "NULL": {},
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

// resolvePlainAt resolves the untagged plain scalar n; an error is placed at n.
func resolvePlainAt(n *yaml.Node) (scalarValue, error) {
	v, err := resolvePlain(n.Value)
	if err != nil {
		return v, errAt(n, "%v", err)
	}
	return v, nil
}

// resolvePlain resolves the text of an untagged plain scalar as yaml.v2 does, then
// converts it as sigs.k8s.io/yaml does.
func resolvePlain(in string) (scalarValue, error) {
	if in == "" {
		return scalarValue{}, nil
	}
	str := scalarValue{kind: scalarString, text: in}
	switch c := in[0]; {
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		if nonFinite[in] {
			return scalarValue{}, errNonFinite
		}
		switch x := resolvedNumber(in).(type) {
		case int64:
			return scalarValue{kind: scalarNumber, text: strconv.FormatInt(x, 10)}, nil
		case uint64:
			return scalarValue{kind: scalarNumber, text: strconv.FormatUint(x, 10)}, nil
		case float64:
			b, err := json.Marshal(x)
			if err != nil {
				return scalarValue{}, errNonFinite
			}
			return scalarValue{kind: scalarNumber, text: string(b)}, nil
		}
		return str, nil
	case strings.IndexByte("yYnNtTfFoO~", c) >= 0:
		if v, ok := plainWords[in]; ok {
			return v, nil
		}
	}
	return str, nil
}

// resolvedNumber returns the int64, uint64 or float64 yaml.v2 makes of the plain scalar
// in, or nil when it is not a number (a string or a timestamp).
func resolvedNumber(in string) any {
	if in == "" {
		return nil
	}
	if in[0] == '.' {
		if f, err := strconv.ParseFloat(in, 64); err == nil {
			return f
		}
		return nil
	}
	if parseTimestamp(in) || !numberLike(in) {
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

// numberLike reports whether s could be read as a number below: whether it holds only
// what an integer (in any base, with "_"), or a float, may hold, and at most one ".".
// It turns away addresses, CIDRs, versions and quantities (10.0.0.1, 1.2.3, 100m) before
// strconv does, whose errors allocate.
func numberLike(s string) bool {
	dots := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		case c == '_', c == '+', c == '-', c == 'x', c == 'X', c == 'o', c == 'O':
		case c == '.':
			if dots++; dots > 1 {
				return false
			}
		default:
			return false
		}
	}
	return true
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
