package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"weak"

	yaml "go.yaml.in/yaml/v3"
)

// Object is one Kubernetes object (or one ARM template resource) read from a file.
type Object struct {
	// File is the path shown to the user, as given on the command line or found in a walk.
	File string
	// Line and Column locate the object's first field in File (1-based).
	Line, Column int
	// Value is the object as kubectl would send it: map[string]any, []any, string, bool,
	// nil and json.Number. It is nil when the object was read with a Builder other than
	// MapBuilder (Options.Builder): Decoded holds what that builder made.
	Value map[string]any
	// ARM marks a resource of an Azure ARM template: its kind is its resource type,
	// spelled as ManagedClusters spells it.
	ARM bool

	// decoded is the object as builder made it, when that is not MapBuilder.
	decoded any
	builder Builder

	src  *source
	root []any // path from the document root to this object (List items, ARM resources)
	// released holds the identity once Release has let the value go.
	released *identity
}

type identity struct {
	apiVersion, kind, name, namespace string
}

// newObject makes the object of value v, which b built.
func newObject(file string, line, col int, v any, b Builder, src *source) *Object {
	o := &Object{File: file, Line: line, Column: col, src: src}
	o.hold(v, b)
	return o
}

// hold makes v, which b built, the object's value: in Value when b is MapBuilder, as
// callers of the map decoding have always found it.
func (o *Object) hold(v any, b Builder) {
	o.Value, o.decoded, o.builder, o.released = nil, nil, nil, nil
	if m, ok := v.(map[string]any); ok {
		if _, isMap := b.(MapBuilder); isMap {
			o.Value = m
			return
		}
	}
	o.decoded, o.builder = v, b
}

// Decoded returns the object as the Builder it was read with made it: Value when that
// was MapBuilder (or when Value was set since). nil once released.
func (o *Object) Decoded() any {
	if o.Value != nil {
		return o.Value
	}
	return o.decoded
}

// Builder returns the Builder that made Decoded and reads it.
func (o *Object) Builder() Builder {
	b, _ := o.view()
	return b
}

// WithDecoded returns a copy of o that holds v, a value o's Builder made (a change of
// o's value), with o's file and positions.
func (o *Object) WithDecoded(v any) *Object {
	c := *o
	c.hold(v, o.Builder())
	return &c
}

// view returns the object's value and the builder that reads it.
func (o *Object) view() (Builder, any) {
	if o.Value != nil || o.decoded == nil {
		return MapBuilder{}, o.Value
	}
	return o.builder, o.decoded
}

// Release lets Value go, keeping the identity (APIVersion, Kind, Name, Namespace). A
// caller that has converted the object into a form of its own (ward lint, for
// evaluation) then does not hold every object of a large manifest set twice.
// Annotations are let go too (Annotations returns nil after Release): the converted
// form has what the caller needs of them. Locate still works: it reads the source
// text, not Value.
func (o *Object) Release() {
	if o.released != nil {
		return
	}
	o.released = &identity{apiVersion: o.APIVersion(), kind: o.Kind(), name: o.Name(), namespace: o.Namespace()}
	o.Value, o.decoded, o.builder = nil, nil, nil
}

// ReleasePositions lets the nodes of the object's first parse go (for every object of
// its document): Locate then parses its source text again. A caller that has placed
// what it could while reading keeps the text alone for the rest of a long run.
func (o *Object) ReleasePositions() {
	if s := o.src; s != nil {
		s.mu.Lock()
		s.held, s.positions = nil, nil
		s.mu.Unlock()
	}
}

// ReleaseText lets the object's source text go while it is kept, for a caller that
// may still place a few findings on it: Locate then reads the text again from its
// file. Text that cannot be read again (standard input, a pipe, rendered output) is
// copied out of the buffer its file was read into instead, so that the buffer, with
// the other documents of the file, can go. A file that has changed since it was read
// no longer gives positions: Locate then returns the object's own. The nodes of the
// first parse go too (ReleasePositions).
func (o *Object) ReleaseText() {
	s := o.src
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held, s.positions = nil, nil
	switch {
	case s.data == nil || s.detached:
	case s.file != "":
		s.size = len(s.data)
		s.sum = textSum(s.data)
		s.data = nil
	default:
		s.data = bytes.Clone(s.data)
		s.detached = true
	}
}

