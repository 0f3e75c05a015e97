package manifest

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The fast path: nearly every Kubernetes manifest is written in a small part of YAML
// (block mappings and sequences, plain and one-line quoted scalars, one-line flow
// collections, literal and folded block scalars, comments), and yaml.v3 spends most of a
// run building tokens, events and nodes for it. fastDecode reads that part straight into
// the builder's values, with the positions Locate needs, and gives up on anything else:
// anchors, aliases, tags, directives, multi-line plain, quoted or flow scalars, tabs,
// CRs, explicit keys, merge keys, duplicate keys, keep chomping, indentation indicators.
// A document it gives up on is decoded by yaml.v3 (parseChunk), which also reports every
// error: the fast path never rejects a document, it only declines it.
//
// It must decode exactly as the yaml.v3 path does, values and positions: the scalars are
// resolved by the same functions (resolvePlain, keyNumber), and TestFastDecodeMatchesYAML
// and FuzzFastDecode hold both paths to the same values and the same position for every
// path of every document they both read.

// posEntry is the position of one node of a document the fast path read: a mapping
// entry (at its key, as walk places it) or a sequence item or the root (at the node).
// Entries are in document order; a node's children follow it, up to end.
type posEntry struct {
	key       string // a mapping entry's key, decoded
	line, col int32  // 1-based, in the document's text; col counts characters
	kind      uint8  // of the node's value
	end       int32  // index past the node's last descendant
}

// The kinds of posEntry values.
const (
	posScalar uint8 = iota
	posMapping
	posSequence
)

// fastMaxDepth is the deepest nesting the fast path reads; deeper documents go to yaml.v3
// and its limits.
const fastMaxDepth = 64

// fastMaxKey is the longest plain or quoted key the fast path reads: yaml.v3 refuses
// simple keys over 1024 characters.
const fastMaxKey = 1000

// fastParser reads one document. Between nodes, pos is at the start of a line.
type fastParser struct {
	data   []byte
	pos    int // start of the current line
	line   int // its 1-based number
	b      Builder
	st     *stacks
	values int
	record bool
	rec    []posEntry
}

// fastDecode decodes data, the text of one document, when it is written in the part of
// YAML the fast path reads and is a mapping; ok false means: decode it with yaml.v3. With
// record, the positions of its nodes come back too. st must be empty, and is left empty.
func fastDecode(data []byte, b Builder, st *stacks, record bool) (v any, rec []posEntry, ok bool) {
	if !fastText(data) {
		return nil, nil, false
	}
	// The document node counts against the limit, as it does for the decoder.
	p := fastParser{data: data, line: 1, b: b, st: st, record: record, values: 1}
	if record {
		p.rec = make([]posEntry, 0, bytes.Count(data, []byte{'\n'})+8)
	}
	defer p.reset()
	if !p.skipBlank() {
		return nil, nil, false
	}
	ind := p.indent()
	off := p.pos + ind
	if p.isItem(off) {
		return nil, nil, false
	}
	root := p.open("", off)
	v, ok = p.mapping(ind, off, 1)
	if !ok || p.skipBlank() {
		// Broken, or followed by something less indented than its first key.
		return nil, nil, false
	}
	p.close(root, posMapping)
	return v, p.rec, true
}

// fastText reports whether data holds only what the fast path reads: printable
// characters, spaces and LF. yaml.v3 refuses the other control characters and reads
// tabs, CRs and the Unicode line breaks by rules of their own.
func fastText(data []byte) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if (c < ' ' && c != '\n') || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff {
			return false
		}
		i += n
	}
	return true
}

// reset empties the stacks after a document, also one given up on halfway.
func (p *fastParser) reset() {
	p.st.pop(0)
	p.st.popItems(0)
}

