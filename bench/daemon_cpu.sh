#!/bin/bash
# bench/daemon_cpu.sh BUILD_A BUILD_B: the CPU of kansokud's event loop thread (utime + stime of
# /proc/PID/task/PID/stat: decoding, the models, encoding, rules, outputs; not posture's threads) per
# operation of the exec and rr storms, for two builds, interleaved round by round (ABBA order) so both see
# the same noise. The config is bench/run.sh's (default sensors and rules, one file output). Each round:
# start the daemon, measure the loop's CPU for IDLE_S seconds without the storm (on a shared machine the
# daemon also records everything else that runs), run the storm, give it DRAIN_S seconds to drain the
# kernel's ring, read the CPU again. us/op is the daemon's CPU over storm + drain, less the idle rate over that time, per
# operation (raw: without that correction); ev/op is the events it wrote per operation (exec: 2, rr: 4, the
# rest is the host's other activity). Prints per round and then min/median/max (USER_HZ ticks: 10 ms).
#   ROUNDS=4 EXECS=20000 RRS=30000 IDLE_S=3 DRAIN_S=3 WORKLOADS="exec rr" bench/daemon_cpu.sh build-before build
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# = 2 ] || { echo "usage: bench/daemon_cpu.sh BUILD_A BUILD_B" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/daemon_cpu.sh loads BPF programs: run it as root" >&2; exit 1; }
ROUNDS=${ROUNDS:-4}
EXECS=${EXECS:-20000}
RRS=${RRS:-30000}
WORKLOADS=${WORKLOADS:-exec rr}
IDLE_S=${IDLE_S:-3}
DRAIN_S=${DRAIN_S:-3}
WORK=$2/bench/workload
for b in "$1" "$2"; do
	[ -x "$b/kansokud" ] && [ -x "$b/kansoku" ] || { echo "$b: no kansokud or kansoku built there" >&2; exit 1; }
done
[ -x "$WORK" ] || { echo "$WORK: not built (make $2/bench/workload)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/kansoku-cpu.XXXXXX)
dpid=
cleanup() {
	if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/watched"
. bench/config.sh
bench_config "$tmp" >"$tmp/kansoku.yaml"

cpu_of() { awk '{print ($14 + $15) / 100}' "/proc/$1/task/$1/stat"; }
emitted() { "$1/kansoku" --socket "$tmp/ctl.sock" status --json | sed -n 's/.*"emitted": *\([0-9]*\).*/\1/p'; }
spread() {
	printf '%s\n' "$@" | sort -n |
		awk '{a[NR] = $1} END {m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "min %s median %.2f max %s", a[1], m, a[NR]}'
}

start_daemon() {
	rm -f "$tmp"/events.json*
	"$1/kansokud" --config "$tmp/kansoku.yaml" 2>"$tmp/daemon.log" &
	dpid=$!
	for _ in $(seq 600); do
		"$1/kansoku" --socket "$tmp/ctl.sock" status >/dev/null 2>&1 && break
		sleep 0.05
	done
	sleep 2 # past the start-up burst (seeding, the first listing)
}

now_s() { date +%s.%N; }

# one BUILD WORKLOAD: prints the daemon's us per operation, corrected and raw, and events per operation
one() {
	local ci c0 c1 t0 t1 e0 e1 ops
	start_daemon "$1"
	ci=$(cpu_of "$dpid")
	sleep "$IDLE_S"
	c0=$(cpu_of "$dpid")
	e0=$(emitted "$1")
	t0=$(now_s)
	case $2 in
	exec) ops=$EXECS; "$WORK" exec "$EXECS" "cpu-bench-$$" >/dev/null ;;
	rr) ops=$RRS; "$WORK" rr "$RRS" $((20000 + RANDOM % 10000)) >/dev/null ;;
	esac
	sleep "$DRAIN_S"
	t1=$(now_s)
	c1=$(cpu_of "$dpid")
	e1=$(emitted "$1")
	kill -TERM "$dpid"
	wait "$dpid" || true
	dpid=
	awk -v ci="$ci" -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v idle="$IDLE_S" -v n="$ops" -v e0="$e0" \
		-v e1="$e1" 'BEGIN {raw = (b - a) / n * 1e6; cor = (b - a - (a - ci) / idle * (t1 - t0)) / n * 1e6;
		printf "%.2f %.2f %.2f", cor, raw, (e1 - e0) / n}'
}

for w in $WORKLOADS; do
	a=() b=() ar=() br=()
	echo "== $w: kansokud us/op (raw us/op, ev/op)   A=$1   B=$2"
	for r in $(seq "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then
			ra=$(one "$1" "$w")
			rb=$(one "$2" "$w")
		else
			rb=$(one "$2" "$w")
			ra=$(one "$1" "$w")
		fi
		read -r x y _ <<<"$ra" && a+=("$x") && ar+=("$y")
		read -r x y _ <<<"$rb" && b+=("$x") && br+=("$y")
		echo "round $r: A $ra   B $rb"
	done
	echo "$w A: us/op $(spread "${a[@]}"); raw $(spread "${ar[@]}")"
	echo "$w B: us/op $(spread "${b[@]}"); raw $(spread "${br[@]}")"
done
