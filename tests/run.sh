#!/bin/sh
# The whole test suite from a fresh Debian 12 machine: installs what it needs, builds, runs every test.
# Run it as root (a fresh Debian 12 has no sudo), or as a user with sudo: it re-runs itself under sudo,
# since it installs packages and the live tests load BPF programs. KS_NO_SUDO=1: stay unprivileged (no
# package install, live tests reported as skipped, with the reason).
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ] && [ "${KS_NO_SUDO:-0}" != 1 ] && command -v sudo >/dev/null 2>&1; then
	echo "run.sh: installing packages and loading BPF programs need root: re-running under sudo" >&2
	exec sudo -- "$PWD/tests/run.sh" "$@"
fi
if [ "$(id -u)" = 0 ]; then
	./tests/install-deps.sh
else
	echo "not root and no sudo: not installing packages; live tests will be skipped (run it as root)"
fi
make -j"$(nproc)" all unit-bins test-helpers build/fuzz/fuzz_rules
exec ./tests/run-all.sh
