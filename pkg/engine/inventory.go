package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/wardsec/ward/internal/parallel"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// Inventory is data.inventory: the other objects a cross-object rule (default-deny) may
// read. Offline it holds every object of the manifest set; in the cluster, what the
// webhook's cache holds. It is safe for concurrent use: reads during evaluation, writes
// from the webhook's cache.
type Inventory struct {
	store storage.Store
	mu    sync.Mutex // serialises writers
	// rw keeps writes out while reviews are evaluated, and gen counts the writes, so
	// that results an Evaluator memoizes belong to one state of the inventory.
	rw  sync.RWMutex
	gen uint64
}

// InventoryItem is one object of an inventory. Namespace is resolved ("" for
// cluster-scoped objects).
type InventoryItem struct {
	Namespace, APIVersion, Kind, Name string
	Object                            map[string]any
	// Value is Object converted by NewValue, when the caller has it (and shares it with
	// the object's review); Object is then not read.
	Value *Value
}

// NewInventory builds an inventory from items at once, the offline path: one
// conversion to OPA values per object that has no Value yet, on every core, no
// transactions.
func NewInventory(items []InventoryItem) (*Inventory, error) {
	values := make([]ast.Value, len(items))
	errs := make([]error, len(items))
	parallel.For(len(items), func(i int) {
		if items[i].Value != nil {
			values[i] = items[i].Value.value
			return
		}
		if values[i], errs[i] = ast.InterfaceToValue(items[i].Object); errs[i] == nil {
			// Evaluations share these values, as data and as input: see freeze.
			freeze(values[i])
		}
	})
	namespaced := ast.NewObject()
	cluster := ast.NewObject()
	for i, it := range items {
		if errs[i] != nil {
			return nil, fmt.Errorf("inventory %s %s/%s: %w", it.Kind, it.Namespace, it.Name, errs[i])
		}
		root := cluster
		if it.Namespace != "" {
			root = child(namespaced, it.Namespace)
		}
		child(child(root, it.APIVersion), it.Kind).Insert(ast.StringTerm(it.Name), ast.NewTerm(values[i]))
	}
	data := ast.NewObject(ast.Item(ast.StringTerm("inventory"), ast.NewTerm(ast.NewObject(
		ast.Item(ast.StringTerm("namespace"), ast.NewTerm(namespaced)),
		ast.Item(ast.StringTerm("cluster"), ast.NewTerm(cluster)),
	))))
	// data, inventory, namespace|cluster, namespace, apiVersion, kind: the objects
	// below are frozen already.
	freezeLevels(data, 6)
	return &Inventory{store: inmem.NewFromASTObject(data)}, nil
}

// child returns obj[key], creating an empty object there if needed.
func child(obj ast.Object, key string) ast.Object {
	k := ast.StringTerm(key)
	if t := obj.Get(k); t != nil {
		if o, ok := t.Value.(ast.Object); ok {
			return o
		}
	}
	o := ast.NewObject()
	obj.Insert(k, ast.NewTerm(o))
	return o
}

func itemPath(namespace, apiVersion, kind, name string) storage.Path {
	if namespace == "" {
		return storage.Path{"inventory", "cluster", apiVersion, kind, name}
	}
	return storage.Path{"inventory", "namespace", namespace, apiVersion, kind, name}
}

// Put adds or replaces one object.
func (inv *Inventory) Put(ctx context.Context, it InventoryItem) error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.rw.Lock()
	defer inv.rw.Unlock()
	inv.gen++
	p := itemPath(it.Namespace, it.APIVersion, it.Kind, it.Name)
	return storage.Txn(ctx, inv.store, storage.WriteParams, func(txn storage.Transaction) error {
		if err := storage.MakeDir(ctx, inv.store, txn, p[:len(p)-1]); err != nil {
			return fmt.Errorf("inventory: %w", err)
		}
		return inv.store.Write(ctx, txn, storage.AddOp, p, it.Object)
	})
}

// Delete removes one object; removing an absent object is not an error.
func (inv *Inventory) Delete(ctx context.Context, namespace, apiVersion, kind, name string) error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.rw.Lock()
	defer inv.rw.Unlock()
	inv.gen++
	p := itemPath(namespace, apiVersion, kind, name)
	err := storage.Txn(ctx, inv.store, storage.WriteParams, func(txn storage.Transaction) error {
		return inv.store.Write(ctx, txn, storage.RemoveOp, p, nil)
	})
	if storage.IsNotFound(err) {
		return nil
	}
	var se *storage.Error
	if errors.As(err, &se) && se.Code == storage.NotFoundErr {
		return nil
	}
	return err
}