// eol returns the index of the end of the line that holds i.
func (p *fastParser) eol(i int) int {
	if j := bytes.IndexByte(p.data[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(p.data)
}

// nextLine moves to the line after the one that ends at e.
func (p *fastParser) nextLine(e int) {
	p.pos = min(e+1, len(p.data))
	p.line++
}

// spaces returns the index of the first byte from i on that is not a space.
func (p *fastParser) spaces(i int) int {
	for i < len(p.data) && p.data[i] == ' ' {
		i++
	}
	return i
}

// indent returns the number of spaces that start the current line.
func (p *fastParser) indent() int { return p.spaces(p.pos) - p.pos }

// skipBlank moves past blank lines and comment lines; false at the end of the text.
func (p *fastParser) skipBlank() bool {
	for p.pos < len(p.data) {
		i := p.spaces(p.pos)
		if i < len(p.data) && p.data[i] != '\n' && p.data[i] != '#' {
			return true
		}
		p.nextLine(p.eol(i))
	}
	return false
}

// isItem reports whether a block sequence entry ("- " or a lone "-") starts at i.
func (p *fastParser) isItem(i int) bool {
	return i < len(p.data) && p.data[i] == '-' && (i+1 == len(p.data) || p.data[i+1] == ' ' || p.data[i+1] == '\n')
}

// rest reports whether what follows j on the line that ends at e is only spaces and
// perhaps a comment.
func (p *fastParser) rest(j, e int) bool {
	k := p.spaces(j)
	return k >= e || (p.data[k] == '#' && k > j)
}

// count counts a node against the document's limit (maxValues), as the decoder counts
// them: the document, every mapping, sequence and scalar, and every key.
func (p *fastParser) count() bool {
	p.values++
	return p.values <= maxValues
}

// open records the position of a node that starts at i on the current line; close
// records what it held once it is read.
func (p *fastParser) open(key string, i int) int {
	if !p.record {
		return -1
	}
	col := 1
	for _, c := range p.data[p.pos:i] {
		if utf8.RuneStart(c) {
			col++
		}
	}
	p.rec = append(p.rec, posEntry{key: key, line: int32(p.line), col: int32(col)}) //nolint:gosec // G115: bounded by the size limit of a file
	return len(p.rec) - 1
}

func (p *fastParser) close(i int, kind uint8) {
	if i >= 0 {
		p.rec[i].kind, p.rec[i].end = kind, int32(len(p.rec)) //nolint:gosec // G115: as in open
	}
}

// mapping reads the block mapping whose first key is at off, on the current line, and
// whose keys are indent spaces in.
func (p *fastParser) mapping(indent, off, depth int) (any, bool) {
	if depth > fastMaxDepth || !p.count() {
		return nil, false
	}
	f := frame{base: len(p.st.keys)}
	ok := p.entries(indent, off, depth, &f)
	var v any
	if ok {
		var err error
		v, err = p.b.Mapping(p.st.keys[f.base:], p.st.vals[f.base:])
		ok = err == nil
	}
	p.st.pop(f.base)
	return v, ok
}

func (p *fastParser) entries(indent, off, depth int, f *frame) bool {
	for {
		key, after, isKey, ok := p.scanKey(off)
		if !ok || !isKey || p.st.find(f, key) >= 0 || !p.count() {
			// Not a key (a multi-line scalar, or an error), or a duplicate key, which
			// yaml.v3's path reports.
			return false
		}
		e := p.open(key, off)
		v, kind, ok := p.value(indent, after, depth)
		if !ok {
			return false
		}
		p.close(e, kind)
		p.st.add(f, key, v, nil)
		if !p.skipBlank() {
			return true
		}
		switch m := p.indent(); {
		case m < indent:
			return true
		case m > indent:
			// The continuation of a multi-line plain scalar, or an error.
			return false
		default:
			off = p.pos + m
		}
	}
}

// value reads the value of a mapping entry whose key's ":" ends just before off, in a
// mapping indent spaces in.
func (p *fastParser) value(indent, off, depth int) (any, uint8, bool) {
	i := p.spaces(off)
	e := p.eol(off)
	if i < e && p.data[i] != '#' {
		return p.inline(i, e, indent, depth+1)
	}
	// The value is on the lines below: more indented, or a sequence at the key's
	// indentation; else it is null.
	p.nextLine(e)
	if !p.skipBlank() {
		return p.b.Null(), posScalar, p.count()
	}
	switch m := p.indent(); {
	case m > indent:
		return p.block(m, depth+1)
	case m == indent && p.isItem(p.pos+m):
		return p.sequence(m, depth+1)
	}
	return p.b.Null(), posScalar, p.count()
}

// block reads the mapping or sequence that starts m spaces into the current line.
func (p *fastParser) block(m, depth int) (any, uint8, bool) {
	off := p.pos + m
	if p.isItem(off) {
		return p.sequence(m, depth)
	}
	v, ok := p.mapping(m, off, depth)
	return v, posMapping, ok
}

// sequence reads the block sequence whose "-" entries are indent spaces in, the first on
// the current line.
func (p *fastParser) sequence(indent, depth int) (any, uint8, bool) {
	if depth > fastMaxDepth || !p.count() {
		return nil, posSequence, false
	}
	base := len(p.st.items)
	ok := p.items(indent, depth)
	var v any
	if ok {
		var err error
		v, err = p.b.Sequence(p.st.items[base:])
		ok = err == nil
	}
	p.st.popItems(base)
	return v, posSequence, ok
}

func (p *fastParser) items(indent, depth int) bool {
	for {
		dash := p.pos + indent
		e := p.eol(dash)
		i := p.spaces(dash + 1)
		var v any
		var kind uint8
		ok := false
		switch {
		case i >= e || p.data[i] == '#':
			// The item is on the lines below (a null item goes to yaml.v3).
			p.nextLine(e)
			if !p.skipBlank() {
				return false
			}
			m := p.indent()
			if m <= indent {
				return false
			}
			at := p.open("", p.pos+m)
			v, kind, ok = p.block(m, depth+1)
			p.close(at, kind)
		case p.isItem(i):
			return false // "- - a"
		default:
			_, _, isKey, fine := p.scanKey(i)
			if !fine {
				return false
			}
			at := p.open("", i)
			if isKey {
				// "- name: a": a mapping whose keys are as far in as its first.
				v, ok = p.mapping(i-p.pos, i, depth+1)
				kind = posMapping
			} else {
				v, kind, ok = p.inline(i, e, indent, depth+1)
			}
			p.close(at, kind)
		}
		if !ok {
			return false
		}
		p.st.items = append(p.st.items, v)
		if !p.skipBlank() {
			return true
		}
		switch m := p.indent(); {
		case m > indent:
			return false
		case m < indent || !p.isItem(p.pos+m):
			return true
		}
	}
}

// scanKey reads the implicit key that may start at i: isKey false when i starts a
// scalar or a collection instead, ok false when the fast path does not read what is
// there. after is the index just past the key's ":".
func (p *fastParser) scanKey(i int) (key string, after int, isKey, ok bool) {
	e := p.eol(i)
	if i == p.pos && (bytes.HasPrefix(p.data[i:e], []byte("---")) || bytes.HasPrefix(p.data[i:e], []byte("..."))) {
		return "", 0, false, false // document markers
	}
	switch c := p.data[i]; c {
	case '"', '\'':
		s, j, fine := p.quoted(i, e)
		if !fine || len(s) > fastMaxKey {
			return "", 0, false, false
		}
		if j < e && p.data[j] == ':' && (j+1 == e || p.data[j+1] == ' ') {
			return s, j + 1, true, true
		}
		return "", 0, false, true
	case '[', '{', '|', '>':
		return "", 0, false, true
	case '-', '?', ':', ',', ']', '}', '#', '&', '*', '!', '%', '@', '`':
		return "", 0, false, false
	}
	for j := i; j < e; j++ {
		switch p.data[j] {
		case ':':
			if j+1 < e && p.data[j+1] != ' ' {
				continue
			}
			text := string(p.data[i:j])
			if strings.HasSuffix(text, " ") {
				return "", 0, false, false
			}
			key, ok := plainKey(text)
			return key, j + 1, ok, ok
		case '#':
			if p.data[j-1] == ' ' {
				return "", 0, false, true
			}
		}
	}
	return "", 0, false, true
}

// inline reads the scalar or flow collection that starts at i on the current line (the
// value of a key, or an item), which ends at e; a block scalar's text follows on the
// lines below, more indented than indent.
func (p *fastParser) inline(i, e, indent, depth int) (any, uint8, bool) {
	switch p.data[i] {
	case '"', '\'':
		s, j, ok := p.quoted(i, e)
		if !ok || !p.rest(j, e) || !p.count() {
			return nil, posScalar, false
		}
		p.nextLine(e)
		return p.b.String(s), posScalar, true
	case '[', '{':
		v, kind, j, ok := p.flow(i, e, depth)
		if !ok || !p.rest(j, e) {
			return nil, kind, false
		}
		p.nextLine(e)
		return v, kind, true
	case '|', '>':
		return p.blockScalar(i, e, indent)
	case '&', '*', '!', '%', '@', '`', '?', ':', ',', ']', '}', '#':
		return nil, posScalar, false
	case '-':
		if i+1 == e || p.data[i+1] == ' ' {
			return nil, posScalar, false
		}
	}
	end := e
	for j := i + 1; j < e; j++ {
		if p.data[j] == '#' && p.data[j-1] == ' ' {
			end = j
			break
		}
	}
	for end > i && p.data[end-1] == ' ' {
		end--
	}
	text := p.data[i:end]
	if text[len(text)-1] == ':' || bytes.Contains(text, []byte(": ")) {
		return nil, posScalar, false // a mapping where none may start: an error
	}
	p.nextLine(e)
	v, ok := p.plain(string(text))
	return v, posScalar, ok
}

// plain builds the plain scalar text.
func (p *fastParser) plain(text string) (any, bool) {
	if !p.count() {
		return nil, false
	}
	s, err := resolvePlain(text)
	if err != nil {
		return nil, false
	}
	v, err := buildScalar(p.b, s)
	return v, err == nil
}

// quoted reads the single- or double-quoted scalar at i, which must end before e; j is
// the index after its closing quote.
func (p *fastParser) quoted(i, e int) (s string, j int, ok bool) {
	q := p.data[i]
	start := i + 1
	var buf []byte // nil while the text is the scalar as written
	for j = start; j < e; {
		c := p.data[j]
		switch {
		case c == q && q == '\'' && j+1 < e && p.data[j+1] == '\'':
			buf = p.unquoted(buf, start, j)
			buf = append(buf, '\'')
			j += 2
			continue
		case c == q:
			if buf == nil {
				return string(p.data[start:j]), j + 1, true
			}
			return string(buf), j + 1, true
		case c == '\\' && q == '"':
			if j+1 >= e {
				return "", 0, false
			}
			var n int
			if buf, n = unescape(p.unquoted(buf, start, j), p.data[j+1:e]); n == 0 {
				return "", 0, false
			}
			j += 1 + n
			continue
		}
		if buf != nil {
			buf = append(buf, c)
		}
		j++
	}
	return "", 0, false
}

// unquoted returns buf, or when it is nil, a buffer that holds the text from start to j.
func (p *fastParser) unquoted(buf []byte, start, j int) []byte {
	if buf != nil {
		return buf
	}
	return append(make([]byte, 0, 2*(j-start)+16), p.data[start:j]...)
}

// simpleEscapes are the one-character escapes of double-quoted scalars the fast path
// reads, and what each stands for ("\/" is not among them: yaml.v3 refuses it).
var simpleEscapes = map[byte]byte{
	'0': 0, 'a': '\a', 'b': '\b', 't': '\t', 'n': '\n', 'v': '\v', 'f': '\f', 'r': '\r', 'e': 0x1b,
	' ': ' ', '"': '"', '\\': '\\',
}

// unescape appends the character of the double-quoted escape that starts esc (after
// its backslash) to buf; n is the length of the escape, 0 if the fast path does not
// read it (yaml.v3 then decodes it, or says what is wrong with it).
func unescape(buf, esc []byte) (out []byte, n int) {
	if c, ok := simpleEscapes[esc[0]]; ok {
		return append(buf, c), 1
	}
	switch esc[0] {
	case 'x', 'u', 'U':
		w := 2
		switch esc[0] {
		case 'u':
			w = 4
		case 'U':
			w = 8
		}
		if len(esc) < 1+w {
			return buf, 0
		}
		r, err := strconv.ParseUint(string(esc[1:1+w]), 16, 32)
		if err != nil || (r >= 0xd800 && r <= 0xdfff) || r > 0x10ffff {
			return buf, 0
		}
		return utf8.AppendRune(buf, rune(r)), 1 + w
	}
	return buf, 0
}

// flow reads the flow collection at i, which must end before e; j is the index after it.
func (p *fastParser) flow(i, e, depth int) (v any, kind uint8, j int, ok bool) {
	if depth > fastMaxDepth || !p.count() {
		return nil, posScalar, 0, false
	}
	if p.data[i] == '[' {
		v, j, ok = p.flowSequence(i, e, depth)
		return v, posSequence, j, ok
	}
	v, j, ok = p.flowMapping(i, e, depth)
	return v, posMapping, j, ok
}

func (p *fastParser) flowSequence(i, e, depth int) (any, int, bool) {
	base := len(p.st.items)
	defer p.st.popItems(base)
	j := p.spaces(i + 1)
	if j < e && p.data[j] == ']' {
		v, err := p.b.Sequence(nil)
		return v, j + 1, err == nil
	}
	for j < e {
		at := p.open("", j)
		v, kind, k, ok := p.flowNode(j, e, depth+1)
		if !ok {
			return nil, 0, false
		}
		p.close(at, kind)
		p.st.items = append(p.st.items, v)
		if j = p.spaces(k); j >= e {
			break
		}
		switch p.data[j] {
		case ',':
			if j = p.spaces(j + 1); j < e && (p.data[j] == ']' || p.data[j] == ',') {
				return nil, 0, false // a trailing comma, an empty entry
			}
			continue
		case ']':
			v, err := p.b.Sequence(p.st.items[base:])
			return v, j + 1, err == nil
		}
		return nil, 0, false
	}
	return nil, 0, false
}

func (p *fastParser) flowMapping(i, e, depth int) (any, int, bool) {
	f := frame{base: len(p.st.keys)}
	defer p.st.pop(f.base)
	j := p.spaces(i + 1)
	if j < e && p.data[j] == '}' {
		v, err := p.b.Mapping(nil, nil)
		return v, j + 1, err == nil
	}
	for j < e {
		key, k, ok := p.flowKey(j, e)
		if !ok || p.st.find(&f, key) >= 0 || !p.count() {
			return nil, 0, false
		}
		at := p.open(key, j)
		if j = p.spaces(k); j >= e {
			return nil, 0, false
		}
		v, kind, k, ok := p.flowNode(j, e, depth+1)
		if !ok {
			return nil, 0, false
		}
		p.close(at, kind)
		p.st.add(&f, key, v, nil)
		if j = p.spaces(k); j >= e {
			break
		}
		switch p.data[j] {
		case ',':
			if j = p.spaces(j + 1); j < e && (p.data[j] == '}' || p.data[j] == ',') {
				return nil, 0, false
			}
			continue
		case '}':
			v, err := p.b.Mapping(p.st.keys[f.base:], p.st.vals[f.base:])
			return v, j + 1, err == nil
		}
		return nil, 0, false
	}
	return nil, 0, false
}

// flowKey reads a key of a flow mapping and the ": " after it; k is the index after the
// ":".
func (p *fastParser) flowKey(j, e int) (key string, k int, ok bool) {
	switch p.data[j] {
	case '"', '\'':
		s, k, ok := p.quoted(j, e)
		if !ok || len(s) > fastMaxKey {
			return "", 0, false
		}
		if k+1 < e && p.data[k] == ':' && p.data[k+1] == ' ' {
			return s, k + 1, true
		}
		return "", 0, false
	}
	end, ok := p.flowPlainEnd(j, e)
	if !ok || end >= e || p.data[end] != ':' || end+1 >= e || p.data[end+1] != ' ' {
		return "", 0, false
	}
	key, ok = plainKey(strings.TrimRight(string(p.data[j:end]), " "))
	return key, end + 1, ok
}

// plainKey is the key the plain scalar text makes; false for what the fast path leaves
// to yaml.v3: a merge key, a key too long for yaml.v3, a null key (an error).
func plainKey(text string) (string, bool) {
	if text == "" || text == "<<" || len(text) > fastMaxKey {
		return "", false
	}
	s, err := resolvePlain(text)
	if err != nil {
		return "", false
	}
	return scalarKey(s, text)
}

// flowNode reads one entry of a flow collection at j; k is the index after it.
func (p *fastParser) flowNode(j, e, depth int) (v any, kind uint8, k int, ok bool) {
	switch p.data[j] {
	case '[', '{':
		return p.flow(j, e, depth)
	case '"', '\'':
		s, k, ok := p.quoted(j, e)
		if !ok || !p.count() {
			return nil, posScalar, 0, false
		}
		return p.b.String(s), posScalar, k, true
	}
	end, ok := p.flowPlainEnd(j, e)
	if !ok || end >= e || p.data[end] == ':' {
		return nil, posScalar, 0, false
	}
	text := strings.TrimRight(string(p.data[j:end]), " ")
	if text == "" {
		return nil, posScalar, 0, false
	}
	v, ok = p.plain(text)
	return v, posScalar, end, ok
}

// flowPlainEnd returns where the plain scalar at j in a flow collection ends: at a ",",
// a bracket, a brace or a ":". ok is false for what the fast path does not read in a
// flow plain scalar: an indicator at its start, a "#".
func (p *fastParser) flowPlainEnd(j, e int) (end int, ok bool) {
	switch c := p.data[j]; c {
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`', '"', '\'':
		return 0, false
	}
	for k := j; k < e; k++ {
		switch p.data[k] {
		case ',', '[', ']', '{', '}', ':':
			return k, true
		case '#':
			return 0, false
		}
	}
	return e, true
}

// blockScalar reads a literal (|) or folded (>) scalar whose header is at i, on the line
// that ends at e; its text is on the lines below, more indented than indent.
func (p *fastParser) blockScalar(i, e, indent int) (any, uint8, bool) {
	folded := p.data[i] == '>'
	strip := false
	j := i + 1
	if j < e && p.data[j] == '-' {
		strip = true
		j++
	}
	if j < e && p.data[j] != ' ' || !p.rest(j, e) || !p.count() {
		return nil, posScalar, false // keep chomping, an indentation indicator
	}
	p.nextLine(e)
	var lines [][]byte // nil for an empty line
	k := -1            // the text's indentation
	empty := 0         // empty lines not yet known to be inside the text
	for p.pos < len(p.data) {
		le := p.eol(p.pos)
		line := p.data[p.pos:le]
		sp := p.spaces(p.pos) - p.pos
		if sp == len(line) {
			if k < 0 || sp > k {
				// Leading empty lines, spaces past the indentation: yaml.v3's rules.
				return nil, posScalar, false
			}
			empty++
			p.nextLine(le)
			continue
		}
		if k < 0 {
			if sp <= indent {
				return nil, posScalar, false // an empty scalar
			}
			k = sp
		}
		if sp < k {
			break
		}
		if folded && sp > k {
			return nil, posScalar, false // more-indented lines keep their breaks
		}
		for ; empty > 0; empty-- {
			lines = append(lines, nil)
		}
		lines = append(lines, line[k:])
		p.nextLine(le)
	}
	if k < 0 {
		return nil, posScalar, false
	}
	var sb strings.Builder
	if folded {
		breaks := -1 // line breaks since the last text line; -1 before the first
		for _, l := range lines {
			if l == nil {
				breaks++
				continue
			}
			switch {
			case breaks == 0:
				sb.WriteByte(' ')
			case breaks > 0:
				sb.WriteString(strings.Repeat("\n", breaks))
			}
			sb.Write(l)
			breaks = 0
		}
	} else {
		for n, l := range lines {
			if n > 0 {
				sb.WriteByte('\n')
			}
			sb.Write(l)
		}
	}
	if !strip {
		sb.WriteByte('\n')
	}
	return p.b.String(sb.String()), posScalar, true
}
