package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// TestDeployManifestsAreValid sends every object of examples/deploy that the bare API
// server knows (all but cert-manager's) to it as a strict server-side dry run, in the
// namespace the manifests name, which enforces the restricted Pod Security Standard:
// no error, no unknown field, no warning.
func TestDeployManifestsAreValid(t *testing.T) {
	need(t)
	ctx := t.Context()
	files, err := filepath.Glob(repoFile("examples/deploy/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(s.admin)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(s.admin)
	if err != nil {
		t.Fatal(err)
	}
	skip := []string{"Kustomization", "Certificate", "Issuer"}
	checked := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for doc := range strings.SplitSeq(string(data), "\n---") {
			var obj unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if obj.Object == nil || obj.GetKind() == "" || slices.Contains(skip, obj.GetKind()) {
				continue
			}
			t.Run(obj.GetKind()+"/"+obj.GetName(), func(t *testing.T) {
				gvk := obj.GroupVersionKind()
				m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
				if err != nil {
					t.Fatalf("%s: %v", gvk, err)
				}
				opts := metav1.CreateOptions{FieldValidation: "Strict"}
				if obj.GetKind() == "Namespace" {
					// The real namespace: the others are created in it, dry run.
					if _, err := s.client.CoreV1().Namespaces().Get(ctx, obj.GetName(), metav1.GetOptions{}); err == nil {
						return
					}
				} else {
					opts.DryRun = dryRun
				}
				if obj.GetNamespace() == "" && obj.GetKind() != "Namespace" {
					// The suite registered its own ClusterRole and webhook under these names.
					obj.SetName(obj.GetName() + "-dry-run")
				}
				var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
				if ns := obj.GetNamespace(); ns != "" {
					ensureNamespace(t, ns)
					ri = dyn.Resource(m.Resource).Namespace(ns)
				}
				w, err := warningsFrom(func() error {
					_, err := ri.Create(ctx, &obj, opts)
					return err
				})
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				if len(w) > 0 {
					t.Errorf("%s: warnings %q", file, w)
				}
			})
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("checked %d objects; the manifests hold more", checked)
	}
}

// ensureNamespace creates ns from examples/deploy/namespace.yaml's labels if it is
// that namespace, bare otherwise, unless it exists.
func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); err == nil {
		return
	}
	var ns corev1.Namespace
	if err := readDoc(repoFile("examples/deploy/namespace.yaml"), "Namespace", &ns); err != nil || ns.Name != name {
		ns = corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	if _, err := s.client.CoreV1().Namespaces().Create(ctx, &ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
