package manifest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wardsec/ward/bench/gen"
)

// benchCorpus writes the benchmark corpus of n files (seed 1) into a temporary
// directory and returns it with its number of documents.
func benchCorpus(b *testing.B, n int) (string, int) {
	b.Helper()
	dir := b.TempDir()
	st, err := gen.Generate(dir, n, 1)
	if err != nil {
		b.Fatal(err)
	}
	return dir, st.Documents
}

// BenchmarkRead reads and decodes 100 files of the benchmark corpus, on every core, as
// ward lint does.
func BenchmarkRead(b *testing.B) {
	dir, docs := benchCorpus(b, 100)
	b.ReportAllocs()
	for b.Loop() {
		set := Read(b.Context(), []string{dir}, Options{})
		if len(set.Errors) > 0 || len(set.Objects) != docs {
			b.Fatalf("%d objects, errors %v", len(set.Objects), set.Errors)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*docs), "ns/document")
}

// BenchmarkParse decodes one multi-document file: the loader per document, one core.
func BenchmarkParse(b *testing.B) {
	dir, _ := benchCorpus(b, 30)
	var data []byte
	var docs int
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || docs > 1 {
			return err
		}
		c, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if n := len(Parse(p, c).Objects); n > docs {
			data, docs = c, n
		}
		return nil
	})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		Parse("bench.yaml", data)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*docs), "ns/document")
}
