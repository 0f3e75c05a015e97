package lint

import (
	"encoding/binary"

	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/manifest"
)

// A run keeps something of every object from its first pass to its end, and the
// garbage collector marks all of it at every collection: at 175,000 objects, strings,
// small structs and slices of findings, one allocation each, made up most of what
// it marked. So the texts an object keeps (its identity, its resolved namespace, and
// the findings of the first pass with their positions and paths) are encoded in one
// record, and the records of a file's objects are parts of one string: a single
// allocation without pointers per file, which the collector marks without looking
// into it. Reading a record back makes no copies; its strings share the record's
// bytes.

// identity is what a record says of its object, besides its findings.
type identity struct {
	engine.ObjectID
	// resolved is the object's namespace as resolved (engine.ReviewOf): the one it
	// names, else the run's.
	resolved string
}

// appendRecord appends the record of an object of identity id, with no findings.
func appendRecord(b []byte, id identity) []byte {
	for _, s := range []string{id.APIVersion, id.Kind, id.Name, id.Namespace, id.resolved} {
		b = appendText(b, s)
	}
	return b
}

// appendFindings appends findings to a record: vs, placed on the object at loc, and
// exempted by annotation if exempted is true.
func appendFindings(b []byte, loc manifest.Locator, vs []engine.Violation, exempted bool) []byte {
	flag := byte(0)
	if exempted {
		flag = 1
	}
	for _, v := range vs {
		x := placed{v: v}
		x.locate(loc)
		b = append(b, flag)
		b = binary.AppendUvarint(b, uint64(max(x.pos.Line, 0)))
		b = binary.AppendUvarint(b, uint64(max(x.pos.Column, 0)))
		for _, s := range []string{x.v.RuleID, x.v.Message, x.v.Key, x.v.Reason, x.path} {
			b = appendText(b, s)
		}
	}
	return b
}

func appendText(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// recordReader reads a record back. A record is only ever read by the run that wrote
// it, so it is well formed.
type recordReader struct {
	s  string
	at int
}

func (r *recordReader) identity() identity {
	var id identity
	for _, s := range []*string{&id.APIVersion, &id.Kind, &id.Name, &id.Namespace, &id.resolved} {
		*s = r.text()
	}
	return id
}

// findings reads the findings after the identity: violations and exempted ones, in
// the order they were appended.
func (r *recordReader) findings() (violations, exempted []placed) {
	for r.at < len(r.s) {
		flag := r.s[r.at]
		r.at++
		x := placed{located: true}
		x.pos.Line = r.uvarint()
		x.pos.Column = r.uvarint()
		for _, s := range []*string{&x.v.RuleID, &x.v.Message, &x.v.Key, &x.v.Reason, &x.path} {
			*s = r.text()
		}
		if flag == 1 {
			exempted = append(exempted, x)
		} else {
			violations = append(violations, x)
		}
	}
	return violations, exempted
}

func (r *recordReader) text() string {
	n := r.uvarint()
	s := r.s[r.at : r.at+n]
	r.at += n
	return s
}

// uvarint reads a number appendRecord or appendFindings wrote, from an int that is
// not negative.
func (r *recordReader) uvarint() int {
	var x uint64
	for shift := 0; ; shift += 7 {
		c := r.s[r.at]
		r.at++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int(x) //nolint:gosec // G115: it was an int
		}
	}
}
