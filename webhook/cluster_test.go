package webhook

import (
	"errors"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
)

func watched(t *testing.T, kind string) watchedKind {
	t.Helper()
	for _, w := range watchedKinds {
		if w.gvk.Kind == kind {
			return w
		}
	}
	t.Fatalf("%s is not watched", kind)
	return watchedKind{}
}

// TestClusterInventoryFeedsTheRules drives the cache event handlers by hand and checks
// that default-deny reads what they write: metadata-only workloads, whole policies, and
// namespaces that terminate.
func TestClusterInventoryFeedsTheRules(t *testing.T) {
	f := newFixture(t, "rules: {default-deny: {enforcement: deny}}", nil)
	ci := &ClusterInventory{ctx: t.Context(), inv: f.inv, log: logr.Discard(), synced: make(chan struct{}), terminating: map[string]bool{}}
	h := f.handler
	h.cluster = ci
	if err := ci.ReadyCheck(nil); !errors.Is(err, ErrNotSynced) {
		t.Errorf("ready before the inventory synced: %v", err)
	}
	close(ci.synced)
	if err := ci.ReadyCheck(nil); err != nil {
		t.Errorf("not ready once synced: %v", err)
	}

	policy := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-all", Namespace: "shop", Annotations: map[string]string{lastApplied: "{}"}},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
	}
	deployment := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1"}}
	deployment.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}

	deleteDenyAll := func() bool {
		return h.Handle(t.Context(), review(t, admissionv1.Delete, "", denyAll, "")).Allowed
	}
	createGood := func() bool {
		return h.Handle(t.Context(), review(t, admissionv1.Create, goodDeployment, "", "")).Allowed
	}

	if createGood() {
		t.Error("workload admitted in a namespace without deny-all")
	}
	policyHandler := ci.handlerFor(watched(t, "NetworkPolicy"))
	policyHandler.OnAdd(policy, true)
	if !createGood() {
		t.Error("workload denied once the deny-all policy is in the inventory")
	}
	if !deleteDenyAll() {
		t.Error("deleting deny-all denied while no workload is known")
	}
	ci.handlerFor(watched(t, "Deployment")).OnAdd(deployment, true)
	if deleteDenyAll() {
		t.Error("deleting the last deny-all allowed while a workload remains")
	}
	nsHandler := ci.handlerFor(watched(t, "Namespace"))
	nsHandler.OnAdd(namespace, true)
	terminating := namespace.DeepCopy()
	now := metav1.Now()
	terminating.DeletionTimestamp = &now
	terminating.Status.Phase = corev1.NamespaceTerminating
	nsHandler.OnUpdate(namespace, terminating)
	if !ci.Terminating("shop") || !deleteDenyAll() {
		t.Error("deleting deny-all denied in a terminating namespace")
	}
	nsHandler.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "shop", Obj: terminating})
	if ci.Terminating("shop") {
		t.Error("a deleted namespace is still terminating")
	}
	ci.handlerFor(watched(t, "Deployment")).OnDelete(deployment)
	if !deleteDenyAll() {
		t.Error("deleting deny-all denied after the last workload went")
	}
	policyHandler.OnDelete(policy)
	if createGood() {
		t.Error("workload admitted after the deny-all policy was deleted")
	}
}

func TestInventoryValue(t *testing.T) {
	policy := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop"},
		Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{
			Ports: []networkingv1.NetworkPolicyPort{{Port: nil}},
		}}},
	}
	got, err := inventoryValue(watched(t, "NetworkPolicy"), policy, policy)
	if err != nil {
		t.Fatal(err)
	}
	if got["apiVersion"] != "networking.k8s.io/v1" || got["kind"] != "NetworkPolicy" {
		t.Errorf("whole object lacks its type: %v", got)
	}
	pod := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "p", Namespace: "shop", Labels: map[string]string{"app": "x"},
		Annotations: map[string]string{"secret-ish": "never copied"},
	}}
	got, err = inventoryValue(watched(t, "Pod"), pod, pod)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := got["metadata"].(map[string]any)
	if got["apiVersion"] != "v1" || got["kind"] != "Pod" || md["name"] != "p" || md["namespace"] != "shop" {
		t.Errorf("metadata-only object: %v", got)
	}
	if _, ok := md["annotations"]; ok {
		t.Errorf("annotations copied into the inventory: %v", md)
	}
}

func TestCacheTransform(t *testing.T) {
	pod := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "p", Annotations: map[string]string{"a": "b"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	if _, err := CacheTransform(pod); err != nil {
		t.Fatal(err)
	}
	if pod.Annotations != nil || pod.ManagedFields != nil {
		t.Errorf("metadata-only object kept %v %v", pod.Annotations, pod.ManagedFields)
	}
	policy := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{
		Name: "p", Annotations: map[string]string{lastApplied: "{...}", "team": "shop"},
	}}
	if _, err := CacheTransform(policy); err != nil {
		t.Fatal(err)
	}
	if _, ok := policy.Annotations[lastApplied]; ok || policy.Annotations["team"] != "shop" {
		t.Errorf("annotations after transform: %v", policy.Annotations)
	}
	if out, err := CacheTransform("not an object"); err != nil || out != "not an object" {
		t.Errorf("non-object: %v %v", out, err)
	}
}
