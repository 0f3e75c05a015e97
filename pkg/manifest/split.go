package manifest

import "bytes"

// chunk is one YAML document of a file as kubectl's YAMLReader splits it: the bytes
// between two "---" separator lines. firstLine is the 1-based line of its first byte.
type chunk struct {
	data      []byte
	firstLine int
	offset    int // of data[0] in the file's text
}

// splitDocuments splits a YAML stream at separator lines, as
// k8s.io/apimachinery/pkg/util/yaml.YAMLReader does: a line that starts with "---" and has
// nothing after it but spaces or a comment. Splitting before parsing means a syntax error
// in one document does not hide the documents after it.
func splitDocuments(data []byte) []chunk {
	var chunks []chunk
	start, startLine, line := 0, 1, 1
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		if isSeparator(data[pos:next]) {
			if pos > start {
				chunks = append(chunks, chunk{data: data[start:pos], firstLine: startLine, offset: start})
			}
			start, startLine = next, line+1
		}
		pos = next
		line++
	}
	if start < len(data) {
		chunks = append(chunks, chunk{data: data[start:], firstLine: startLine, offset: start})
	}
	return chunks
}

func isSeparator(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	rest := bytes.TrimSpace(line[3:])
	return len(rest) == 0 || rest[0] == '#'
}

// blank reports whether a chunk holds nothing but whitespace and comments.
func blank(data []byte) bool {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' && !bytes.Equal(line, []byte("...")) {
			return false
		}
	}
	return true
}
