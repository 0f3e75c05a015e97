package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
)

// Bad input, read offline. Every class of bad input is a test that proves: the error
// names the file and, where the problem has one, the line; the other files (and, where
// the file can be split, the other documents of the same file) are still read; nothing
// panics; and where the input could cost unbounded time or memory, what it costs is
// bounded. Exit codes and the full pipeline are tested in cmd/ward/badinput_test.go.

// badFile is one class of bad content.
type badFile struct {
	name    string // class
	file    string // file name in the directory read
	content func() []byte
	line    int    // the error's line; 0: the error has none
	msg     string // a fragment of the error message
	// objects is how many objects the bad file itself still yields (its good documents).
	objects int
}

func badFiles() []badFile {
	return []badFile{{
		name: "invalid UTF-8, second document",
		file: "latin1.yaml",
		content: func() []byte {
			return []byte(goodConfigMap + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n")
		},
		line: 11, msg: "not UTF-8 text: invalid UTF-8 byte 0xe9 at column 12", objects: 1,
	}, {
		name: "invalid UTF-8 in a comment",
		file: "comment.yaml",
		content: func() []byte {
			return []byte("apiVersion: v1\nkind: ConfigMap\n# \xc3\x28\nmetadata: {name: x}\n")
		},
		line: 3, msg: "invalid UTF-8 byte 0xc3 at column 3",
	}, {
		name:    "binary file named .yaml",
		file:    "image.yaml",
		content: func() []byte { return binary(4096, true) },
		msg:     "not UTF-8 text: NUL byte at line",
	}, {
		name:    "binary file without NUL bytes",
		file:    "noise.yaml",
		content: func() []byte { return binary(4096, false) },
		line:    1, msg: "not UTF-8 text: invalid UTF-8 byte",
	}, {
		name:    "UTF-16 LE with BOM",
		file:    "utf16le.yaml",
		content: func() []byte { return utf16Bytes("\ufeff"+goodConfigMap, false) },
		msg:     "not UTF-8 text: the file is UTF-16 (or UTF-32) encoded",
	}, {
		name:    "UTF-16 BE with BOM",
		file:    "utf16be.yaml",
		content: func() []byte { return utf16Bytes("\ufeff"+goodConfigMap, true) },
		msg:     "not UTF-8 text: the file is UTF-16 (or UTF-32) encoded",
	}, {
		name:    "UTF-16 without BOM",
		file:    "utf16nobom.yaml",
		content: func() []byte { return utf16Bytes(goodConfigMap, false) },
		msg:     "not UTF-8 text: NUL byte at line 1",
	}, {
		name:    "tabs used for indentation",
		file:    "tabs.yaml",
		content: func() []byte { return []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabs\n") },
		line:    4, msg: "YAML syntax error: found character that cannot start any token (a tab indents this line: YAML indents with spaces only)",
	}, {
		name:    "tab indentation in a later document",
		file:    "tabs2.yaml",
		content: func() []byte { return []byte(goodConfigMap + "---\nkind: ConfigMap\ndata:\n  a: 1\n\tb: 2\n") },
		line:    11, msg: "YAML syntax error: found a tab character that violates indentation", objects: 1,
	}, {
		name:    "alias bomb",
		file:    "lol.yaml",
		content: func() []byte { return []byte(billionLaughs(9)) },
		// At the alias whose expansion runs over the file's budget.
		line: 7, msg: fmt.Sprintf("aliases expand the file by more than %d values (alias bomb?)", aliasBase+aliasPerByte*len(billionLaughs(9))),
	}, {
		name:    "10,000 levels of flow sequences",
		file:    "deepseq.yaml",
		content: func() []byte { return []byte("a: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n") },
		line:    1, msg: "nests deeper than 1000 levels",
	}, {
		name: "10,000 levels of flow mappings",
		file: "deepmap.yaml",
		content: func() []byte {
			return []byte(strings.Repeat("{a: ", 10000) + "1" + strings.Repeat("}", 10000) + "\n")
		},
		line: 1, msg: "nests deeper than 1000 levels",
	}, {
		name:    "10,000 levels of block sequences",
		file:    "deepblock.yaml",
		content: func() []byte { return []byte(strings.Repeat("- ", 10000) + "x\n") },
		line:    1, msg: "nests deeper than 1000 levels",
	}, {
		name: "duplicate keys",
		file: "dup.yaml",
		content: func() []byte {
			return []byte(goodConfigMap + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: dup\nspec:\n  hostNetwork: false\n  hostNetwork: true\n")
		},
		line: 14, msg: `duplicate key "hostNetwork" (first at line 13)`, objects: 1,
	}, {
		name: "duplicate keys spelled differently",
		file: "dup2.yaml",
		content: func() []byte {
			return []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  \"hostPID\": false\n  !!str hostPID: true\n")
		},
		line: 6, msg: `duplicate key "hostPID" (first at line 5)`,
	}, {
		name: "duplicate keys in flow style",
		file: "dup3.json",
		content: func() []byte {
			return []byte("{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n \"metadata\": {\"name\": \"p\"},\n \"kind\": \"Secret\"}\n")
		},
		line: 3, msg: `duplicate key "kind" (first at line 1)`,
	}, {
		name: "JSON with trailing garbage",
		file: "trailing.json",
		content: func() []byte {
			return []byte("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\",\n  \"metadata\": {\"name\": \"j\"}\n}\n\n  garbage\n")
		},
		// kubectl applies the object before it fails on the garbage, so ward lints it.
		line: 7, msg: "YAML syntax error: did not find expected <document start>", objects: 1,
	}, {
		name: "JSON objects run together",
		file: "concat.json",
		content: func() []byte {
			return []byte(`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}`)
		},
		line: 1, msg: "YAML syntax error", objects: 1,
	}, {
		name:    "unclosed flow sequence at the end of the file",
		file:    "unclosed.yaml",
		content: func() []byte { return []byte("apiVersion: v1\nkind: ConfigMap\ndata: [\n") },
		line:    3, msg: "YAML syntax error: did not find expected node content",
	}}
}

// TestBadInputClasses reads each class of bad file beside a good one.
func TestBadInputClasses(t *testing.T) {
	for _, bc := range badFiles() {
		t.Run(bc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "good.yaml", []byte(goodConfigMap))
			bad := write(t, dir, bc.file, bc.content())
			set := Read(t.Context(), []string{dir}, Options{})
			if len(set.Errors) != 1 {
				t.Fatalf("want one error, got %d: %v", len(set.Errors), set.Errors)
			}
			e := set.Errors[0]
			if e.File != bad || e.Line != bc.line || !strings.Contains(e.Err.Error(), bc.msg) {
				t.Errorf("error = %q at %s:%d\nwant %q at %s:%d", e.Err, e.File, e.Line, bc.msg, bad, bc.line)
			}
			if set.Files != 2 {
				t.Errorf("files = %d, want 2", set.Files)
			}
			if got := countIn(set, filepath.Join(dir, "good.yaml")); got != 1 {
				t.Errorf("good.yaml gave %d objects, want 1", got)
			}
			if got := countIn(set, bad); got != bc.objects {
				t.Errorf("%s gave %d objects, want %d", bc.file, got, bc.objects)
			}
		})
	}
}

