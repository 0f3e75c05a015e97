#!/usr/bin/env bash
# hack/fuzz.sh runs every Go fuzz target of the repository (func FuzzXxx(f *testing.F) in
# a _test.go file) for FUZZTIME each, one after the other, and prints a summary: the
# execs each ran and whether it found a failing input. make fuzz calls it.
#
#   FUZZTIME=30s        how long each target runs (go test -fuzztime: 30s, 5m, 10000x)
#   FUZZ_TARGETS=...    run only these targets, by name (space-separated)
#   FUZZ_PARALLEL=N     fuzzing workers per target (go test -parallel; default GOMAXPROCS)
#
# A failing input is written by go test to testdata/fuzz/<Target>/ in the target's
# package: fix the bug, keep the file (it then runs in plain go test as a regression
# test) and commit both. Exit status: 0 if no target failed, 1 otherwise.
set -uo pipefail

cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-30s}"
FUZZ_TARGETS="${FUZZ_TARGETS:-}"
parallel=()
if [[ -n "${FUZZ_PARALLEL:-}" ]]; then
	parallel=(-parallel "$FUZZ_PARALLEL")
fi

logdir="$(mktemp -d "${TMPDIR:-/tmp}/ward-fuzz.XXXXXX")"
summary=()
failed=0
found=0

while IFS= read -r file; do
	pkg="./$(dirname "${file#./}")"
	for target in $(grep -oE '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/'); do
		if [[ -n "$FUZZ_TARGETS" && " $FUZZ_TARGETS " != *" $target "* ]]; then
			continue
		fi
		found=$((found + 1))
		log="$logdir/$target.log"
		echo "== $target ($pkg) for $FUZZTIME"
		go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "${parallel[@]}" >"$log" 2>&1
		status=$?
		execs="$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)"
		if [[ $status -eq 0 ]]; then
			summary+=("ok    $target: ${execs:-?} execs")
		else
			failed=$((failed + 1))
			summary+=("FAIL  $target: ${execs:-?} execs; see $log")
			grep -E -- '--- FAIL|Failing input written to|go test -run=' "$log" | sed 's/^/      /'
		fi
	done
done < <(grep -rlE --include='*_test.go' --exclude-dir=.git --exclude-dir=vendor --exclude-dir=bin '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . | sort)

if [[ $found -eq 0 ]]; then
	echo "no fuzz targets${FUZZ_TARGETS:+ named $FUZZ_TARGETS}" >&2
	exit 1
fi
echo
echo "fuzz summary (FUZZTIME=$FUZZTIME, logs in $logdir):"
printf '  %s\n' "${summary[@]}"
[[ $failed -eq 0 ]]
