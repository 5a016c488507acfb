#!/bin/bash
# make bench: each workload without and with kansokud, interleaved round by round (ABBA order) in one
# run, so both see the same machine noise. Per round: rates, ratio, CPU per operation (workload + daemon),
# what kansokud recorded against what was done, kernel drops, the daemon's peak RSS; then min/median/max.
#   ROUNDS=6 EXECS=20000 OPENS=500000 CONNS=60000 RRS=30000 make bench   (defaults)
#   WORKLOADS="engine exec open-out open-miss open-in conn rr posture outputs scale memory"   (engine: the
#   rule engine alone, recorded events replayed through the default ruleset, then with 1,000 generated
#   rules added (bench/rules_bench.c, one core, no kernel); open-miss: opens of a file that does not exist
#   outside the watch set, as a library or locale search makes; posture: snapshot, re-score and idle cost;
#   outputs: events/s drained to rsyslog TLS, RELP and HTTP, RSS during a 60 s outage; scale:
#   1k/10k/50k connections and 1k/5k/20k processes held, then ended at once: RSS, CPU, idle CPU,
#   control-reply latency, recorded/expected; see bench/scale.py for its knobs; memory: the default config
#   with 1,000 generated rules, idle then with 10,000 live processes: VmRSS, VmHWM and VmRSS split into
#   ring buffers, other BPF maps, anonymous memory and files (issue 13: < 64 MiB); MEM_COMPARE=DIR measures
#   DIR/kansokud too, interleaved; see bench/memory.py)
# conn: a client that connects and closes, an acceptor in another process; rr: request/response in one
# process (an acceptor thread closes at once, the client reads to EOF and resets), each round trip waiting
# on the last, so every microsecond kansokud takes from the two vCPUs shows. rec/op and ev/op: kernel
# records the daemon received and events it wrote (of the workload's kind), per operation; KiB/op: what
# its outputs wrote per operation (all events). After rr: what those bytes alone cost in the file output
# (bench/sink_cost: appending, and gzip at rotation), the limit under its CPU target; a peer recording
# the same connections: bench/peer_rr.sh (auditd).
# SHORT_LIVED_MS=0 runs kansokud without short-lived folding (on by default since issue 14: one event per
# side of a short connection), SHORT_LIVED_MS=N with network.short_lived_ms: N.
# RULES=0 runs it without the detection rules (the default ruleset is on otherwise): their cost end to end.
# BUILD=DIR measures another build of kansokud (the workloads come from DIR/bench too).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-6}
EXECS=${EXECS:-20000}
OPENS=${OPENS:-500000}
CONNS=${CONNS:-60000}
RRS=${RRS:-30000}
WORKLOADS=${WORKLOADS:-engine exec open-out open-miss open-in conn rr posture outputs scale memory}
WORK=$BUILD/bench/workload
[ "$(id -u)" = 0 ] || { echo "make bench loads BPF programs: run it as root" >&2; exit 1; }