// TestNotErrors are inputs that look odd but are fine: nothing to report.
func TestNotErrors(t *testing.T) {
	cases := []struct {
		name, doc string
		lines     []int // lines of the objects read
	}{
		{"comments only", "# nothing here\n# at all\n", nil},
		{"comments and separators only", "---\n# one\n---\n   # two\n...\n---\n", nil},
		{"empty file", "", nil},
		{"separator runs", "---\n---\n---\n" + goodConfigMap + "---\n---\n--- # trailing\n---\n" + goodConfigMap + "---\n", []int{4, 14}},
		{"document end markers", goodConfigMap + "...\n---\n" + goodConfigMap + "...\n", []int{1, 9}},
		{"UTF-8 byte order mark", "\ufeff" + goodConfigMap, []int{1}},
		{"CRLF line ends", strings.ReplaceAll(goodConfigMap+"---\n"+goodConfigMap, "\n", "\r\n"), []int{1, 8}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := Parse("odd.yaml", []byte(tc.doc))
			if len(set.Errors) != 0 {
				t.Fatalf("errors: %v", set.Errors)
			}
			var lines []int
			for _, o := range set.Objects {
				lines = append(lines, o.Line)
			}
			if !slicesEqual(lines, tc.lines) {
				t.Errorf("object lines = %v, want %v", lines, tc.lines)
			}
			if set.Ignored != 0 {
				t.Errorf("ignored = %d, want 0: comments are no document", set.Ignored)
			}
		})
	}
}

