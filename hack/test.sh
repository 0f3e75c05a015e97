#!/usr/bin/env bash
# make test: the whole suite, lint included. The e2e assets (etcd, kube-apiserver) build in the
# background while the unit tests run, so a cold machine pays the build only once and
# overlapped; a warm one finds them in ~/.cache/ward at once.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log" "$log.bench"; [ -n "${assets_pid:-}" ] && kill "$assets_pid" 2>/dev/null || true' EXIT

if [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
  hack/e2e-assets.sh >"$log.out" 2>"$log" &
  assets_pid=$!
fi

echo "== unit, Rego, fixture, golden, CLI and integration tests (-race)"
status=0
go test -race -count=1 $(go list ./... | grep -v /test/e2e) || status=$?

# The Go benchmarks once each, so that one that no longer runs fails here and not in the
# next make bench-go; they check what they measure. Their figures come from make bench-go.
echo "== Go benchmarks, one iteration each"
if ! go test -count=1 -run '^$' -bench . -benchtime 1x ./pkg/... ./webhook/... >"$log.bench" 2>&1; then
  cat "$log.bench"
  status=1
fi
rm -f "$log.bench"

# Lint while the e2e assets may still be building: golangci-lint and opa check --strict,
# installed at pinned versions into ./bin by the Makefile when missing.
echo "== lint (golangci-lint, opa check --strict)"
make lint || status=$?

if [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
  echo "== waiting for the e2e assets (etcd, kube-apiserver)"
  if ! wait "$assets_pid"; then
    cat "$log" >&2
    echo "hack/e2e-assets.sh failed" >&2
    exit 1
  fi
  assets_pid=
  KUBEBUILDER_ASSETS=$(cat "$log.out")
  export KUBEBUILDER_ASSETS
  rm -f "$log.out"
fi

echo "== end-to-end tests against a real kube-apiserver + etcd ($KUBEBUILDER_ASSETS)"
go test -race -count=1 -v ./test/e2e/... || status=$?
exit $status
