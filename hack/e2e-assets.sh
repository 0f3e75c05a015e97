#!/usr/bin/env bash
# hack/e2e-assets.sh — provide the control-plane binaries that
# controller-runtime's envtest needs (KUBEBUILDER_ASSETS): etcd,
# kube-apiserver and kubectl.
#
# Nothing can be downloaded from release sites here, so the binaries are
# built from source fetched through the Go module proxy, each in a throwaway
# scratch module (never inside this repository; /work/main/go.mod is never
# touched). The result is cached per version pair:
#
#   ${WARD_E2E_CACHE:-$HOME/.cache/ward}/k8s-<k8s>-etcd-<etcd>/
#
# Usage:
#   KUBEBUILDER_ASSETS=$(hack/e2e-assets.sh)
#
# stdout carries ONLY the asset directory (on success); progress goes to
# stderr. A warm cache returns immediately. A cold build takes ~15-20 min on
# 2 cores; it is built in a temporary directory next to the cache and renamed
# into place, so an interrupted build never leaves a half-filled cache, and a
# flock serialises concurrent invocations.
#
# Environment:
#   WARD_E2E_CACHE          cache root (default $HOME/.cache/ward)
#   WARD_E2E_BUILD_KUBECTL  1 = build kubectl from k8s.io/kubernetes too,
#                           instead of linking the kubectl found on PATH
set -euo pipefail

# ---- pinned versions -------------------------------------------------------
K8S_VERSION=v1.37.2    # module k8s.io/kubernetes     -> kube-apiserver (+ kubectl fallback)
ETCD_VERSION=v3.6.16   # module go.etcd.io/etcd/server/v3 (package main) -> etcd
# ---------------------------------------------------------------------------

K8S_MINOR=${K8S_VERSION#v1.}
K8S_MINOR=${K8S_MINOR%%.*}
STAGING_VERSION=v0.${K8S_VERSION#v1.}   # k8s.io/api etc. are tagged v0.<minor>.<patch>

CACHE_ROOT=${WARD_E2E_CACHE:-$HOME/.cache/ward}
KEY=k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}
ASSETS=$CACHE_ROOT/$KEY
BINS=(etcd kube-apiserver kubectl)

log() { printf 'e2e-assets: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# bin_ok DIR NAME: the binary exists and runs.
bin_ok() {
	local f=$1/$2
	[[ -x $f ]] || return 1
	case $2 in
	kubectl) "$f" version --client >/dev/null 2>&1 ;;
	*) "$f" --version >/dev/null 2>&1 ;;
	esac
}

assets_ok() {
	local b
	for b in "${BINS[@]}"; do
		bin_ok "$1" "$b" || return 1
	done
}

# ---- fast path: warm cache, no lock, no go -----------------------------------
if assets_ok "$ASSETS"; then
	printf '%s\n' "$ASSETS"
	exit 0
fi

# ---- slow path ---------------------------------------------------------------
command -v go >/dev/null 2>&1 || die "go not found on PATH (need Go >= 1.26)"
mkdir -p "$CACHE_ROOT"

if command -v flock >/dev/null 2>&1; then
	exec 9>"$CACHE_ROOT/.$KEY.lock"
	if ! flock -n 9; then
		log "another invocation is building $KEY; waiting for it..."
		flock 9
	fi
	# It may have finished the job while we waited.
	if assets_ok "$ASSETS"; then
		printf '%s\n' "$ASSETS"
		exit 0
	fi
else
	log "warning: flock not found; concurrent invocations are not serialised"
fi

# Leftovers of builds that were killed outright (we hold the lock, so no one
# else is building this key right now).
rm -rf "$CACHE_ROOT"/.build-"$KEY".* 2>/dev/null || true