// ReleaseSource lets the object's source text go (and with it, once no other object
// holds it, its file's buffer): Locate then returns the object's own position. For an
// object that no finding will be placed on any more.
func (o *Object) ReleaseSource() {
	o.src = nil
}

// textSeed keys the sums of released texts in this process; set once, read only.
var textSeed = maphash.MakeSeed()

func textSum(data []byte) uint64 {
	return maphash.Bytes(textSeed, data)
}

// text returns the source text, read again from its file if ReleaseText let it go;
// nil if that fails or the file has changed. The caller holds s.mu.
func (s *source) text() []byte {
	if s.data != nil || s.file == "" || s.broken {
		return s.data
	}
	data, _, err := readLimited(s.file, Options{MaxFileSize: s.limit})
	if err == nil {
		data, err = checkText(data)
	}
	if err != nil || s.offset+s.size > len(data) || textSum(data[s.offset:s.offset+s.size]) != s.sum {
		s.broken = true
		return nil
	}
	s.data = data[s.offset : s.offset+s.size : s.offset+s.size]
	return s.data
}

// APIVersion returns the object's apiVersion. It, Kind, Name and Namespace read the
// object's identity; each is empty when absent.
func (o *Object) APIVersion() string {
	if o.released != nil {
		return o.released.apiVersion
	}
	b, v := o.view()
	return text(b, v, "apiVersion")
}

// Kind returns the object's kind (an ARM resource's type).
func (o *Object) Kind() string {
	if o.released != nil {
		return o.released.kind
	}
	b, v := o.view()
	return text(b, v, "kind")
}

// Name returns metadata.name (an ARM resource's name).
func (o *Object) Name() string {
	if o.released != nil {
		return o.released.name
	}
	b, v := o.view()
	if o.ARM {
		return text(b, v, "name")
	}
	return text(b, v, "metadata", "name")
}

// Namespace returns metadata.namespace as written; "" when the object names none.
func (o *Object) Namespace() string {
	switch {
	case o.released != nil:
		return o.released.namespace
	case o.ARM:
		return ""
	}
	b, v := o.view()
	return text(b, v, "metadata", "namespace")
}

// Annotations returns metadata.annotations with string values; nil after Release.
func (o *Object) Annotations() map[string]string {
	if o.released != nil {
		return nil
	}
	b, v := o.view()
	md, _ := b.Get(v, "metadata")
	raw, _ := b.Get(md, "annotations")
	keys := b.Keys(raw)
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		x, _ := b.Get(raw, k)
		if s, ok := b.Text(x); ok {
			out[k] = s
		}
	}
	return out
}

// source is the text one or more objects were decoded from. Its nodes are parsed again
// only when a finding needs a position, and held only while findings are being placed:
// a large input does not keep the node trees of its objects alive.
type source struct {
	data      []byte
	firstLine int // line of data[0] in the file
	docIndex  int // which YAML document of data

	mu sync.Mutex
	// node is the parsed document, held weakly: the objects of a document and the
	// findings being placed on them share one parse, and once they are done the
	// garbage collector takes the tree back (a later Locate parses again).
	node   weak.Pointer[yaml.Node]
	broken bool // the text did not parse again; never retried
	// detached: data is a copy of the document's text, not a part of the file's buffer
	// (Object.ReleaseText).
	detached bool
	// file is the regular file the text was read from, at offset (after a byte order
	// mark); "" when it cannot be read again. After ReleaseText, data is nil and the
	// text is read again from file when needed, if its size and sum still match.
	file   string
	limit  int64 // the size limit it was read with
	offset int
	size   int
	sum    uint64
	// held is the document's nodes from the first parse, kept until ReleasePositions
	// so that findings are placed without parsing again: the caller places them while
	// the file is being read, then lets the nodes go.
	held *yaml.Node
	// fast: the document was read by the fast path (fastDecode), whose positions are
	// in positions until ReleasePositions, and read again by it when needed after.
	fast      bool
	positions []posEntry
	reread    weak.Pointer[[]posEntry] // positions read again, held weakly as node
}

