# shellcheck shell=bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Sourced by the benchmark scripts: the one kansokud config they measure.
# bench_config DIR: default sensors and rules, /etc and DIR/watched watched, one file output in DIR with
# the default rotation (100 MiB, gzip) but every file kept, so a run can be counted; SHORT_LIVED_MS=N sets
# network.short_lived_ms, RULES=0 turns the detection rules off (bench/run.sh documents both).
bench_config() {
	cat <<CFG
state_dir: $1/state
socket: $1/ctl.sock
heartbeat_interval: 3600
files:
  watch:
    - path: /etc
      ops: [write, create, delete, rename, attrib]
    - $1/watched
${SHORT_LIVED_MS:+network:
  short_lived_ms: $SHORT_LIVED_MS}
$([ "${RULES:-1}" = 0 ] && printf 'rules:\n  enabled: false')
outputs:
  - type: file
    path: $1/events.json
    keep: 1000
CFG
}
