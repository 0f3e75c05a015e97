// Package e2e is ward's end-to-end suite: a real etcd and kube-apiserver started by
// controller-runtime's envtest (binaries from KUBEBUILDER_ASSETS, built by
// hack/e2e-assets.sh), the real ward binary built from this module and run as
// `ward serve` with a generated CA, registered through the shipped
// ValidatingWebhookConfiguration (examples/deploy) turned into a URL webhook, and driven
// with client-go. No mocks: the verdicts are the API server's.
//
// Run it with `make test-e2e`, or KUBEBUILDER_ASSETS=$(hack/e2e-assets.sh) go test
// ./test/e2e/. Without KUBEBUILDER_ASSETS the suite skips, except under CI=true, where
// it fails: CI must never pass without having run it.
package e2e
