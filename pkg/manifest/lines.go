package manifest

import (
	"bytes"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// Lines in ward's output are the lines of the file as editors, GitHub and kubectl's
// document splitter count them: a line ends at LF. yaml.v3, like libyaml and yaml.v2,
// also ends a line at a CR not followed by LF and at NEL, LS and PS (U+0085, U+2028,
// U+2029). The positions yaml.v3 reports in a chunk are mapped to the file's here; for
// a chunk with none of those breaks, the common case, the mapping is the identity.

// fileLine maps a 1-based line and column yaml.v3 reports in the chunk data, whose first
// line is line firstLine of the file, to the file's line and column.
func fileLine(data []byte, firstLine, line, col int) (int, int) {
	if !hasYAMLOnlyBreaks(data) {
		return firstLine + line - 1, col
	}
	starts := yamlLineStarts(data)
	if line < 1 {
		line = 1
	}
	if line > len(starts) {
		line = len(starts)
	}
	off := starts[line-1]
	lineStart := bytes.LastIndexByte(data[:off], '\n') + 1
	return firstLine + bytes.Count(data[:off], []byte{'\n'}), utf8.RuneCount(data[lineStart:off]) + col
}

// yamlLineCount is the number of lines yaml.v3 sees in data, not counting the empty one
// after a final line break.
func yamlLineCount(data []byte) int {
	starts := yamlLineStarts(data)
	if len(starts) > 1 && starts[len(starts)-1] == len(data) {
		return len(starts) - 1
	}
	return len(starts)
}

// hasYAMLOnlyBreaks reports whether data holds a line break that yaml.v3 counts and LF
// counting does not.
func hasYAMLOnlyBreaks(data []byte) bool {
	for i := bytes.IndexByte(data, '\r'); i >= 0; {
		if i+1 >= len(data) || data[i+1] != '\n' {
			return true
		}
		j := bytes.IndexByte(data[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return bytes.Contains(data, []byte("\u0085")) || bytes.Contains(data, []byte("\u2028")) || bytes.Contains(data, []byte("\u2029"))
}

// yamlLineStarts returns the offset in data of the start of every line as yaml.v3
// counts lines.
func yamlLineStarts(data []byte) []int {
	starts := []int{0}
	for i := 0; i < len(data); {
		n := yamlBreak(data[i:])
		if n == 0 {
			i++
			continue
		}
		i += n
		starts = append(starts, i)
	}
	return starts
}

// yamlBreak returns the length of the line break data starts with, or 0.
func yamlBreak(data []byte) int {
	switch {
	case bytes.HasPrefix(data, []byte("\r\n")):
		return 2
	case data[0] == '\r' || data[0] == '\n':
		return 1
	case bytes.HasPrefix(data, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(data, []byte("\u2028")), bytes.HasPrefix(data, []byte("\u2029")):
		return 3
	}
	return 0
}

// sourceText is the text of a chunk, to look at what yaml.v3's nodes do not keep.
type sourceText struct {
	data []byte
	// bangs holds the line and column (as yaml.v3 counts them) of every "!" that stands
	// alone, as the non-specific tag does, and of every anchor ("&name") that such a "!"
	// follows on its line with only blanks between; computed when first needed.
	bangs map[[2]int]bool
}

// nonSpecificTag reports whether the scalar node n, which yaml.v3 reports untagged and
// plain, was written with the non-specific tag "!" (as in "! 1"). yaml.v3 drops that tag;
// yaml.v2 keeps it, and then does not resolve the scalar: "! 1" is the string "1". A plain
// scalar cannot start with "!", so a lone "!" where the node starts is that tag; so is
// one right after the node's anchor ("&name ! 1"), where the node starts.
func (s *sourceText) nonSpecificTag(n *yaml.Node) bool {
	if n.Style != 0 || n.Line < 1 || len(s.data) == 0 {
		return false
	}
	if s.bangs == nil {
		s.bangs = loneBangs(s.data)
	}
	return len(s.bangs) > 0 && s.bangs[[2]int{n.Line, n.Column}]
}

// loneBangs finds every "!" of data followed by a blank, a line break, a flow indicator
// or the end, at its 1-based line and column as yaml.v3 counts them, and every anchor
// such a "!" follows on the same line after blanks only.
func loneBangs(data []byte) map[[2]int]bool {
	bangs := map[[2]int]bool{}
	if bytes.IndexByte(data, '!') < 0 {
		return bangs
	}
	line, col := 1, 1
	lineStart := 0
	for i := 0; i < len(data); {
		if n := yamlBreak(data[i:]); n > 0 {
			i += n
			line, col = line+1, 1
			lineStart = i
			continue
		}
		if data[i] == '!' && (i+1 == len(data) || bytes.IndexByte([]byte(" \t\r\n,]}"), data[i+1]) >= 0) {
			bangs[[2]int{line, col}] = true
			if amp := anchorBefore(data[lineStart:i]); amp >= 0 {
				bangs[[2]int{line, col - utf8.RuneCount(data[lineStart+amp:i])}] = true
			}
		}
		_, size := utf8.DecodeRune(data[i:])
		i += size
		col++
	}
	return bangs
}

// anchorBefore returns the offset in line of the "&" of the anchor that ends line but
// for blanks ("... &name  "), or -1 when line does not end so.
func anchorBefore(line []byte) int {
	end := len(bytes.TrimRight(line, " \t"))
	if end == len(line) {
		return -1 // the "!" is not after blanks
	}
	start := end
	for start > 0 && bytes.IndexByte([]byte(" \t,[]{}"), line[start-1]) < 0 {
		start--
	}
	if end-start < 2 || line[start] != '&' {
		return -1
	}
	return start
}