// TestSizeLimit covers the default limit (10 MiB, checked before reading: the file is
// sparse), a configured one, a file exactly at the limit, and standard input, which has
// no size to check and is cut off while read.
func TestSizeLimit(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.yaml", []byte(goodConfigMap))
	huge := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(DefaultMaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	set := Read(t.Context(), []string{dir}, Options{})
	wantOneError(t, set, huge, 0, "file exceeds the size limit (10485761 bytes > 10485760)")
	if countIn(set, good) != 1 {
		t.Errorf("good.yaml not read")
	}

	limit := int64(len(goodConfigMap))
	at := write(t, dir, "at.yaml", []byte(goodConfigMap))
	over := write(t, dir, "over.yaml", []byte(goodConfigMap+"#"))
	set = Read(t.Context(), []string{at, over}, Options{MaxFileSize: limit})
	wantOneError(t, set, over, 0, fmt.Sprintf("file exceeds the size limit (%d bytes > %d)", limit+1, limit))
	if countIn(set, at) != 1 {
		t.Errorf("a file exactly at the limit was not read")
	}

	stdin := strings.NewReader(strings.Repeat(goodConfigMap+"---\n", 100))
	set = Read(t.Context(), []string{StdinName}, Options{MaxFileSize: 1000, Stdin: stdin})
	wantOneError(t, set, StdinName, 0, "file exceeds the size limit (more than 1000 bytes)")
	if len(set.Objects) != 0 {
		t.Errorf("read %d objects from a stream over the limit", len(set.Objects))
	}
}

// TestMissingPath: a path that does not exist is an error naming it; the others are read.
func TestMissingPath(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.yaml", []byte(goodConfigMap))
	missing := filepath.Join(dir, "no", "such.yaml")
	set := Read(t.Context(), []string{missing, good}, Options{})
	wantOneError(t, set, missing, 0, "no such file or directory")
	if countIn(set, good) != 1 {
		t.Errorf("good.yaml not read")
	}
	// A path through a file is not a directory.
	through := filepath.Join(good, "x.yaml")
	set = Read(t.Context(), []string{through}, Options{})
	wantOneError(t, set, through, 0, "not a directory")
}

// TestSymlinkLoops: links to directories are not followed in a walk, so a loop cannot
// make it run forever or read a file twice; a link named like a manifest that loops is
// an error naming it.
func TestSymlinkLoops(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.yaml", []byte(goodConfigMap))
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	nested := write(t, sub, "nested.yaml", []byte(goodConfigMap))
	symlink(t, "..", filepath.Join(sub, "parent"))
	symlink(t, dir, filepath.Join(dir, "self"))
	symlink(t, ".", filepath.Join(dir, "dir.yaml")) // a directory link named like a manifest
	self := symlink(t, "self.yaml", filepath.Join(dir, "self.yaml"))
	a := symlink(t, "b.yml", filepath.Join(dir, "a.yml"))
	b := symlink(t, "a.yml", filepath.Join(dir, "b.yml"))

	set := Read(t.Context(), []string{dir}, Options{})
	errs := errorStrings(set.Errors)
	loop := ": too many levels of symbolic links"
	want := []string{a + loop, b + loop, self + loop}
	if !slicesEqual(errs, want) {
		t.Errorf("errors:\n%q\nwant:\n%q", errs, want)
	}
	if set.Files != 2 || countIn(set, good) != 1 || countIn(set, nested) != 1 {
		t.Errorf("files = %d, objects = %d: want good.yaml and sub/nested.yaml once each", set.Files, len(set.Objects))
	}

	// A looping link named on the command line.
	set = Read(t.Context(), []string{self, good}, Options{})
	wantOneError(t, set, self, 0, "too many levels of symbolic links")
}

// TestSpecialFiles: a walk skips FIFOs and devices (opening a FIFO with no writer would
// block forever; a device may never end); named on the command line they are read, as
// cat reads them (`ward lint <(helm template .)` names a pipe), and the size limit
// bounds an endless one.
func TestSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.yaml", []byte(goodConfigMap))
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, "/dev/zero", filepath.Join(dir, "zero.yaml"))
	symlink(t, "/dev/null", filepath.Join(dir, "null.json"))

	set := readWithin(t, []string{dir}, Options{})
	if len(set.Errors) != 0 || set.Files != 1 || countIn(set, good) != 1 {
		t.Fatalf("walk: files %d, errors %v: want good.yaml only", set.Files, set.Errors)
	}

	// Named, a pipe is read: a writer feeds it.
	wrote := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			_, err = w.WriteString(goodConfigMap)
			err = errors.Join(err, w.Close())
		}
		wrote <- err
	}()
	set = readWithin(t, []string{fifo}, Options{})
	if err := <-wrote; err != nil {
		t.Fatalf("write to the pipe: %v", err)
	}
	if len(set.Errors) != 0 || countIn(set, fifo) != 1 {
		t.Fatalf("named pipe: errors %v, objects %d", set.Errors, len(set.Objects))
	}

	set = readWithin(t, []string{"/dev/zero", "/dev/null", good}, Options{MaxFileSize: 1 << 10})
	wantOneError(t, set, "/dev/zero", 0, "file exceeds the size limit (more than 1024 bytes)")
	if countIn(set, good) != 1 {
		t.Errorf("good.yaml not read")
	}
}

