package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/wardsec/ward/pkg/engine"
)

// watchedKind is one kind the cache watches for the inventory.
type watchedKind struct {
	gvk schema.GroupVersionKind
	// full keeps whole objects; otherwise only metadata is listed and watched.
	full bool
}

// watchedKinds are what the rules read from data.inventory: NetworkPolicies whole
// (default-deny reads their spec), Namespaces whole (their deletion state), and the
// pod-bearing kinds as metadata only, since the rules rely only on their existence and
// a cluster may hold many thousands of them. examples/deploy's ClusterRole grants list
// and watch on exactly these.
var watchedKinds = []watchedKind{
	{gvk: networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), full: true},
	{gvk: corev1.SchemeGroupVersion.WithKind("Namespace"), full: true},
	{gvk: corev1.SchemeGroupVersion.WithKind("Pod")},
	{gvk: corev1.SchemeGroupVersion.WithKind("ReplicationController")},
	{gvk: corev1.SchemeGroupVersion.WithKind("PodTemplate")},
	{gvk: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}},
	{gvk: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}},
	{gvk: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}},
	{gvk: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}},
	{gvk: schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}},
	{gvk: schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}},
}

// lastApplied is kubectl's copy of the whole object in an annotation; the cache drops it.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// CacheTransform trims objects before the cache stores them: managed fields and
// kubectl's last-applied copy always, every annotation of metadata-only objects. Set it
// as the cache's DefaultTransform.
func CacheTransform(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil //nolint:nilerr // tombstones and other non-objects pass unchanged
	}
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	if _, ok := in.(*metav1.PartialObjectMetadata); ok {
		obj.SetAnnotations(nil)
	} else if a := obj.GetAnnotations(); a[lastApplied] != "" {
		delete(a, lastApplied)
		obj.SetAnnotations(a)
	}
	return in, nil
}

// ClusterInventory keeps an engine.Inventory in step with a controller-runtime cache,
// and knows which namespaces are terminating. It is a manager.Runnable: Start waits
// for the initial lists and then marks the inventory synced.
type ClusterInventory struct {
	ctx    context.Context
	inv    *engine.Inventory
	log    logr.Logger
	regs   []toolscache.ResourceEventHandlerRegistration
	synced chan struct{}

	mu          sync.RWMutex
	terminating map[string]bool
}

// NewClusterInventory registers event handlers on c's informers for every watched kind;
// they write to inv from the moment the cache starts. ctx bounds the writes.
func NewClusterInventory(ctx context.Context, c cache.Informers, inv *engine.Inventory, log logr.Logger) (*ClusterInventory, error) {
	ci := &ClusterInventory{ctx: ctx, inv: inv, log: log, synced: make(chan struct{}), terminating: map[string]bool{}}
	for _, w := range watchedKinds {
		informer, err := c.GetInformer(ctx, newObject(w), cache.BlockUntilSynced(false))
		if err != nil {
			return nil, fmt.Errorf("inventory: informer for %s: %w", w.gvk, err)
		}
		reg, err := informer.AddEventHandler(ci.handlerFor(w))
		if err != nil {
			return nil, fmt.Errorf("inventory: event handler for %s: %w", w.gvk, err)
		}
		ci.regs = append(ci.regs, reg)
	}
	return ci, nil
}

func newObject(w watchedKind) client.Object {
	if !w.full {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(w.gvk)
		return m
	}
	switch w.gvk.Kind {
	case "Namespace":
		return &corev1.Namespace{}
	default:
		return &networkingv1.NetworkPolicy{}
	}
}

// Start waits until every handler has received its informer's initial list, then
// marks the inventory synced. It returns when ctx is done.
func (ci *ClusterInventory) Start(ctx context.Context) error {
	fns := make([]toolscache.InformerSynced, len(ci.regs))
	for i, r := range ci.regs {
		fns[i] = r.HasSynced
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), fns...) {
		return nil // stopping before the first sync is no error
	}
	ci.log.Info("inventory synced", keyCount, len(ci.regs))
	close(ci.synced)
	<-ctx.Done()
	return nil
}

