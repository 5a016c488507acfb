#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/peer_rr.sh: the rr storm (bench/workload rr) under a peer that records every connection, as a
# reference beside `make bench`'s rr figures: Debian 12's auditd with one rule for connect, accept and
# accept4 (both sides of each loopback connection), writing /var/log/audit/audit.log as shipped, with
# the kernel's backlog raised so that it loses nothing. Rounds alternate with runs without it (ABBA, as
# bench/run.sh does) and print ops/s, CPU per connection (the workload + auditd + the kauditd kernel
# thread) and the records written, then min/median/max of the ratios. Installs auditd if it is missing
# and leaves no rule or daemon behind.
#   ROUNDS=6 RRS=30000 BUILD=build bench/peer_rr.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-6}
RRS=${RRS:-30000}
BUILD=${BUILD:-build}
WORK=$BUILD/bench/workload
KEY=kansoku-peer-rr
[ "$(id -u)" = 0 ] || { echo "bench/peer_rr.sh configures the kernel's audit: run it as root" >&2; exit 1; }
[ -x "$WORK" ] || { echo "$WORK: not built (make $WORK)" >&2; exit 1; }
if ! command -v auditd >/dev/null || ! command -v auditctl >/dev/null; then
	echo "installing auditd (Debian 12's)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends auditd >/dev/null
fi
pgrep -x auditd >/dev/null && { echo "an auditd runs already: stop it first, its rules would be replaced" >&2; exit 1; }

apid= tmp= saved=
cleanup() {
	auditctl -D >/dev/null 2>&1 || true
	if [ -n "$apid" ]; then
		kill "$apid" 2>/dev/null || true
		wait "$apid" 2>/dev/null || true
	fi
	# enabled, even with no rule, sends every new task's syscalls through audit's slow path: the kernel's
	# audit goes back as it was
	if [ -n "$saved" ]; then
		read -r enabled backlog wait_ms <<<"$saved"
		auditctl -e "$enabled" -b "$backlog" --backlog_wait_time "$wait_ms" >/dev/null 2>&1 || true
	fi
	if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT

. bench/stats.sh
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
bare() { "$WORK" rr "$RRS" $((20000 + RANDOM % 10000)); }

saved=$(auditctl -s | awk '$1 == "enabled" {e = $2} $1 == "backlog_limit" {b = $2} $1 == "backlog_wait_time" {w = $2} END {print e, b, w}')
# auditd as shipped, but its log in a directory of its own that it never rotates, so every record counts
tmp=$(mktemp -d /tmp/kansoku-peer.XXXXXX)
log=$tmp/audit.log
mkdir "$tmp/plugins.d"
sed -e "s|^log_file = .*|log_file = $log|" -e 's|^max_log_file_action = .*|max_log_file_action = IGNORE|' \
	-e "s|^plugin_dir = .*|plugin_dir = $tmp/plugins.d|" /etc/audit/auditd.conf >"$tmp/auditd.conf"
chmod 0640 "$tmp/auditd.conf"
auditctl -D >/dev/null
auditctl -b 65536 --backlog_wait_time 60000 >/dev/null
auditd -n -c "$tmp" &
apid=$!
sleep 1
kill -0 "$apid" 2>/dev/null || { echo "auditd did not start" >&2; exit 1; }
kpid=$(pgrep -x kauditd)
printf '%-5s %10s %10s %7s %11s %11s %9s %6s\n' round base/s with/s ratio us/op-base us/op-with recorded lost
ratios=() cpus=()
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then base=$(bare); fi
	lost0=$(auditctl -s | awk '/^lost/ {print $2}')
	lines0=$(grep -c "key=\"$KEY\"" "$log" 2>/dev/null || true)
	auditctl -a always,exit -F arch=b64 -S connect -S accept -S accept4 -k "$KEY" >/dev/null
	c0=$(($(ticks "$apid") + $(ticks "$kpid")))
	with=$(bare)
	sleep 3 # auditd writes what the kernel queued
	auditctl -D >/dev/null
	c1=$(($(ticks "$apid") + $(ticks "$kpid")))
	lines1=$(grep -c "key=\"$KEY\"" "$log" 2>/dev/null || true)
	lost1=$(auditctl -s | awk '/^lost/ {print $2}')
	if [ $((r % 2)) = 0 ]; then base=$(bare); fi
	bps=$(field ops_per_s <<<"$base")
	wps=$(field ops_per_s <<<"$with")
	ratio=$(awk -v a="$wps" -v b="$bps" 'BEGIN {printf "%.3f", a / b}')
	bcpu=$(awk -v c="$(field cpu_s <<<"$base")" -v n="$RRS" 'BEGIN {printf "%.2f", c / n * 1e6}')
	wcpu=$(awk -v c="$(field cpu_s <<<"$with")" -v t=$((c1 - c0)) -v n="$RRS" 'BEGIN {printf "%.2f", (c + t / 100) / n * 1e6}')
	ratios+=("$ratio")
	cpus+=("$(awk -v a="$wcpu" -v b="$bcpu" 'BEGIN {printf "%.3f", a / b}')")
	printf '%-5s %10.0f %10.0f %7s %11s %11s %9s %6s\n' "$r" "$bps" "$wps" "$ratio" "$bcpu" "$wcpu" \
		"$((lines1 - lines0))" "$((lost1 - lost0))"
done
read -r min med max <<<"$(spread "${ratios[@]}")"
read -r cmin cmed cmax <<<"$(spread "${cpus[@]}")"
echo "  auditd (connect, accept, accept4; $RRS connections, 2 recorded syscalls each): speed with/without" \
	"min $min median $med max $max; CPU per connection with/without (workload + auditd + kauditd)" \
	"min $cmin median $cmed max $cmax"
