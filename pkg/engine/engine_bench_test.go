package engine

import (
	"fmt"
	"testing"

	"github.com/wardsec/ward/bench/gen"
	"github.com/wardsec/ward/pkg/manifest"
)

// benchReviews returns the reviews of the first n objects of the benchmark corpus and
// an inventory of the same objects, as ward lint builds them.
func benchReviews(b *testing.B, n int) ([]Review, *Inventory) {
	b.Helper()
	dir := b.TempDir()
	if _, err := gen.Generate(dir, n, 1); err != nil {
		b.Fatal(err)
	}
	set := manifest.Read(b.Context(), []string{dir}, manifest.Options{})
	objs := set.Objects[:n]
	reviews := make([]Review, len(objs))
	items := make([]InventoryItem, len(objs))
	for i, o := range objs {
		reviews[i] = NewReview(o.Value, "default", o.ARM)
		items[i] = InventoryItem{Namespace: reviews[i].Namespace, APIVersion: o.APIVersion(), Kind: o.Kind(), Name: fmt.Sprint(i), Object: o.Value}
	}
	inv, err := NewInventory(items)
	if err != nil {
		b.Fatal(err)
	}
	return reviews, inv
}

// BenchmarkNew compiles the embedded rule library: the start-up cost of every run.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(b.Context(), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// planned returns the engine with its rules planned, as ward serve runs (and ward lint
// after its first reviews), or, with topdown set, with every rule left to topdown.
func planned(b *testing.B, topdown bool) *Engine {
	b.Helper()
	eng, err := New(b.Context(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if topdown {
		return withoutPlans(eng)
	}
	if err := eng.Plan(b.Context()); err != nil {
		b.Fatal(err)
	}
	return eng
}

// BenchmarkEvaluate evaluates 10, 100 and 1,000 objects of the benchmark corpus with
// every rule, concurrently, against an inventory of the same objects.
func BenchmarkEvaluate(b *testing.B) {
	eng := planned(b, false)
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			reviews, inv := benchReviews(b, n)
			ev, err := eng.Prepare(b.Context(), inv, Settings{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ev.EvaluateAll(b.Context(), reviews)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/object")
		})
	}
}

// BenchmarkEvaluateDeployment evaluates one Deployment with every rule: the engine's
// share of an admission request. "planned" is how ward runs; "topdown" leaves every
// rule to topdown, for the comparison.
func BenchmarkEvaluateDeployment(b *testing.B) {
	for _, name := range []string{"planned", "topdown"} {
		b.Run(name, func(b *testing.B) {
			eng := planned(b, name == "topdown")
			reviews, inv := benchReviews(b, 200)
			var r Review
			for _, x := range reviews {
				if x.Kind.Kind == "Deployment" {
					r = x
					break
				}
			}
			ev, err := eng.Prepare(b.Context(), inv, Settings{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ev.Evaluate(b.Context(), r)
			}
		})
	}
}

// BenchmarkNewInventory builds the inventory of 1,000 objects: one conversion to OPA
// values per object.
func BenchmarkNewInventory(b *testing.B) {
	reviews, _ := benchReviews(b, 1000)
	items := make([]InventoryItem, len(reviews))
	for i, r := range reviews {
		items[i] = InventoryItem{Namespace: r.Namespace, APIVersion: r.Kind.Version, Kind: r.Kind.Kind, Name: fmt.Sprint(i), Object: r.Object}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewInventory(items); err != nil {
			b.Fatal(err)
		}
	}
}
