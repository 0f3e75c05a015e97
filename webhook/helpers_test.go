package webhook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/wardsec/ward/pkg/config"
	"github.com/wardsec/ward/pkg/engine"
)

// fixture is a handler over a fresh inventory, with its own metrics registry.
type fixture struct {
	eng      *engine.Engine
	settings *config.Settings
	inv      *engine.Inventory
	metrics  *Metrics
	handler  *Handler
}

// newFixture builds a handler from a .ward.yaml text and extra policy directories.
func newFixture(t testing.TB, cfgYAML string, cluster Cluster, policyDirs ...string) *fixture {
	t.Helper()
	ctx := t.Context()
	path := ""
	if cfgYAML != "" {
		path = filepath.Join(t.TempDir(), ".ward.yaml")
		if err := os.WriteFile(path, []byte(cfgYAML), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ctx, engine.Options{PolicyDirs: append(cfg.Policies, policyDirs...)})
	if err != nil {
		t.Fatal(err)
	}
	settings, err := cfg.Resolve(eng.Rules(), config.Flags{})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := engine.NewInventory(nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := eng.Prepare(ctx, inv, settings.Engine())
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(prometheus.NewRegistry(), eng.Rules().IDs())
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(HandlerOptions{Evaluator: ev, Settings: settings, Metrics: m, Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{eng: eng, settings: settings, inv: inv, metrics: m, handler: h}
}

// put adds a YAML object to the inventory, as the cache would.
func (f *fixture) put(t testing.TB, y string) {
	t.Helper()
	obj := object(t, y)
	r := engine.NewReview(obj, "default", false)
	apiVersion, _ := obj["apiVersion"].(string)
	if err := f.inv.Put(t.Context(), engine.InventoryItem{
		Namespace: r.Namespace, APIVersion: apiVersion, Kind: r.Kind.Kind, Name: r.Name, Object: obj,
	}); err != nil {
		t.Fatal(err)
	}
}

// object decodes YAML into the JSON values the webhook sees.
func object(t testing.TB, y string) map[string]any {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeObject(j)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// review builds an AdmissionRequest for op on obj (CREATE, UPDATE) or old (DELETE),
// given as YAML; "" for none.
func review(t testing.TB, op admissionv1.Operation, obj, old, user string) admission.Request {
	t.Helper()
	var subject map[string]any
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       types.UID("uid-1"),
		Operation: op,
		UserInfo:  authenticationv1.UserInfo{Username: user, Groups: []string{"system:authenticated"}},
	}}
	if user == "" {
		req.UserInfo.Username = "alice"
	}
	if obj != "" {
		subject = object(t, obj)
		req.Object = runtime.RawExtension{Raw: mustJSON(t, subject)}
	}
	if old != "" {
		o := object(t, old)
		if subject == nil {
			subject = o
		}
		req.OldObject = runtime.RawExtension{Raw: mustJSON(t, o)}
	}
	if subject != nil {
		r := engine.NewReview(subject, "default", false)
		req.Kind = metav1.GroupVersionKind{Group: r.Kind.Group, Version: r.Kind.Version, Kind: r.Kind.Kind}
		req.Namespace = r.Namespace
		req.Name = r.Name
	}
	return req
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeCluster is a Cluster whose sync and terminating namespaces a test sets.
type fakeCluster struct {
	synced      chan struct{}
	mu          sync.Mutex
	terminating map[string]bool
}

func newFakeCluster(synced bool) *fakeCluster {
	c := &fakeCluster{synced: make(chan struct{}), terminating: map[string]bool{}}
	if synced {
		close(c.synced)
	}
	return c
}

func (c *fakeCluster) Synced() <-chan struct{} { return c.synced }

func (c *fakeCluster) Terminating(ns string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.terminating[ns]
}

func (c *fakeCluster) setTerminating(ns string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.terminating[ns] = true
}

func writeFile(dir, name, text string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600)
}
