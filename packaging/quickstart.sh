#!/bin/sh
# From a fresh Debian 12 machine: install what kansoku needs, build it, and run the daemon in the
# foreground on the documented default config (packaging/kansoku.yaml): events go to
# /var/log/kansoku/events.json, the CLI talks to /run/kansoku/kansoku.sock. Ctrl-C stops it cleanly.
# Run it as root (a fresh Debian 12 has no sudo), or as a user with sudo: it re-runs itself under sudo.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "quickstart.sh: kansokud needs root (it installs packages and loads BPF programs), and sudo is" \
			"not installed: run it as root" >&2
		exit 1
	fi
	echo "quickstart.sh: installing packages and loading BPF programs need root: re-running under sudo" >&2
	exec sudo -- "$PWD/packaging/quickstart.sh" "$@"
fi
./tests/install-deps.sh
make -j"$(nproc)" all
echo "kansokud: events -> /var/log/kansoku/events.json; try './build/kansoku status' in another terminal"
exec ./build/kansokud --config packaging/kansoku.yaml
