#!/bin/sh
# make bench: ward lint vs Conftest vs the decode and evaluation floors on generated
# corpora of 100, 1,000 and 10,000 files, plus the single-file case; prints the table
# and writes bench/out/results.md. WARD_BENCH_LARGE=1 adds 100,000 files (long).
# Arguments go to the runner: bench/run.sh -sizes 100000 -runs 3
set -eu
cd "$(dirname "$0")/.."
exec go run ./bench/cmd/benchrun "$@"
