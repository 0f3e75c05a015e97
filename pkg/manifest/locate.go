package manifest

import (
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// Position is a place in a file. Line and Column are 1-based.
type Position struct {
	Line, Column int
}

// Locate returns the position of the deepest element of path (an object path of string
// keys and int indexes, as rules report it) that exists in the object's source text. A
// path through an alias stops at the alias, the place in this object's text that holds
// the value. It walks the document's nodes: those of the first parse while they are
// held (until ReleasePositions), else those of parsing its text again.
func (o *Object) Locate(path []any) Position { return o.Locator().Locate(path) }

// Locator is what Locate needs of an object, for a caller that keeps it and lets the
// object go: ward lint holds one for every object its second pass may place a
// finding on, and nothing else of the object but what it encoded itself. A Locator
// taken after ReleaseSource places every path at the object's own position.
type Locator struct {
	src          *source
	root         []any // as Object's
	line, column int
}

// Locator returns o's Locator, as o's source is now: take it after the Release
// methods a caller means to call.
func (o *Object) Locator() Locator {
	return Locator{src: o.src, root: o.root, line: o.Line, column: o.Column}
}

// Line is the line of the object's first field, as Object.Line.
func (l Locator) Line() int { return l.line }

// Locate is Object.Locate for the object l was taken from.
func (l Locator) Locate(path []any) Position {
	if l.src == nil {
		return Position{Line: l.line, Column: l.column}
	}
	if l.src.fast {
		rec := l.src.fastPositions()
		if rec == nil {
			return Position{Line: l.line, Column: l.column}
		}
		e := rec[locateEntry(rec, append(clone(l.root), path...))]
		line, col := fileLine(l.src.data, l.src.firstLine, int(e.line), int(e.col))
		return Position{Line: line, Column: col}
	}
	doc := l.src.document()
	if doc == nil {
		return Position{Line: l.line, Column: l.column}
	}
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	n := walk(root, append(clone(l.root), path...))
	line, col := fileLine(l.src.data, l.src.firstLine, n.Line, n.Column)
	return Position{Line: line, Column: col}
}

// walk follows path from n and returns the deepest node reached. For a mapping key the
// node is the key, so a finding points at the field's name.
func walk(n *yaml.Node, path []any) *yaml.Node {
	cur := n
	at := n
	for _, p := range path {
		if cur.Kind == yaml.AliasNode {
			return at
		}
		switch cur.Kind {
		case yaml.MappingNode:
			key, ok := keyString(p)
			if !ok {
				return at
			}
			k, v := lookup(cur, key)
			if k == nil {
				return at
			}
			at, cur = k, v
		case yaml.SequenceNode:
			idx, ok := p.(int)
			if !ok || idx < 0 || idx >= len(cur.Content) {
				return at
			}
			at, cur = cur.Content[idx], cur.Content[idx]
		default:
			return at
		}
	}
	return at
}

// locateEntry is walk over the positions the fast path recorded: the index of the entry
// of the deepest element of path that exists.
func locateEntry(rec []posEntry, path []any) int {
	at := 0
	for _, p := range path {
		cur := rec[at]
		next := -1
		switch cur.kind {
		case posMapping:
			key, ok := keyString(p)
			if !ok {
				return at
			}
			for c := at + 1; c < int(cur.end); c = int(rec[c].end) {
				if rec[c].key == key {
					next = c
					break
				}
			}
		case posSequence:
			idx, ok := p.(int)
			if !ok || idx < 0 {
				return at
			}
			c := at + 1
			for ; idx > 0 && c < int(cur.end); idx-- {
				c = int(rec[c].end)
			}
			if c < int(cur.end) {
				next = c
			}
		}
		if next < 0 {
			return at
		}
		at = next
	}
	return at
}

func keyString(p any) (string, bool) {
	switch k := p.(type) {
	case string:
		return k, true
	case int:
		return strconv.Itoa(k), true
	}
	return "", false
}

// lookup finds key in a mapping node, comparing decoded keys (so `"on"` and `on` differ
// as they do for kubectl). Duplicate keys are refused when reading, so the first match
// is the only one.
func lookup(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	var d decoder
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn := m.Content[i]
		if isMerge(kn) {
			continue
		}
		if k, err := d.key(kn, 0); err == nil && k == key {
			return kn, m.Content[i+1]
		}
	}
	return nil, nil
}
