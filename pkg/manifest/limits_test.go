package manifest

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestAliasBombsBounded proves that aliases cannot make a small file cost much: the
// classic bomb, and the same bomb spread over many documents each of which stays under
// the per-document limit (regression: twenty 360-byte documents cost 2 GB and 25 s).
// Memory is measured as bytes allocated, with a bound far above what the reads need
// (a few MB) and far below what an unbounded expansion allocates (gigabytes).
func TestAliasBombsBounded(t *testing.T) {
	cases := map[string]string{
		"billion laughs":          billionLaughs(9),
		"bomb through merge keys": mergeBomb(),
		// Each document expands to 9^6 = 531,441 values, under the 1,000,000 that one
		// document may hold.
		"many small bombs": strings.Repeat(nearBomb(6)+"---\n", 20),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			var set *Set
			alloc := allocated(func() { set = Parse("bomb.yaml", []byte(doc)) })
			if len(set.Errors) == 0 {
				t.Fatalf("no error; objects: %d", len(set.Objects))
			}
			for _, e := range set.Errors {
				if !strings.Contains(e.Error(), "alias bomb") || e.Line == 0 {
					t.Errorf("error %v: want an alias bomb error with a line", e)
				}
			}
			if alloc > 64<<20 {
				t.Errorf("reading allocated %d MB, want under 64", alloc>>20)
			}
		})
	}
	// Aliases that expand a small file to a few thousand values are fine.
	set := Parse("fine.yaml", []byte(nearBomb(4)))
	if len(set.Errors) != 0 || len(set.Objects) != 1 {
		t.Fatalf("a document with a few thousand alias values: errors %v, objects %d", set.Errors, len(set.Objects))
	}
}

// TestDeepBlockMappingBounded nests 10,000 block mappings, one space more each: 50 MB,
// read with the size limit raised to take it.
func TestDeepBlockMappingBounded(t *testing.T) {
	var b bytes.Buffer
	for i := range 10000 {
		b.WriteString(strings.Repeat(" ", i))
		b.WriteString("a:\n")
	}
	var set *Set
	alloc := allocated(func() {
		set = Read(t.Context(), []string{StdinName}, Options{MaxFileSize: 64 << 20, Stdin: &b})
	})
	if len(set.Errors) != 1 || set.Errors[0].Line == 0 {
		t.Fatalf("want one error with a line, got %v", set.Errors)
	}
	t.Logf("error: %v; allocated %d MB", set.Errors[0], alloc>>20)
	if alloc > 1<<30 {
		t.Errorf("allocated %d MB for a 50 MB input", alloc>>20)
	}
}

// allocated returns the bytes fn allocates (runtime.MemStats.TotalAlloc). Only the
// calling test runs meanwhile, and the bounds it is compared with are loose.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// billionLaughs is the classic alias bomb with levels levels of 9 aliases each.
func billionLaughs(levels int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < levels; i++ {
		p := "*l" + strconv.Itoa(i-1)
		b.WriteString("l" + strconv.Itoa(i) + ": &l" + strconv.Itoa(i) + " [" + strings.Repeat(p+", ", 8) + p + "]\n")
	}
	return b.String()
}

// mergeBomb multiplies through merge keys and aliases in mappings.
func mergeBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nm0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}\n")
	for i := 1; i < 9; i++ {
		p := "*m" + strconv.Itoa(i-1)
		b.WriteString("m" + strconv.Itoa(i) + ": &m" + strconv.Itoa(i) + " {<<: " + p + ", a: " + p + ", b: " + p + ", c: " + p + ", d: " + p + ", e: " + p + ", f: " + p + ", g: " + p + ", h: " + p + "}\n")
	}
	return b.String()
}

// nearBomb is one document whose aliases expand to 9^levels values.
func nearBomb(levels int) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: near}\n" + strings.TrimPrefix(billionLaughs(levels), "apiVersion: v1\nkind: ConfigMap\n")
}

// TestReadAllAnySize: the buffer sized from the file's stat holds what is read whatever
// the size said (a file that grew or shrank since, a /proc file that says 0).
func TestReadAllAnySize(t *testing.T) {
	text := strings.Repeat("apiVersion: v1\n", 1000)
	for _, size := range []int64{-1, 0, 1, 511, int64(len(text)) - 1, int64(len(text)), int64(len(text)) + 1, 1 << 20} {
		got, err := readAll(strings.NewReader(text), size)
		if err != nil || string(got) != text {
			t.Errorf("size %d: read %d bytes, %v; want %d", size, len(got), err, len(text))
		}
	}
}