// fastPositions returns the positions of a document the fast path read: those of the
// first reading while they are held, else those of reading its text again; nil if that
// fails (the file has changed).
func (s *source) fastPositions() []posEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.positions != nil {
		return s.positions
	}
	if p := s.reread.Value(); p != nil || s.broken {
		if p == nil {
			return nil
		}
		return *p
	}
	data := s.text()
	if data == nil {
		return nil
	}
	_, rec, ok := fastDecode(data, MapBuilder{}, &stacks{}, true)
	if !ok {
		s.broken = true
		return nil
	}
	s.reread = weak.Make(&rec)
	return rec
}

func (s *source) document() *yaml.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held != nil {
		return s.held
	}
	if n := s.node.Value(); n != nil || s.broken {
		return n
	}
	data := s.text()
	if data == nil {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			s.broken = true
			return nil
		}
		if i == s.docIndex {
			s.node = weak.Make(&n)
			return &n
		}
	}
}

// fileResult is what reading one file gives.
type fileResult struct {
	builder Builder
	objects []*Object
	ignored int
	errs    []*Error
	// aliases bounds what aliases may add to the file's documents, all of them together.
	aliases *aliasBudget
	// stacks are the decoder's, kept from one document of the file to the next.
	stacks stacks
}

// parseFile decodes every document of a file. name is the path shown to the user;
// documents of Helm's output are shown in the template they came from (helmFiles).
func parseFile(name string, data []byte, b Builder) fileResult {
	if b == nil {
		b = MapBuilder{}
	}
	res := fileResult{builder: b}
	data, err := checkText(data)
	if err != nil {
		res.errs = append(res.errs, &Error{File: name, Err: err})
		return res
	}
	res.aliases = newAliasBudget(len(data))
	var helm helmFiles
	for _, c := range splitDocuments(data) {
		if blank(c.data) {
			continue
		}
		file, first := helm.place(name, c)
		c.firstLine = first
		parseChunk(file, c, &res)
	}
	// The stacks' arrays still point at the last document's nodes and values (their
	// slots past the length are not cleared), and Read keeps every file's result to the
	// end: held, they kept a document of every file alive, 130 MB at 100,000 files.
	res.stacks = stacks{}
	return res
}

func parseChunk(name string, c chunk, res *fileResult) {
	if i := invalidUTF8(c.data); i >= 0 {
		line := c.firstLine + bytes.Count(c.data[:i], []byte{'\n'})
		col := i - bytes.LastIndexByte(c.data[:i], '\n')
		res.errs = append(res.errs, &Error{File: name, Line: line, Err: fmt.Errorf("%w: invalid UTF-8 byte 0x%02x at column %d", ErrNotText, c.data[i], col)})
		return
	}
	if v, rec, ok := fastDecode(c.data, res.builder, &res.stacks, true); ok {
		if b := res.builder; !isListDocument(b, v) && isObject(b, v) {
			src := &source{data: c.data, firstLine: c.firstLine, offset: c.offset, fast: true, positions: rec}
			line, col := fileLine(c.data, c.firstLine, int(rec[0].line), int(rec[0].col))
			res.objects = append(res.objects, newObject(name, line, col, v, b, src))
			return
		}
		// Lists, ARM templates and what is no object are placed on yaml.v3's nodes.
	}
	dec := yaml.NewDecoder(bytes.NewReader(c.data))
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			res.errs = append(res.errs, syntaxError(name, c, err))
			return
		}
		src := &source{data: c.data, firstLine: c.firstLine, docIndex: i, offset: c.offset}
		d := decoder{b: res.builder, budget: res.aliases, src: sourceText{data: c.data}, stacks: res.stacks}
		v, err := d.decode(&n, 0)
		res.stacks = d.stacks
		if err != nil {
			if de, ok := errors.AsType[*decodeError](err); ok {
				line, _ := fileLine(c.data, c.firstLine, de.line, 1)
				first, _ := fileLine(c.data, c.firstLine, de.first, 1)
				res.errs = append(res.errs, &Error{File: name, Line: line, Err: errors.New(de.message(first))})
			} else {
				res.errs = append(res.errs, &Error{File: name, Line: c.firstLine, Err: err})
			}
			continue
		}
		before := len(res.objects)
		collect(name, src, &n, v, res)
		if len(res.objects) > before {
			src.held = &n
		}
	}
}

