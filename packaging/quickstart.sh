#!/bin/sh
# From a fresh Debian 12 machine, as root: install what kansoku needs, build it, and run the daemon in the
# foreground on the documented default config (packaging/kansoku.yaml): events go to
# /var/log/kansoku/events.json, the CLI talks to /run/kansoku/kansoku.sock. Ctrl-C stops it cleanly.
set -eu
cd "$(dirname "$0")/.."
./tests/install-deps.sh
make -j"$(nproc)" all
echo "kansokud: events -> /var/log/kansoku/events.json; try './build/kansoku status' in another terminal"
exec ./build/kansokud --config packaging/kansoku.yaml
