#!/bin/sh
# A short run (25 s by default) of the rule-loader fuzzer for the test runner; a crash or leak fails it.
# The long run is `make fuzz` (FUZZ_SECONDS, default 180).
set -u
BUILD=${1:-build}
SECONDS_=${2:-25}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$(dirname "$0")"/corpus/* "$dir"/
"$BUILD"/fuzz/fuzz_rules -max_total_time="$SECONDS_" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
	-dict="$(dirname "$0")"/rules.dict \
	-artifact_prefix="$BUILD"/fuzz/ "$dir" >"$dir"/log 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	tail -40 "$dir"/log
	echo "fuzz_rules failed (exit $rc): the crashing input is in $BUILD/fuzz/"
fi
grep -aE '^Done [0-9]+ runs' "$dir"/log
exit $rc
