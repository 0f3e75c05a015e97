package gen

import (
	"encoding/json"
	"fmt"
)

// DeploymentReview is the body of the AdmissionReview the API server would send for
// the CREATE of a Deployment: object is its JSON, namespace already resolved, i makes
// the uid. The webhook's Go benchmarks and loadgen send these same bodies.
func DeploymentReview(i int, namespace, name string, object []byte) ([]byte, error) {
	return json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1",
		"kind":       "AdmissionReview",
		"request": map[string]any{
			"uid":       fmt.Sprintf("00000000-0000-0000-0000-%012d", i),
			"kind":      map[string]any{"group": "apps", "version": "v1", "kind": "Deployment"},
			"resource":  map[string]any{"group": "apps", "version": "v1", "resource": "deployments"},
			"namespace": namespace,
			"name":      name,
			"operation": "CREATE",
			"userInfo":  map[string]any{"username": "bench", "groups": []string{"system:authenticated"}},
			"object":    json.RawMessage(object),
		},
	})
}
