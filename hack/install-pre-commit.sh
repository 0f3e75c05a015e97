#!/usr/bin/env bash
# hack/install-pre-commit.sh — make sure Debian's pre-commit is installed, for the
# pre-commit end-to-end test in test/integrations.
#
# Usage:
#   hack/install-pre-commit.sh        # prints the path of the pre-commit executable
#
# pre-commit already on PATH: nothing to do. Otherwise, as root (CI runs as root on
# Debian), install the apt package `pre-commit`; it needs no network but Debian's
# mirrors. Not root and not installed: fail with a message saying what to run.
# stdout carries ONLY the executable's path; progress goes to stderr.
set -euo pipefail

if command -v pre-commit >/dev/null 2>&1; then
	command -v pre-commit
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-pre-commit: pre-commit is not installed; run: sudo apt-get install -y pre-commit" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-pre-commit: pre-commit is not installed and apt-get is not available" >&2
	exit 1
fi

# apt-get takes a lock; with two callers at once the second waits for it.
export DEBIAN_FRONTEND=noninteractive
echo "install-pre-commit: apt-get install pre-commit" >&2
if ! apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends pre-commit >&2; then
	apt-get -o DPkg::Lock::Timeout=300 update >&2
	apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends pre-commit >&2
fi
command -v pre-commit
