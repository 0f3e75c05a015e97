package engine

import (
	"testing"

	"github.com/wardsec/ward/bench/gen"
	"github.com/wardsec/ward/pkg/manifest"
)

// BenchmarkReadConvert reads 100 files of the benchmark corpus and converts every
// object to its Value, as ward lint does: decoded into maps and converted with
// ast.InterfaceToValue (maps), or built as OPA values straight from the nodes (nodes).
func BenchmarkReadConvert(b *testing.B) {
	dir := b.TempDir()
	st, err := gen.Generate(dir, 100, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		builder manifest.Builder
	}{{"maps", nil}, {"nodes", Builder{}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				set := manifest.Read(b.Context(), []string{dir}, manifest.Options{Builder: c.builder})
				if len(set.Objects) != st.Documents {
					b.Fatalf("%d objects, want %d", len(set.Objects), st.Documents)
				}
				objs := make([]any, len(set.Objects))
				for i, o := range set.Objects {
					objs[i] = o.Decoded()
				}
				if _, err := NewValues(objs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*st.Documents), "ns/document")
		})
	}
}