// NeedLeaderElection is false: every replica keeps its own inventory.
func (*ClusterInventory) NeedLeaderElection() bool { return false }

// Synced is closed once the inventory holds the initial lists.
func (ci *ClusterInventory) Synced() <-chan struct{} { return ci.synced }

// ReadyCheck is a healthz.Checker: ready once the inventory has synced.
func (ci *ClusterInventory) ReadyCheck(_ *http.Request) error {
	select {
	case <-ci.synced:
		return nil
	default:
		return ErrNotSynced
	}
}

// Terminating reports whether namespace ns has a deletionTimestamp or phase Terminating.
func (ci *ClusterInventory) Terminating(ns string) bool {
	ci.mu.RLock()
	defer ci.mu.RUnlock()
	return ci.terminating[ns]
}

func (ci *ClusterInventory) handlerFor(w watchedKind) toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { ci.put(w, obj) },
		UpdateFunc: func(_, obj any) { ci.put(w, obj) },
		DeleteFunc: func(obj any) { ci.remove(w, obj) },
	}
}

func (ci *ClusterInventory) put(w watchedKind, obj any) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		ci.log.Error(err, "inventory: unexpected object", keyGVK, w.gvk.String())
		return
	}
	if ns, ok := obj.(*corev1.Namespace); ok {
		ci.setTerminating(ns.Name, ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating)
	}
	value, err := inventoryValue(w, obj, acc)
	if err != nil {
		ci.log.Error(err, "inventory: convert object", keyGVK, w.gvk.String())
		return
	}
	item := engine.InventoryItem{
		Namespace: acc.GetNamespace(), APIVersion: w.gvk.GroupVersion().String(), Kind: w.gvk.Kind,
		Name: acc.GetName(), Object: value,
	}
	if err := ci.inv.Put(ci.ctx, item); err != nil {
		ci.log.Error(err, "inventory: put object", keyGVK, w.gvk.String())
	}
}

func (ci *ClusterInventory) remove(w watchedKind, obj any) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		ci.log.Error(err, "inventory: unexpected object", keyGVK, w.gvk.String())
		return
	}
	if w.gvk.Kind == "Namespace" && w.gvk.Group == "" {
		ci.setTerminating(acc.GetName(), false)
	}
	if err := ci.inv.Delete(ci.ctx, acc.GetNamespace(), w.gvk.GroupVersion().String(), w.gvk.Kind, acc.GetName()); err != nil {
		ci.log.Error(err, "inventory: delete object", keyGVK, w.gvk.String())
	}
}

func (ci *ClusterInventory) setTerminating(ns string, on bool) {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	if on {
		ci.terminating[ns] = true
	} else {
		delete(ci.terminating, ns)
	}
}

// inventoryValue is the object as Rego sees it in data.inventory: whole objects as the
// JSON the API server serves (json.Number numbers, as ward lint reads files), metadata-only
// objects as apiVersion, kind and the metadata the rules may use.
func inventoryValue(w watchedKind, obj any, acc metav1.Object) (map[string]any, error) {
	apiVersion := w.gvk.GroupVersion().String()
	if !w.full {
		md := map[string]any{"name": acc.GetName(), "uid": string(acc.GetUID())}
		if ns := acc.GetNamespace(); ns != "" {
			md["namespace"] = ns
		}
		if labels := acc.GetLabels(); len(labels) > 0 {
			l := make(map[string]any, len(labels))
			for k, v := range labels {
				l[k] = v
			}
			md["labels"] = l
		}
		if ts := acc.GetDeletionTimestamp(); ts != nil {
			md["deletionTimestamp"] = ts.UTC().Format("2006-01-02T15:04:05Z")
		}
		return map[string]any{"apiVersion": apiVersion, "kind": w.gvk.Kind, "metadata": md}, nil
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s/%s: %w", w.gvk.Kind, acc.GetNamespace(), acc.GetName(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode %s %s/%s: %w", w.gvk.Kind, acc.GetNamespace(), acc.GetName(), err)
	}
	// Typed objects from the cache carry no TypeMeta; the rules need both.
	m["apiVersion"] = apiVersion
	m["kind"] = w.gvk.Kind
	return m, nil
}
