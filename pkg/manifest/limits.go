package manifest

import "unicode/utf8"

// Limits on what aliases may add to a file. maxValues bounds one document; these bound
// a file, so that a "billion laughs" spread over many small documents, each under
// maxValues, cannot cost more than a few values per byte read. A document without
// aliases decodes to fewer values than it has bytes; with aliases, a file may add at most
// aliasBase values plus aliasPerByte for each of its bytes, and never more than
// maxValues, over all its documents.
const (
	aliasBase    = 10_000
	aliasPerByte = 10
)

// aliasBudget counts the values aliases may still add to one file's documents.
type aliasBudget struct {
	left, limit int
}

func newAliasBudget(size int) *aliasBudget {
	limit := min(maxValues, aliasBase+aliasPerByte*size)
	return &aliasBudget{left: limit, limit: limit}
}

// invalidUTF8 returns the offset of the first byte of data that is not valid UTF-8, or
// -1 when data is valid.
func invalidUTF8(data []byte) int {
	if utf8.Valid(data) {
		return -1
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
