package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPreload: the first New given a Preloaded gets the compiled library; a second one
// compiles its own from the parsed library; both know the same rules as a New without
// it, and evaluate alike.
func TestPreload(t *testing.T) {
	ctx := t.Context()
	plain, err := New(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := Preload()
	first, err := New(ctx, Options{Preloaded: p})
	if err != nil {
		t.Fatal(err)
	}
	if first != p.engine {
		t.Error("the first New did not take the preloaded engine")
	}
	second, err := New(ctx, Options{Preloaded: p})
	if err != nil {
		t.Fatal(err)
	}
	if second == first || second.compiler == first.compiler {
		t.Error("the second New shares the first one's engine or compiler")
	}
	reviews, inv := fixtureReviews(t)
	var want []Outcome
	for i, e := range []*Engine{plain, first, second} {
		if diff := cmp.Diff(plain.Rules().List(), e.Rules().List()); diff != "" {
			t.Errorf("engine %d: rules differ (-plain +preloaded):\n%s", i, diff)
		}
		ev, err := e.Prepare(ctx, inv, Settings{})
		if err != nil {
			t.Fatal(err)
		}
		got := ev.EvaluateAll(ctx, reviews)
		if i == 0 {
			want = got
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("engine %d: outcomes differ (-plain +preloaded):\n%s", i, diff)
		}
	}
}

// TestPreloadWithPolicyDirs: with user rules, New compiles them with the preloaded
// parse of the library, while Preload may still be compiling it (run with -race), and
// reports a user rule's compile error as without Preload.
func TestPreloadWithPolicyDirs(t *testing.T) {
	ctx := t.Context()
	good := t.TempDir()
	if err := os.WriteFile(filepath.Join(good, "has_policy.rego"), []byte(lookupRule), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := t.TempDir()
	unsafe := "package ward.rules.x\n\nviolation contains v if {\n\tv := y\n}\n"
	if err := os.WriteFile(filepath.Join(bad, "x.rego"), []byte(unsafe), 0o644); err != nil {
		t.Fatal(err)
	}
	_, wantErr := New(ctx, Options{PolicyDirs: []string{bad}})
	if !errors.Is(wantErr, ErrCompile) {
		t.Fatalf("want a compile error for an unsafe variable, got %v", wantErr)
	}
	for range 3 {
		e, err := New(ctx, Options{Preloaded: Preload(), PolicyDirs: []string{good}})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := e.Rules().Get("has-policy"); !ok {
			t.Error("the user rule is missing")
		}
		if _, ok := e.Rules().Get("drop-net-raw"); !ok {
			t.Error("the built-in rules are missing")
		}
		_, err = New(ctx, Options{Preloaded: Preload(), PolicyDirs: []string{bad}})
		if err == nil || err.Error() != wantErr.Error() {
			t.Errorf("with Preload: %v\nwithout: %v", err, wantErr)
		}
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := wait(ctx, make(chan struct{})); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}