tmp=$(mktemp -d /tmp/kansoku-bench.XXXXXX)
dpid=
cleanup() {
	if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/watched" "$tmp/outside"
echo "some configuration" >"$tmp/watched/file.conf"
echo "some data" >"$tmp/outside/file.dat"
. bench/config.sh
. bench/stats.sh
bench_config "$tmp" >"$tmp/kansoku.yaml"

# utime + stime of the daemon and of its reaped children (gzip of rotated files), seconds (USER_HZ 100)
cpu_of() { awk '{print ($14 + $15 + $16 + $17) / 100}' "/proc/$1/stat"; }
# every event written: the rotated files (oldest first) and the current one
events() {
	for f in $(ls -r "$tmp"/events.json.*.gz 2>/dev/null); do zcat "$f"; done
	cat "$tmp/events.json"
}

# counts_per_op KIND OPS STATUS0 STATUS1: kernel records received, events written and KiB the outputs
# wrote, per operation
counts_per_op() {
	/usr/bin/python3 -c '
import json, sys
kind, ops, a, b = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
ev = {"process": lambda s: s["emitted_launch"] + s["emitted_terminate"], "file": lambda s: s["files"]["events"], "network": lambda s: s["network"]["events"]}[kind]
kinds = {"process": ("exec", "fork", "exit")}.get(kind, (kind,))
try:
    rec = sum(b["events"][k]["received"] - a["events"][k]["received"] for k in kinds)
    kib = sum(o["bytes"] for o in b["outputs"]) - sum(o["bytes"] for o in a["outputs"])
    print("%6.2f %6.2f %6.2f" % (rec / ops, (ev(b) - ev(a)) / ops, kib / 1024 / ops))
except (KeyError, TypeError):  # an older build (BUILD=DIR) whose status lacks these counters
    print("%6s %6s %6s" % ("n/a", "n/a", "n/a"))' "$@"
}

start_daemon() {
	rm -f "$tmp"/events.json*
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

# settle: wait (up to 30 s) until posture's first snapshot and filesystem walk are done, so a workload
# measures its own cost per operation, not the one-off start-up walk (the exec workload does not wait: its
# target holds with the walk running)
settle() {
	for _ in $(seq 300); do
		"$BUILD/kansoku" --socket "$tmp/ctl.sock" status --json | /usr/bin/python3 -c '
import json, sys
p = json.load(sys.stdin).get("posture")
sys.exit(0 if not p or (p.get("snapshots", 0) >= 1 and p.get("walks", 0) >= 1 and not p.get("walking")) else 1)' && return 0
		sleep 0.1
	done
	echo "kansokud: posture did not settle in 30 s; measuring anyway" >&2
}

stop_daemon() {
	kill -TERM "$dpid"
	wait "$dpid" || true
	dpid=
}

# floor_tp NAME: the tracepoint kansoku's hook for the workload uses (open-out: sys_exit_openat; rr: the TCP
# state changes, 8 a connection), or nothing
floor_tp() {
	case $1 in open-out | open-miss) echo syscalls/sys_exit_openat ;; rr) echo sock/inet_sock_set_state ;; esac
}

# run_floor NAME: the workload with only an empty program on that tracepoint, i.e. the least any sensor
# hooked there can cost (speed and CPU per operation)
run_floor() {
	local out
	coproc FLOOR { "$BUILD/bench/floor" "$(floor_tp "$1")"; }
	read -r out <&"${FLOOR[0]}"
	[ "$out" = ready ] || { echo "bench/floor did not attach" >&2; exit 1; }
	run_workload "$1"
	exec {FLOOR[1]}>&-
	wait "$FLOOR_PID"
}

# run_workload NAME: prints the workload's JSON line
run_workload() {
	case $1 in
	exec) "$WORK" exec "$EXECS" "$marker" ;;
	open-out) "$WORK" open "$OPENS" "$tmp/outside/file.dat" ;;
	open-miss) "$WORK" miss "$OPENS" "$tmp/outside/missing/LC_CTYPE" ;;
	open-in) "$WORK" open "$OPENS" "$tmp/watched/file.conf" ;;
	conn) "$WORK" conn "$CONNS" "$conn_port" ;;
	rr) "$WORK" rr "$RRS" "$conn_port" ;;
	esac
}

# recorded NAME: what the events file shows of the storm (records/expected)
recorded() {
	case $1 in
	exec)
		n=$(events | grep -F "\"args\":[\"/bin/true\",\"$marker\"]" | grep -c '"activity_id":1,' || true)
		echo "$n/$EXECS"
		;;
	open-out | open-miss)
		n=$(events | grep '"class_uid":1001' | grep -cF "\"path\":\"$tmp/outside" || true)
		echo "$n events"
		;;
	open-in)
		# aggregated: the counts of the Read events of the file add up to the opens made
		n=$(events | grep -F "\"path\":\"$tmp/watched/file.conf\"" | grep '"activity_name":"Read"' |
			sed -n 's/.*"count":\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
		echo "$n/$OPENS"
		;;
	conn | rr)
		# every connection: an outbound and an inbound Close (or Reset) to the storm's port
		n=$(events | grep '"class_uid":4001' | grep -F "\"dst_endpoint\":{\"ip\":\"127.0.0.1\",\"port\":$conn_port}" |
			grep -cE '"activity_name":"(Close|Reset)"' || true)
		echo "$((n / 2))/$([ "$1" = rr ] && echo "$RRS" || echo "$CONNS")"
		;;
	esac
}

