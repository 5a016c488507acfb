#!/bin/bash
# bench/encode_compare.sh BUILD_A BUILD_B [RUNS]: encode_bench of two builds, interleaved run by run (ABBA),
# so both see the same machine noise; checks first that both write the same bytes (--dump, cmp). Prints each
# run's line and then, per build and storm, min/median/max of the runs' median ns per event.
#   ROUNDS=5 OPS=5000 bench/encode_compare.sh /tmp/before/build build 8
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/encode_compare.sh BUILD_A BUILD_B [RUNS]" >&2; exit 2; }
A=$1/bench/encode_bench B=$2/bench/encode_bench RUNS=${3:-8}
ROUNDS=${ROUNDS:-5}
OPS=${OPS:-5000}
for x in "$A" "$B"; do [ -x "$x" ] || { echo "$x: not built (make BUILD/bench/encode_bench)" >&2; exit 1; }; done
tmp=$(mktemp -d /tmp/kansoku-enc.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$A" --rounds 1 --ops 2000 --dump "$tmp/a.ndjson" >/dev/null
"$B" --rounds 1 --ops 2000 --dump "$tmp/b.ndjson" >/dev/null
if cmp -s "$tmp/a.ndjson" "$tmp/b.ndjson"; then
	echo "output: identical ($(wc -l <"$tmp/a.ndjson") events, $(wc -c <"$tmp/a.ndjson") bytes)"
else
	echo "output: DIFFERENT: $(cmp "$tmp/a.ndjson" "$tmp/b.ndjson" 2>&1 | head -1)"
fi
one() { # BIN LABEL: its exec and rr medians, appended to LABEL.exec and LABEL.rr
	"$1" --rounds "$ROUNDS" --ops "$OPS" | tee -a "$tmp/$2.log" | awk -v f="$tmp/$2" '
		$1 == "exec" || $1 == "rr" {print $8 >> (f "." $1)}'
}
for r in $(seq "$RUNS"); do
	if [ $((r % 2)) = 1 ]; then one "$A" A; one "$B" B; else one "$B" B; one "$A" A; fi
done
spread() { sort -n "$1" | awk '{a[NR] = $1} END {m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
	printf "min %s median %.0f max %s", a[1], m, a[NR]}'; }
for s in exec rr; do
	echo "$s ns/event (median of each run, $RUNS runs of $ROUNDS x $OPS ops): A $(spread "$tmp/A.$s")   B $(spread "$tmp/B.$s")"
done
