#!/bin/sh
# The whole test suite from a fresh Debian 12 machine: installs what it needs, builds, runs every test.
# Live tests need root (they load BPF programs); without it they are reported as skipped, with the reason.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
	./tests/install-deps.sh
else
	echo "not root: not installing packages; live tests will be skipped (run as root: sudo $0)"
fi
make -j"$(nproc)" all unit-bins test-helpers
exec ./tests/run-all.sh
