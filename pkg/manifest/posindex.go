package manifest

import (
	encbin "encoding/binary"
	"hash/maphash"
	"slices"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// A finding is placed at the deepest element of its path that the object's source
// holds. Parsing the document again for that (as Locate once did) costs as much as
// reading it did, for every document with a finding. Instead, while a document's
// nodes are alive after the first parse, posIndex records where every element of it
// is, keyed by a hash of its path from the document root; placing a finding is then a
// few binary searches. It records exactly what walk would find: mapping keys by their
// decoded text (the key's node, so a finding points at the field's name), sequence
// items by index, nothing below an alias (walk stops at one) or behind a merge key.
//
// Twelve bytes per node: a workload of 150 nodes costs 1.8 KB, a tenth of its decoded
// value. A document too large to pack (a line past 2^20 or a column past 2^12 in its
// chunk) gets no index and is parsed again when placed, as before.
type posIndex struct {
	hashes []uint64 // sorted
	pos    []uint32 // line<<12 | column, chunk-relative, as yaml.v3 counts them
	root   uint32   // the position of the document's root node
}

const (
	posColBits = 12
	posMaxCol  = 1<<posColBits - 1
	posMaxLine = 1<<(32-posColBits) - 1
)

// pathSeed keys the path hashes of this process.
var pathSeed = maphash.MakeSeed()

// Path elements are hashed with a tag, so that a mapping key "0" and a sequence index 0
// are different steps, as they are for walk.
const (
	tagKey   = 'k'
	tagIndex = 'i'
)

func stepHash(parent uint64, tag byte, key string, index int) uint64 {
	var h maphash.Hash
	h.SetSeed(pathSeed)
	var b [9]byte
	encbin.LittleEndian.PutUint64(b[:8], parent)
	b[8] = tag
	// maphash.Hash's writes never fail.
	_, _ = h.Write(b[:])
	if tag == tagKey {
		_, _ = h.WriteString(key)
	} else {
		_, _ = h.WriteString(strconv.Itoa(index))
	}
	return h.Sum64()
}

// rootHash is the hash of the empty path.
const rootHash = 0

// newPosIndex indexes the document below root; nil when it cannot be packed.
func newPosIndex(root *yaml.Node) *posIndex {
	type entry struct {
		hash uint64
		pos  uint32
	}
	var entries []entry
	ok := true
	var d decoder
	var visit func(n *yaml.Node, h uint64)
	add := func(h uint64, n *yaml.Node) {
		if n.Line > posMaxLine || n.Column > posMaxCol || n.Line < 0 || n.Column < 0 {
			ok = false
			return
		}
		entries = append(entries, entry{h, uint32(n.Line)<<posColBits | uint32(n.Column)})
	}
	visit = func(n *yaml.Node, h uint64) {
		if !ok || n.Kind == yaml.AliasNode {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				kn := n.Content[i]
				if isMerge(kn) {
					continue
				}
				k, err := d.key(kn, 0)
				if err != nil {
					continue
				}
				c := stepHash(h, tagKey, k, 0)
				add(c, kn)
				visit(n.Content[i+1], c)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				c := stepHash(h, tagIndex, "", i)
				add(c, item)
				visit(item, c)
			}
		}
	}
	add(rootHash, root)
	if !ok {
		return nil
	}
	rootPos := entries[0].pos
	entries = entries[1:]
	visit(root, rootHash)
	if !ok {
		return nil
	}
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	idx := &posIndex{hashes: make([]uint64, len(entries)), pos: make([]uint32, len(entries)), root: rootPos}
	for i, e := range entries {
		idx.hashes[i], idx.pos[i] = e.hash, e.pos
	}
	return idx
}

func (x *posIndex) find(h uint64) (uint32, bool) {
	i, found := slices.BinarySearch(x.hashes, h)
	if !found {
		return 0, false
	}
	return x.pos[i], true
}

// locate returns the chunk-relative line and column of the deepest element of path
// that the document holds, the root's when not even the first element is there.
func (x *posIndex) locate(path []any) (line, col int) {
	h := uint64(rootHash)
	at := x.root
	for _, p := range path {
		var next uint64
		var pos uint32
		ok := false
		switch k := p.(type) {
		case string:
			next = stepHash(h, tagKey, k, 0)
			pos, ok = x.find(next)
		case int:
			// An int is a sequence index, or, in a mapping, the key of that text.
			next = stepHash(h, tagIndex, "", k)
			if pos, ok = x.find(next); !ok {
				next = stepHash(h, tagKey, strconv.Itoa(k), 0)
				pos, ok = x.find(next)
			}
		}
		if !ok {
			break
		}
		h, at = next, pos
	}
	return int(at >> posColBits), int(at & posMaxCol)
}