// TestPermissionDenied: an unreadable file and an unreadable directory are errors
// naming them; everything else is read. Root reads any file whatever its mode, and CI
// runs as root: there the reads run with the effective uid of nobody (see
// withoutPrivilege), so the kernel refuses them as it would refuse any user.
func TestPermissionDenied(t *testing.T) {
	dir := traversableTempDir(t)
	good := write(t, dir, "good.yaml", []byte(goodConfigMap))
	secret := write(t, dir, "secret.yaml", []byte(goodConfigMap))
	locked := filepath.Join(dir, "locked")
	if err := os.Mkdir(locked, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, locked, "inside.yaml", []byte(goodConfigMap))
	for _, p := range []string{secret, locked} {
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Error(err)
			}
		})
	}

	var walk, named *Set
	withoutPrivilege(t, func() {
		walk = Read(t.Context(), []string{dir}, Options{})
		named = Read(t.Context(), []string{secret, filepath.Join(locked, "inside.yaml"), good}, Options{})
	})
	errs := errorStrings(walk.Errors)
	want := []string{locked + ": permission denied", secret + ": permission denied"}
	if !slicesEqual(errs, want) {
		t.Errorf("walk errors:\n%q\nwant:\n%q", errs, want)
	}
	if countIn(walk, good) != 1 {
		t.Errorf("walk: good.yaml not read")
	}
	errs = errorStrings(named.Errors)
	want = []string{filepath.Join(locked, "inside.yaml") + ": permission denied", secret + ": permission denied"}
	if !slicesEqual(errs, want) {
		t.Errorf("named errors:\n%q\nwant:\n%q", errs, want)
	}
	if countIn(named, good) != 1 {
		t.Errorf("named: good.yaml not read")
	}
}

