package manifest

import (
	"bytes"
	"path/filepath"
	"strings"
)

// helmSourcePrefix starts the comment Helm writes before every document it renders:
// "# Source: chart/templates/deployment.yaml".
const helmSourcePrefix = "# Source:"

// helmSource returns the template a document was rendered from, read from the
// "# Source: PATH" line among the comments that lead the document (helm template and
// helm install --dry-run write it on the document's first line).
func helmSource(data []byte) (string, bool) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0:
			continue
		case bytes.HasPrefix(line, []byte(helmSourcePrefix)):
			src := strings.TrimSpace(string(line[len(helmSourcePrefix):]))
			return src, src != ""
		case line[0] == '#':
			continue
		}
		return "", false // the document's content starts: no leading Source comment
	}
	return "", false
}

// helmFiles places the documents of Helm's output in the files Helm names: a document
// led by "# Source: chart/templates/x.yaml" is reported in that file, at the lines
// where helm template --output-dir writes it. Helm writes each document as
// "---\n# Source: NAME\n" and the manifest, appending the documents of one template to
// its file in order; so the first document's "# Source:" line is line 2 of the file,
// and each further document of the same template follows the previous one and its
// separator. Documents without the comment keep their place in the input, and so do
// those of a file that is the template's own (out/chart/templates/x.yaml, as
// --output-dir writes it: its lines are those already).
type helmFiles struct {
	lines map[string]int // lines written so far to each template's file
}

// place returns the file and first line chunk c is reported at.
func (h *helmFiles) place(name string, c chunk) (string, int) {
	src, ok := helmSource(c.data)
	if !ok {
		return name, c.firstLine
	}
	// A file helm template --output-dir wrote is that template's file already.
	if name != StdinName && (filepath.ToSlash(name) == src || strings.HasSuffix(filepath.ToSlash(name), "/"+src)) {
		return name, c.firstLine
	}
	if h.lines == nil {
		h.lines = map[string]int{}
	}
	first := h.lines[src] + 2 // after the "---" separator line
	n := bytes.Count(c.data, []byte{'\n'})
	if len(c.data) > 0 && c.data[len(c.data)-1] != '\n' {
		n++
	}
	h.lines[src] += 1 + n
	return src, first
}
