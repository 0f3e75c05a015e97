package manifest

import (
	"os"
	"path/filepath"
	"strings"
)

// KustomizationFileNames are the names Kustomize looks for in a directory, in its order
// (sigs.k8s.io/kustomize/api/konfig.RecognizedKustomizationFileNames).
var KustomizationFileNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// KustomizationFile returns the kustomization file of dir, or "" when it has none.
func KustomizationFile(dir string) string {
	for _, name := range KustomizationFileNames {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// kustomizations finds the directories Kustomize renders while paths are expanded
// (Options.Kustomize): they are listed, and the files below them are not read as plain
// manifests.
type kustomizations struct {
	dirs []string
	seen map[string]bool
	wd   string // working directory, absolute; "" if unknown
}

func newKustomizations() *kustomizations {
	wd, err := os.Getwd()
	if err != nil {
		wd = ""
	}
	return &kustomizations{seen: map[string]bool{}, wd: wd}
}

func (k *kustomizations) add(dir string) {
	dir = filepath.Clean(dir)
	if !k.seen[dir] {
		k.seen[dir] = true
		k.dirs = append(k.dirs, dir)
	}
}

// covers reports whether p lies in or below a kustomization directory found so far.
func (k *kustomizations) covers(p string) bool {
	for _, dir := range k.dirs {
		if within(dir, p) {
			return true
		}
	}
	return false
}

// enclosing returns the kustomization directory that a path named on the command line
// stands for: the nearest directory, from the path's own (a file's parent) up to the
// working directory, that holds a kustomization file; "" when there is none. A path
// outside the working directory looks only at its own directory.
func (k *kustomizations) enclosing(p string, isDir bool) string {
	dir := p
	if !isDir {
		dir = filepath.Dir(p)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	limit := abs
	if k.wd != "" && within(k.wd, abs) {
		limit = k.wd
	}
	for cur, shown := abs, dir; ; {
		if KustomizationFile(cur) != "" {
			return shown
		}
		if cur == limit {
			return ""
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return ""
		}
		cur, shown = parent, filepath.Join(shown, "..")
	}
}

// within reports whether p is dir or lies below it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}

// WithValueOf returns a copy of o that holds the value of r, the object as a tool such
// as Kustomize rendered it from o (decoded with any Builder), and keeps o's file and
// positions, as WithValue does.
func (o *Object) WithValueOf(r *Object) *Object {
	c := *o
	c.hold(r.Decoded(), r.Builder()) // the identity is r's
	return &c
}

// At returns a copy of o placed at line and col of file, with no source text: Locate
// places every path there (an object rendered from what no file holds).
func (o *Object) At(file string, line, col int) *Object {
	c := *o
	c.File, c.Line, c.Column = file, line, col
	c.src, c.root = nil, nil
	return &c
}

// WithValue returns a copy of o that holds value, the object as a tool such as
// Kustomize rendered it from o, and keeps o's file and positions: Locate walks a
// finding's path in o's source text and stops at the deepest field the source holds.
func (o *Object) WithValue(value map[string]any) *Object {
	c := *o
	c.hold(value, MapBuilder{}) // the identity is value's
	return &c
}
