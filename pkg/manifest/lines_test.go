package manifest

import (
	"strings"
	"testing"
)

// goodConfigMap is a document that reads without error, six lines long.
const goodConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\ndata:\n  k: v\n"

// TestSyntaxErrorLines pins the line of yaml.v3's errors: its parser (not its scanner)
// counts lines from 0 and says nothing for the first line; ward reports the line the
// problem is on, within the document's lines.
func TestSyntaxErrorLines(t *testing.T) {
	cases := []struct {
		doc  string
		line int
	}{
		{"a: 1\nb: 2\n\n\ngarbage here\n", 5},
		{"{\"a\": 1}\n\n\n  garbage\n", 4},
		{"a: 1\nb: [1, 2\nc: 3\n", 2},
		{"a:\n  b: 1\n c: 2\n", 3},
		{"a: 1\nkind: [\n", 2},
		{"a: 1\nkind: [\n\n\n", 4},
		{"a: 1\nb: !x!y z\n", 2},
		{"a: 1\n- b\n", 2},
		{"- a\nb: c\n", 2},
		{"]\n", 1},
		{"a: 'unterminated\n", 1},
		{"a: \"x\ny\n", 2}, // the end of the document, where the quote is missing
		{"key: value: other\n", 1},
	}
	for _, tc := range cases {
		set := Parse("e.yaml", []byte(goodConfigMap+"---\n"+tc.doc))
		want := tc.line + 7
		if len(set.Errors) != 1 || set.Errors[0].Line != want {
			t.Errorf("%q: errors %v, want one at line %d", tc.doc, set.Errors, want)
		}
		if len(set.Objects) != 1 {
			t.Errorf("%q: the document before it was not read", tc.doc)
		}
	}
}

// TestErrorLinesInLaterDocuments: errors in the second document of a file name lines
// of the file, in the error's place and in its message (regression: a duplicate key's
// "first at line" and invalid UTF-8 were counted from the document's start, or not at
// all).
func TestErrorLinesInLaterDocuments(t *testing.T) {
	cases := []struct {
		name, doc string
		line      int
		msg       string
	}{
		{"duplicate key", "apiVersion: v1\nkind: Pod\nspec:\n  hostPID: false\n  hostPID: true\n", 12, `duplicate key "hostPID" (first at line 11)`},
		{"invalid UTF-8", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n", 11, "not UTF-8 text: invalid UTF-8 byte 0xe9 at column 12"},
		{"tab indentation", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n", 11, "found character that cannot start any token (a tab indents this line: YAML indents with spaces only)"},
		{"tab inside a plain scalar's lines", "kind: ConfigMap\ndata:\n  a: 1\n\tb: 2\n", 11, "found a tab character that violates indentation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := Parse("two.yaml", []byte(goodConfigMap+"---\n"+tc.doc))
			if len(set.Errors) != 1 {
				t.Fatalf("errors: %v", set.Errors)
			}
			if e := set.Errors[0]; e.Line != tc.line || !strings.Contains(e.Err.Error(), tc.msg) {
				t.Errorf("error %q at line %d, want %q at line %d", e.Err, e.Line, tc.msg, tc.line)
			}
			if len(set.Objects) != 1 {
				t.Errorf("the first document was not read")
			}
		})
	}
}

// TestLinesCountLineFeedsOnly: yaml.v3 also breaks lines at a lone CR and at NEL, LS and
// PS; ward's lines are the file's LF-separated lines, as editors and GitHub show them
// (regression: a U+2028 in a string moved every position after it one line down, and a
// lone CR put an error on a line the file does not have).
func TestLinesCountLineFeedsOnly(t *testing.T) {
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"a\u2028b\u0085c\"\ndata:\n  k: v\n---\nkind: [\n"
	set := Parse("ls.yaml", []byte(doc))
	if len(set.Objects) != 1 || len(set.Errors) != 1 {
		t.Fatalf("objects %d, errors %v", len(set.Objects), set.Errors)
	}
	if pos := set.Objects[0].Locate([]any{"data", "k"}); pos != (Position{Line: 6, Column: 3}) {
		t.Errorf("data.k at %+v, want 6:3", pos)
	}
	if e := set.Errors[0]; e.Line != 8 {
		t.Errorf("error at line %d, want 8: %v", e.Line, e)
	}

	// Old Mac line ends: one LF-line, which yaml.v3 reads as several.
	set = Parse("cr.yaml", []byte("apiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: x\rdata: {a: 1, a: 2}\r"))
	if len(set.Errors) != 1 || set.Errors[0].Line != 1 || !strings.Contains(set.Errors[0].Error(), "(first at line 1)") {
		t.Errorf("errors %v, want a duplicate key on line 1", set.Errors)
	}
	set = Parse("cr2.yaml", []byte("apiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: x\r"))
	if len(set.Objects) != 1 {
		t.Fatalf("objects %d, errors %v", len(set.Objects), set.Errors)
	}
	if pos := set.Objects[0].Locate([]any{"metadata", "name"}); pos != (Position{Line: 1, Column: 44}) {
		t.Errorf("metadata.name at %+v, want 1:44", pos)
	}
}
