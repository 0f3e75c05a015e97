// Package webhook is ward's validating admission webhook: an untyped admission.Handler
// over pkg/engine, the controller-runtime manager that serves it (TLS with reloaded
// certificates, metrics, health probes), and the cluster inventory that cross-object
// rules such as default-deny read as data.inventory.
//
// The webhook holds no policy logic. A request is decoded into the same JSON values
// ward lint builds from a file (maps, slices, strings, bools, json.Number), judged by
// one engine.Evaluator prepared at start over a live engine.Inventory, and the findings
// are mapped to an AdmissionResponse by each rule's enforcement: deny findings deny the
// request with every message listed, warn findings come back as admission warnings,
// dryrun findings are only logged and counted.
//
// Endpoint is the HTTP side: it reads and decodes each AdmissionReview once, bounds
// the reviews in flight (beyond the bound it answers HTTP 429 at once, and the API
// server applies the webhook's failurePolicy), and writes the answer.
package webhook