for w in $WORKLOADS; do
	if [ "$w" = scale ]; then
		/usr/bin/python3 bench/scale.py "$BUILD" "$tmp"
		continue
	fi
	if [ "$w" = engine ]; then
		echo "== engine (issue 13: >= 500,000 events/s with the default ruleset, >= 150,000 with 1,000 rules)"
		"$BUILD/bench/rules_bench" packaging/rules tests/fixtures/rules/events.ndjson
		continue
	fi
	if [ "$w" = memory ]; then
		/usr/bin/python3 bench/memory.py "$BUILD" "$tmp"
		continue
	fi
	if [ "$w" = outputs ]; then
		# the receivers (rsyslog, nginx) come with the test dependencies
		command -v nginx >/dev/null && command -v rsyslogd >/dev/null || ./tests/install-deps.sh
		echo "== outputs (durable queues drained to real receivers)"
		/usr/bin/python3 bench/outputs.py "$BUILD" "$tmp"
		continue
	fi
	if [ "$w" = posture ]; then
		echo "== posture (one daemon, default posture settings)"
		start_daemon
		/usr/bin/python3 bench/posture.py "$BUILD/kansoku" "$tmp/ctl.sock" "$dpid" "${SNAPSHOTS:-10}" \
			"${LISTENERS:-20}" "${IDLE_S:-60}"
		stop_daemon
		continue
	fi
	echo "== $w"
	printf '%-5s %10s %10s %7s %11s %11s %16s %6s %8s %6s %6s %6s\n' round base/s with/s ratio us/op-base us/op-with \
		recorded drops rss_MiB rec/op ev/op KiB/op
	ratios=() cpu_ratios=() floors=() floor_cpus=() kibs=() bcpus=() total_drops=0 max_rss=0 complete=yes
	case $w in exec) ops=$EXECS kind=process ;; conn) ops=$CONNS kind=network ;; rr) ops=$RRS kind=network ;;
	*) ops=$OPENS kind=file ;; esac
	for r in $(seq "$ROUNDS"); do
		marker="kansoku-bench-$r-$$"
		conn_port=$((20000 + RANDOM % 10000))
		if [ $((r % 2)) = 1 ]; then base=$(run_workload "$w"); fi
		[ -n "$(floor_tp "$w")" ] && floor=$(run_floor "$w")
		start_daemon
		[ "$w" = exec ] || settle
		c0=$(cpu_of "$dpid")
		s0=$("$BUILD/kansoku" --socket "$tmp/ctl.sock" status --json)
		with=$(run_workload "$w")
		sleep 7 # the daemon drains its ring buffer and closes the aggregation window (5 s)
		c1=$(cpu_of "$dpid")
		status=$("$BUILD/kansoku" --socket "$tmp/ctl.sock" status --json)
		rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$dpid/status")
		stop_daemon
		if [ $((r % 2)) = 0 ]; then base=$(run_workload "$w"); fi
		drops=$(sed -n 's/.*"kernel_drops": *\([0-9]*\).*/\1/p' <<<"$status")
		rec=$(recorded "$w")
		bps=$(field ops_per_s <<<"$base")
		wps=$(field ops_per_s <<<"$with")
		ratio=$(awk -v a="$wps" -v b="$bps" 'BEGIN {printf "%.3f", a / b}')
		bcpu=$(awk -v c="$(field cpu_s <<<"$base")" -v n="$ops" 'BEGIN {printf "%.2f", c / n * 1e6}')
		wcpu=$(awk -v c="$(field cpu_s <<<"$with")" -v d0="$c0" -v d1="$c1" -v n="$ops" \
			'BEGIN {printf "%.2f", (c + d1 - d0) / n * 1e6}')
		recop=$(counts_per_op "$kind" "$ops" "$s0" "$status")
		kibs+=("$(awk '{print $3}' <<<"$recop")")
		bcpus+=("$bcpu")
		ratios+=("$ratio")
		if [ -n "$(floor_tp "$w")" ]; then
			floors+=("$(awk -v a="$(field ops_per_s <<<"$floor")" -v b="$bps" 'BEGIN {printf "%.3f", a / b}')")
			fcpu=$(awk -v c="$(field cpu_s <<<"$floor")" -v n="$ops" -v b="$bcpu" 'BEGIN {printf "%.3f", c / n * 1e6 / b}')
			floor_cpus+=("$fcpu")
			recop="$recop floor ${floors[-1]} (CPU ${fcpu})"
		fi
		cpu_ratios+=("$(awk -v a="$wcpu" -v b="$bcpu" 'BEGIN {printf "%.3f", a / b}')")
		total_drops=$((total_drops + drops))
		[ "$rss_kb" -gt "$max_rss" ] && max_rss=$rss_kb
		case $w in open-out | open-miss) [ "$rec" = "0 events" ] || complete=no ;; *) [ "${rec%/*}" = "${rec#*/}" ] || complete=no ;; esac
		printf '%-5s %10.0f %10.0f %7s %11s %11s %16s %6s %8.1f %s\n' "$r" "$bps" "$wps" "$ratio" "$bcpu" "$wcpu" "$rec" \
			"$drops" "$(awk -v k="$rss_kb" 'BEGIN {print k / 1024}')" "$recop"
	done
	read -r min med max <<<"$(spread "${ratios[@]}")"
	read -r cmin cmed cmax <<<"$(spread "${cpu_ratios[@]}")"
	if [ -n "$(floor_tp "$w")" ]; then
		read -r fmin fmed fmax <<<"$(spread "${floors[@]}")"
		read -r gmin gmed gmax <<<"$(spread "${floor_cpus[@]}")"
		echo "  $w: an empty program on $(floor_tp "$w") (the floor): speed min $fmin median $fmed max $fmax;" \
			"CPU per op min $gmin median $gmed max $gmax"
	fi
	case $w in
	exec) target=">= 0.95; every exec recorded" ;;
	open-out) target=">= 0.90, an empty program's floor ~0.91; nothing recorded" ;;
	open-miss) target="the floor's; nothing recorded" ;;
	open-in) target=">= 0.75; every open recorded (aggregated)" ;;
	conn) target=">= 0.90; every connection recorded (both sides)" ;;
	rr) target=">= 0.92, CPU per connection <= 1.10; every connection recorded (both sides)" ;;
	esac
	echo "  $w: speed with/without min $min median $med max $max (target $target);" \
		"CPU per op with/without min $cmin median $cmed max $cmax;" \
		"recorded as expected: $complete; kernel drops $total_drops;" \
		"peak RSS $(awk -v k="$max_rss" 'BEGIN {printf "%.1f", k / 1024}') MiB"
	if [ "$w" = rr ] && [ -x "$BUILD/bench/sink_cost" ] && [ -s "$tmp/events.json" ]; then
		# the limit under the CPU target: what the file output's bytes alone cost (appending them, and gzip
		# at rotation), measured on this run's own events, against the workload's CPU per connection
		sink=$("$BUILD/bench/sink_cost" "$tmp/events.json" "$tmp" 5)
		app=$(sed -n 's/.*append.*: [0-9.]* \/ \([0-9.]*\) \/.*/\1/p' <<<"$sink")
		gz=$(sed -n 's/.*gzip.*: [0-9.]* \/ \([0-9.]*\) \/.*/\1/p' <<<"$sink")
		read -r _ kib _ <<<"$(spread "${kibs[@]}")"
		read -r _ bmed _ <<<"$(spread "${bcpus[@]}")"
		echo "  $w: the file output alone (bench/sink_cost, this run's events, 5 rounds, medians): append $app" \
			"us/KiB + gzip $gz us/KiB, $kib KiB per connection: $(awk -v k="$kib" -v a="$app" -v g="$gz" -v b="$bmed" \
				'BEGIN {printf "%.2f us, %.3f of the workload'"'"'s own %.2f us", k * (a + g), k * (a + g) / b, b}')"
	fi
done
