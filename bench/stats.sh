# shellcheck shell=bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Sourced by the storm benchmarks (bench/run.sh, bench/peer_rr.sh): reading bench/workload's JSON line and
# summing up rounds, the same way in both so their figures compare.

# field NAME: the number NAME in the JSON line on stdin ({"ops":...,"ops_per_s":...,"cpu_s":...})
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

# spread X...: min median max
spread() {
	printf '%s\n' "$@" | sort -n |
		awk '{a[NR] = $1} END {m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%s %.3f %s\n", a[1], m, a[NR]}'
}
