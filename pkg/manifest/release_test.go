package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const twoDocs = "\ufeffapiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: x\n"

var deepPath = []any{"spec", "template", "spec", "containers", 0, "image"}

// TestOnFileHandsOverEveryFile: with OnFile, every file's objects come to the callback
// with its input index, none stay in the Set, and errors and counts are as without it.
func TestOnFileHandsOverEveryFile(t *testing.T) {
	dir := t.TempDir()
	for i, body := range []string{twoDocs, "kind: [\n", twoDocs} {
		if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".yaml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plain := Read(t.Context(), []string{dir}, Options{})
	var mu sync.Mutex
	got := map[int][]string{}
	set := Read(t.Context(), []string{dir}, Options{OnFile: func(i int, objects []*Object) {
		var names []string
		for _, o := range objects {
			names = append(names, o.File+"/"+o.Name()+"@"+fmt.Sprint(o.Locate(deepPath)))
		}
		mu.Lock()
		defer mu.Unlock()
		got[i] = names
	}})
	if len(set.Objects) != 0 || set.Files != plain.Files || len(set.Errors) != len(plain.Errors) {
		t.Fatalf("with OnFile: %d objects, %d files, %d errors; without: %d files, %d errors", len(set.Objects), set.Files, len(set.Errors), plain.Files, len(plain.Errors))
	}
	var flat []string
	for i := range plain.Files {
		flat = append(flat, got[i]...)
	}
	var want []string
	for _, o := range plain.Objects {
		want = append(want, o.File+"/"+o.Name()+"@"+fmt.Sprint(o.Locate(deepPath)))
	}
	if !slices.Equal(flat, want) {
		t.Fatalf("objects in input order:\n got %v\nwant %v", flat, want)
	}
}

// TestReleaseTextReadsAgain: after ReleasePositions and ReleaseText, Locate reads the
// text again from the file and places as before (a byte order mark and the document's
// offset in the file included); a file changed since gives the object's own position;
// text from standard input is kept.
func TestReleaseTextReadsAgain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "two.yaml")
	if err := os.WriteFile(path, []byte(twoDocs), 0o600); err != nil {
		t.Fatal(err)
	}
	set := Read(t.Context(), []string{path}, Options{})
	if len(set.Objects) != 2 {
		t.Fatalf("%d objects", len(set.Objects))
	}
	o := set.Objects[1]
	want := o.Locate(deepPath)
	if want.Line != 17 {
		t.Fatalf("placed at %v before release", want)
	}
	o.ReleasePositions()
	o.ReleaseText()
	o.Release()
	if o.src.data != nil {
		t.Fatal("ReleaseText kept the text of a regular file")
	}
	if got := o.Locate(deepPath); got != want {
		t.Fatalf("after ReleaseText: %v, want %v", got, want)
	}

	// Changed since it was read: no position from the new text.
	set = Read(t.Context(), []string{path}, Options{})
	o = set.Objects[1]
	o.ReleaseText()
	if err := os.WriteFile(path, []byte(strings.Replace(twoDocs, "image: x", "image: y", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := o.Locate(deepPath); got != (Position{Line: o.Line, Column: o.Column}) {
		t.Fatalf("a changed file placed at %v, want the object's own %d:%d", got, o.Line, o.Column)
	}

	// Standard input cannot be read again: the text is copied and kept.
	set = Read(t.Context(), []string{StdinName}, Options{Stdin: strings.NewReader(twoDocs)})
	o = set.Objects[1]
	o.ReleaseText()
	if o.src.data == nil || !o.src.detached {
		t.Fatal("ReleaseText let go of text that cannot be read again")
	}
	if got := o.Locate(deepPath); got != want {
		t.Fatalf("stdin after ReleaseText: %v, want %v", got, want)
	}
	o.ReleaseSource()
	if got := o.Locate(deepPath); got != (Position{Line: o.Line, Column: o.Column}) {
		t.Fatalf("after ReleaseSource: %v", got)
	}
}