// TestHundredThousandFiles walks a folder of 100,000 small manifests. It proves the
// walk and the reads complete and lose nothing; the time it takes is logged (go test -v),
// not asserted.
func TestHundredThousandFiles(t *testing.T) {
	const n = 100_000
	dir := t.TempDir()
	start := time.Now()
	for i := range n {
		name := filepath.Join(dir, "cm-"+strconv.Itoa(i)+".yaml")
		if err := os.WriteFile(name, []byte("{apiVersion: v1, kind: ConfigMap, metadata: {name: c"+strconv.Itoa(i)+"}}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Since(start)
	start = time.Now()
	set := Read(t.Context(), []string{dir}, Options{})
	read := time.Since(start)
	t.Logf("100,000 files: created in %v, read in %v", created.Round(time.Millisecond), read.Round(time.Millisecond))
	if len(set.Errors) != 0 || set.Files != n || len(set.Objects) != n {
		t.Fatalf("files %d, objects %d, errors %d (first %v)", set.Files, len(set.Objects), len(set.Errors), first(set.Errors))
	}
	// Files within a directory are read in lexical order.
	if got := set.Objects[1].Name(); got != "c1" {
		t.Errorf("second object %q, want c1 (cm-0, cm-1, cm-10, ...)", got)
	}
}

// readWithin reads, failing the test if Read blocks (on a FIFO it should have skipped)
// instead of hanging until the test binary's timeout.
func readWithin(t *testing.T, paths []string, opts Options) *Set {
	t.Helper()
	done := make(chan *Set, 1)
	go func() { done <- Read(t.Context(), paths, opts) }()
	select {
	case set := <-done:
		return set
	case <-time.After(time.Minute):
		t.Fatalf("Read(%q) blocked for a minute", paths)
		return nil
	}
}

// withoutPrivilege runs fn with the file access of an unprivileged user. When the test
// runs as root (CI does), it switches the effective uid of the whole process to nobody
// (65534) for fn and back after: the saved uid stays 0, which is what allows the switch
// back. The tests of a package run one at a time unless they call t.Parallel, and the
// tests that call this do not, so nothing else runs meanwhile.
func withoutPrivilege(t *testing.T, fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		fn()
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := syscall.Setresuid(-1, 65534, -1); err != nil {
		t.Fatalf("root cannot drop to uid 65534 (no CAP_SETUID?): %v", err)
	}
	defer func() {
		if err := syscall.Setresuid(-1, 0, -1); err != nil {
			panic("cannot restore uid 0: " + err.Error())
		}
	}()
	if syscall.Geteuid() != 65534 {
		t.Fatalf("euid %d after setresuid", syscall.Geteuid())
	}
	fn()
}

// traversableTempDir is a t.TempDir that another user may enter (t.TempDir's parent is
// private to its owner), for withoutPrivilege.
func traversableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}

func wantOneError(t *testing.T, set *Set, file string, line int, msg string) {
	t.Helper()
	if len(set.Errors) != 1 {
		t.Fatalf("want one error in %s, got %v", file, set.Errors)
	}
	e := set.Errors[0]
	if e.File != file || e.Line != line || !strings.Contains(e.Err.Error(), msg) {
		t.Errorf("error %q at %s:%d\nwant %q at %s:%d", e.Err, e.File, e.Line, msg, file, line)
	}
	if pe, ok := errors.AsType[*fs.PathError](e); ok {
		t.Errorf("error %v repeats the path: %#v", e, pe)
	}
}

func countIn(set *Set, file string) int {
	n := 0
	for _, o := range set.Objects {
		if o.File == file {
			n++
		}
	}
	return n
}

// binary is n pseudo-random bytes (fixed seed), with or without NUL bytes.
func binary(n int, nul bool) []byte {
	r := rand.New(rand.NewPCG(7, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
		if !nul && b[i] < 0x80 {
			b[i] |= 0x80
		}
	}
	return b
}

func utf16Bytes(s string, bigEndian bool) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// errorStrings returns the errors' texts, sorted.
func errorStrings(errs []*Error) []string {
	var s []string
	for _, e := range errs {
		s = append(s, e.Error())
	}
	slices.Sort(s)
	return s
}

func first(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}
