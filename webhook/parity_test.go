package webhook

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/wardsec/ward/pkg/engine"
	"github.com/wardsec/ward/pkg/lint"
	"github.com/wardsec/ward/pkg/manifest"
)

// TestSameVerdictAsLint runs each manifest set through ward lint's pipeline and, object
// by object, through the admission handler (every rule at enforcement deny, the
// inventory holding the same set), and demands the same findings: rule ids, messages and
// paths. The fixtures keep one pod-bearing object per namespace that lacks a deny-all
// policy, since ward lint reports such a namespace once and the webhook judges each
// request alone.
func TestSameVerdictAsLint(t *testing.T) {
	files, err := filepath.Glob("testdata/parity/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no parity fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f := newFixture(t, "rules: {default-deny: {enforcement: deny}}", nil)
			res, err := lint.Run(t.Context(), f.eng, lint.Options{Paths: []string{file}, Settings: f.settings})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 {
				t.Fatalf("lint errors: %+v", res.Errors)
			}
			var offline []string
			for _, fd := range res.Findings {
				offline = append(offline, fmt.Sprintf("%s %s/%s: %s", fd.Object.Kind, fd.Object.Namespace, fd.Object.Name,
					formatFinding(fd.Rule, fd.Message, fd.Path)))
			}

			set := manifest.Read(t.Context(), []string{file}, manifest.Options{})
			for _, o := range set.Objects {
				r := engine.NewReview(o.Value, lint.DefaultNamespace, o.ARM)
				if err := f.inv.Put(t.Context(), engine.InventoryItem{
					Namespace: r.Namespace, APIVersion: o.APIVersion(), Kind: o.Kind(), Name: r.Name, Object: o.Value,
				}); err != nil {
					t.Fatal(err)
				}
			}
			var admitted []string
			for _, o := range set.Objects {
				r := engine.NewReview(o.Value, lint.DefaultNamespace, o.ARM)
				req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
					UID:       types.UID("parity"),
					Kind:      metav1.GroupVersionKind{Group: r.Kind.Group, Version: r.Kind.Version, Kind: r.Kind.Kind},
					Namespace: r.Namespace, Name: r.Name, Operation: admissionv1.Create,
					Object: runtime.RawExtension{Raw: mustJSON(t, o.Value)},
				}}
				resp := f.handler.Handle(t.Context(), req)
				if len(resp.Warnings) > 0 {
					t.Errorf("%s %s: warnings with every rule at deny: %q", o.Kind(), r.Name, resp.Warnings)
				}
				if resp.Allowed {
					continue
				}
				if resp.Result.Code != 403 {
					t.Fatalf("%s %s: code %d: %s", o.Kind(), r.Name, resp.Result.Code, resp.Result.Message)
				}
				for line := range strings.SplitSeq(resp.Result.Message, "\n") {
					admitted = append(admitted, fmt.Sprintf("%s %s/%s: %s", o.Kind(), r.Namespace, r.Name, line))
				}
			}
			slices.Sort(offline)
			slices.Sort(admitted)
			if len(offline) == 0 {
				t.Fatal("fixture has no findings; it proves nothing")
			}
			if diff := cmp.Diff(offline, admitted); diff != "" {
				t.Errorf("ward lint (-) and the webhook (+) disagree:\n%s", diff)
			}
		})
	}
}

// formatFinding renders a lint finding the way FormatViolation renders a violation.
func formatFinding(rule, msg, path string) string {
	if path == "" {
		return fmt.Sprintf("[%s] %s", rule, msg)
	}
	return fmt.Sprintf("[%s] %s (at %s)", rule, msg, path)
}