WORK=$(mktemp -d "$CACHE_ROOT/.build-$KEY.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
OUT=$WORK/$KEY
mkdir -p "$OUT"

# Go settings for the scratch modules only. -mod=mod lets go build fill in
# go.mod/go.sum of the scratch module; any other -mod= from the caller
# (e.g. -mod=readonly/vendor in CI) is dropped. GOWORK=off keeps a go.work
# in some parent directory out of it; CGO_ENABLED=0 matches the upstream
# static server builds and needs no C toolchain.
goflags=()
read -r -a _flags <<<"${GOFLAGS:-}" || true
for f in "${_flags[@]+"${_flags[@]}"}"; do
	[[ $f == -mod=* ]] || goflags+=("$f")
done
goflags+=(-mod=mod)
export GOFLAGS="${goflags[*]}" GOWORK=off CGO_ENABLED=0

NICE=()
command -v nice >/dev/null 2>&1 && NICE=(nice -n 10)

SECONDS=0
step_start=0
step() {
	log "[$((SECONDS / 60))m$((SECONDS % 60))s] $*"
	step_start=$SECONDS
}

# gomod_of MODULE@VERSION: path of that module's go.mod in the module cache.
gomod_of() {
	local p
	p=$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
	[[ -n $p && -f $p ]] || die "could not download $1 through the module proxy"
	printf '%s\n' "$p"
}

# go_line GOMOD: the 'go' directive of a go.mod (used for the scratch module).
go_line() { awk '$1 == "go" { print $2; exit }' "$1"; }

# ---- kube-apiserver (and, if needed, kubectl) --------------------------------
K8S_MOD=$WORK/k8s
k8s_module() {
	[[ -f $K8S_MOD/go.mod ]] && return 0
	step "resolving k8s.io/kubernetes@$K8S_VERSION"
	mkdir -p "$K8S_MOD"
	local gomod goversion
	gomod=$(gomod_of "k8s.io/kubernetes@$K8S_VERSION")
	goversion=$(go_line "$gomod")
	# k8s.io/kubernetes requires its staging modules (k8s.io/api, ...) at
	# v0.0.0 and replaces them with ./staging/...; replace directives of a
	# dependency are ignored, so redirect each one to its published tag.
	local staging
	staging=$(awk '
		$1 == "require" { $1 = ""; $0 = $0 }
		$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }
	' "$gomod" | sort -u)
	[[ -n $staging ]] || die "found no k8s.io/* v0.0.0 requirements in $gomod"
	printf 'module ward.local/e2e-assets/k8s\n\ngo %s\n' "${goversion:-1.26.0}" >"$K8S_MOD/go.mod"
	local args=(-require="k8s.io/kubernetes@$K8S_VERSION") m
	for m in $staging; do
		args+=(-replace="$m=$m@$STAGING_VERSION")
	done
	(cd "$K8S_MOD" && go mod edit "${args[@]}")
	log "  $(wc -w <<<"$staging") staging modules -> $STAGING_VERSION"
}

k8s_build() { # k8s_build CMD
	k8s_module
	step "building $1 (k8s.io/kubernetes@$K8S_VERSION)"
	local v=k8s.io/component-base/version c=k8s.io/client-go/pkg/version
	local ld="-s -w"
	local pkg
	for pkg in $v $c; do
		ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR"
		ld+=" -X $pkg.gitTreeState=clean"
	done
	(cd "$K8S_MOD" && "${NICE[@]}" go build -trimpath \
		-tags selinux,notest,grpcnotrace \
		-ldflags "$ld" \
		-o "$OUT/$1" "k8s.io/kubernetes/cmd/$1")
	log "  $1 built in $((SECONDS - step_start))s"
}

# ---- etcd ----------------------------------------------------------------------
etcd_build() {
	step "resolving go.etcd.io/etcd/server/v3@$ETCD_VERSION"
	local mod=$WORK/etcd gomod goversion
	mkdir -p "$mod"
	gomod=$(gomod_of "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
	goversion=$(go_line "$gomod")
	printf 'module ward.local/e2e-assets/etcd\n\ngo %s\n' "${goversion:-1.26.0}" >"$mod/go.mod"
	# server/go.mod replaces its sibling modules (api, client, pkg) with
	# ../<dir>; pin each of them to the same release tag.
	local args=(-require="go.etcd.io/etcd/server/v3@$ETCD_VERSION") m
	for m in $(awk '$2 == "=>" && $3 ~ /^\.\.\// { print $1 }
		$1 == "replace" && $3 == "=>" && $4 ~ /^\.\.\// { print $2 }' "$gomod" | sort -u); do
		args+=(-require="$m@$ETCD_VERSION")
	done
	(cd "$mod" && go mod edit "${args[@]}")
	step "building etcd (go.etcd.io/etcd/server/v3@$ETCD_VERSION)"
	(cd "$mod" && "${NICE[@]}" go build -trimpath \
		-ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION-gomodproxy" \
		-o "$OUT/etcd" go.etcd.io/etcd/server/v3)
	log "  etcd built in $((SECONDS - step_start))s"
}

kubectl_provide() {
	local sys=""
	if [[ ${WARD_E2E_BUILD_KUBECTL:-0} != 1 ]] && sys=$(command -v kubectl 2>/dev/null); then
		sys=$(readlink -f "$sys")
		case $sys in "$CACHE_ROOT"/*) sys="" ;; esac
		if [[ -n $sys ]] && "$sys" version --client >/dev/null 2>&1; then
			step "kubectl: linking $sys"
			ln -s "$sys" "$OUT/kubectl"
			return 0
		fi
	fi
	k8s_build kubectl
}

{
	log "building envtest assets $KEY (cold; ~15-20 min on 2 cores) into $ASSETS"
	etcd_build
	k8s_build kube-apiserver
	kubectl_provide

	step "verifying"
	for b in "${BINS[@]}"; do
		bin_ok "$OUT" "$b" || die "$b does not run"
	done
	# (capture first: grep -q closing the pipe early would trip pipefail)
	v=$("$OUT/kube-apiserver" --version 2>&1)
	[[ $v == *"$K8S_VERSION"* ]] || die "kube-apiserver --version reports '$v', want $K8S_VERSION"
	log "  kube-apiserver: $v"
	v=$("$OUT/etcd" --version 2>&1)
	[[ $v == *"${ETCD_VERSION#v}"* ]] || die "etcd --version reports '$v', want ${ETCD_VERSION#v}"
	log "  etcd: $(head -n1 <<<"$v")"

	# Atomic install: swap any stale directory out, rename the new one in.
	if [[ -e $ASSETS || -L $ASSETS ]]; then
		mv -T "$ASSETS" "$WORK/stale"
	fi
	mv -T "$OUT" "$ASSETS"
	log "done in $((SECONDS / 60))m$((SECONDS % 60))s: $ASSETS"
} >&2

printf '%s\n' "$ASSETS"
