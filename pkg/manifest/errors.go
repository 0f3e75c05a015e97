package manifest

import (
	"errors"
	"fmt"
)

// ErrTooLarge is returned for a file or stream over the configured size limit.
var ErrTooLarge = errors.New("file exceeds the size limit")

// ErrNotText is returned for input that is not UTF-8 text: binary files, UTF-16 and
// UTF-32 (kubectl reads UTF-8; ward will not guess at another encoding).
var ErrNotText = errors.New("not UTF-8 text")

// Error is an input error tied to a file and, where it has one, a line. Reading goes on
// after an Error: the other documents and files are still read.
type Error struct {
	File string
	Line int // 1-based; 0 when the error has no line (unreadable file, missing path)
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
