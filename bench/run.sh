#!/bin/bash
# make bench: the exec storm without and with kansokud, interleaved round by round in one run, so both
# see the same machine noise. Prints per-round figures, then min/median/max of the speed ratio, CPU per
# exec (workload + daemon), events recorded against execs made, kernel drops and the daemon's peak RSS.
#   ROUNDS=6 EXECS=20000 make bench   (defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-6}
EXECS=${EXECS:-20000}
WORK=$BUILD/bench/workload
[ "$(id -u)" = 0 ] || { echo "make bench loads BPF programs: run it as root" >&2; exit 1; }

tmp=$(mktemp -d /tmp/kansoku-bench.XXXXXX)
dpid=
cleanup() {
	if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
cat >"$tmp/kansoku.yaml" <<CFG
state_dir: $tmp/state
socket: $tmp/ctl.sock
heartbeat_interval: 3600
outputs:
  - type: file
    path: $tmp/events.json
CFG

field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
cpu_of() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; } # utime + stime in seconds (USER_HZ 100)

start_daemon() {
	rm -f "$tmp/events.json"
	"$BUILD/kansokud" --config "$tmp/kansoku.yaml" 2>"$tmp/daemon.log" &
	dpid=$!
	for _ in $(seq 200); do
		"$BUILD/kansoku" --socket "$tmp/ctl.sock" status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "kansokud did not start:" >&2
	cat "$tmp/daemon.log" >&2
	exit 1
}

stop_daemon() {
	kill -TERM "$dpid"
	wait "$dpid" || true
	dpid=
}

printf '%-5s %10s %10s %7s %12s %12s %9s %7s %8s\n' round base/s with/s ratio cpu_us/exec cpu_us/exec recorded drops rss_MiB
printf '%-5s %10s %10s %7s %12s %12s %9s %7s %8s\n' "" "" "" "" "(base)" "(with)" "" "" ""
ratios=()
total_launch=0 total_term=0 total_drops=0 max_rss=0
for r in $(seq "$ROUNDS"); do
	marker="kansoku-bench-$r-$$"
	# alternate which run goes first (ABBA), so slow drift of the machine cancels out
	if [ $((r % 2)) = 1 ]; then
		base=$("$WORK" exec "$EXECS" "$marker-base")
	fi
	start_daemon
	c0=$(cpu_of "$dpid")
	with=$("$WORK" exec "$EXECS" "$marker")
	sleep 0.5 # let the daemon drain its ring buffer
	c1=$(cpu_of "$dpid")
	status=$("$BUILD/kansoku" --socket "$tmp/ctl.sock" status --json)
	rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$dpid/status")
	stop_daemon
	if [ $((r % 2)) = 0 ]; then
		base=$("$WORK" exec "$EXECS" "$marker-base")
	fi
	drops=$(sed -n 's/.*"kernel_drops": *\([0-9]*\).*/\1/p' <<<"$status")
	# the storm's children: Launch events whose argv is exactly /bin/true MARKER
	launches=$(grep -F "\"args\":[\"/bin/true\",\"$marker\"]" "$tmp/events.json" | grep -c '"activity_id":1,' || true)
	terms=$(grep -F "\"args\":[\"/bin/true\",\"$marker\"]" "$tmp/events.json" | grep -c '"activity_id":2,' || true)

	bps=$(field ops_per_s <<<"$base")
	wps=$(field ops_per_s <<<"$with")
	ratio=$(awk -v a="$wps" -v b="$bps" 'BEGIN {printf "%.3f", a / b}')
	bcpu=$(awk -v c="$(field cpu_s <<<"$base")" -v n="$EXECS" 'BEGIN {printf "%.1f", c / n * 1e6}')
	wcpu=$(awk -v c="$(field cpu_s <<<"$with")" -v d0="$c0" -v d1="$c1" -v n="$EXECS" \
		'BEGIN {printf "%.1f", (c + d1 - d0) / n * 1e6}')
	ratios+=("$ratio")
	total_launch=$((total_launch + launches)) total_term=$((total_term + terms)) total_drops=$((total_drops + drops))
	[ "$rss_kb" -gt "$max_rss" ] && max_rss=$rss_kb
	printf '%-5s %10.0f %10.0f %7s %12s %12s %9s %7s %8.1f\n' "$r" "$bps" "$wps" "$ratio" "$bcpu" "$wcpu" \
		"$launches/$EXECS" "$drops" "$(awk -v k="$rss_kb" 'BEGIN {print k / 1024}')"
	if [ "$terms" != "$EXECS" ]; then
		echo "  round $r: recorded $terms Terminate events for $EXECS exits"
	fi
	if [ "$launches" != "$EXECS" ]; then
		echo "  round $r: recorded $launches Launch events for $EXECS execs"
	fi
done
sorted=$(printf '%s\n' "${ratios[@]}" | sort -n)
min=$(head -1 <<<"$sorted")
max=$(tail -1 <<<"$sorted")
med=$(awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}' <<<"$sorted")
echo
echo "exec storm, $EXECS fork+exec of /bin/true per run, $ROUNDS rounds interleaved:"
echo "  speed with kansokud / without: min $min  median $med  max $max   (target >= 0.95)"
echo "  recorded: $total_launch Launch and $total_term Terminate events for $((ROUNDS * EXECS)) execs;" \
	"kernel drops $total_drops; daemon peak RSS $(awk -v k="$max_rss" 'BEGIN {printf "%.1f", k / 1024}') MiB (target < 50)"