// collect classifies a decoded document: a Kubernetes object, a List of them, an ARM
// template, or something else (a kustomization, a Helm values file), which is counted and
// ignored.
func collect(name string, src *source, doc *yaml.Node, v any, res *fileResult) {
	b := res.builder
	switch b.Type(v) {
	case TypeMapping:
	case TypeNull:
		return
	default:
		res.ignored++
		return
	}
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	switch {
	case isListDocument(b, v):
		collectList(name, src, root, v, nil, res)
	case isObject(b, v):
		line, col := fileLine(src.data, src.firstLine, root.Line, root.Column)
		res.objects = append(res.objects, newObject(name, line, col, v, b, src))
	default:
		before := len(res.objects)
		err := armResources(b, v, nil, func(path []any, r any) {
			line, col := position(src, root, path)
			o := newObject(name, line, col, r, b, src)
			o.ARM, o.root = true, path
			res.objects = append(res.objects, o)
		})
		if err != nil {
			line, _ := fileLine(src.data, src.firstLine, root.Line, root.Column)
			res.errs = append(res.errs, &Error{File: name, Line: line, Err: fmt.Errorf("ARM template: %w", err)})
			return
		}
		if len(res.objects) == before {
			res.ignored++
		}
	}
}

func isObject(b Builder, v any) bool {
	return text(b, v, "apiVersion") != "" && text(b, v, "kind") != ""
}

func position(src *source, root *yaml.Node, path []any) (int, int) {
	n := walk(root, path)
	return fileLine(src.data, src.firstLine, n.Line, n.Column)
}

// yamlLine matches the "line N" yaml.v3 puts in its error messages.
var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// parserProblems are the errors of yaml.v3's parser (as opposed to its scanner). For
// these yaml.v3 prints the line 0-based, one less than the line it means, and no line at
// all for the first line.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntaxError places a yaml.v3 error of chunk c at its line in the file. A problem at the
// end of the input is placed on the chunk's last line.
func syntaxError(name string, c chunk, err error) *Error {
	msg := err.Error()
	line := c.firstLine
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		msg = msg[len(m[0]):]
		if m[1] != "" {
			n, _ := strconv.Atoi(m[1])
			if parserProblems[msg] {
				n++
			}
			line, _ = fileLine(c.data, c.firstLine, min(n, yamlLineCount(c.data)), 1)
		}
	}
	if strings.Contains(msg, "tab character") {
		// yaml.v3 names the line of the token the tab interrupts: name the tab's.
		for i := line - c.firstLine; i < line-c.firstLine+2; i++ {
			if tabIndented(lineOf(c.data, i)) {
				line = c.firstLine + i
				break
			}
		}
	} else if tabIndented(lineOf(c.data, line-c.firstLine)) {
		msg += " (a tab indents this line: YAML indents with spaces only)"
	}
	return &Error{File: name, Line: line, Err: fmt.Errorf("YAML syntax error: %s", msg)}
}

// tabIndented reports whether a tab is among the blanks that start line.
func tabIndented(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(line, " "), []byte{'\t'})
}

// lineOf returns the i-th line (0-based) of data, without its line break.
func lineOf(data []byte, i int) []byte {
	for ; i > 0; i-- {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return nil
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return data
}

// checkText refuses input that is not UTF-8 text and drops a UTF-8 byte order mark.
func checkText(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return nil, fmt.Errorf("%w: the file is UTF-16 (or UTF-32) encoded; save it as UTF-8", ErrNotText)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line := 1 + bytes.Count(data[:i], []byte{'\n'})
		return nil, fmt.Errorf("%w: NUL byte at line %d (a binary file?)", ErrNotText, line)
	}
	return data, nil
}
