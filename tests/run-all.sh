#!/bin/bash
# Runs the unit tests (cmocka) and the live tests (pytest, real BPF) and prints one summary line.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0 fail=0 skip=0
failed_suites=()

echo "== unit tests"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out")
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out")
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' <<<"$out")
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ $rc -ne 0 ] && [ "$f" = 0 ]; then
		f=1 # crashed before cmocka could count
	fi
	printf '  %-24s %s passed, %s failed\n' "$(basename "$t")" "$p" "$f"
	if [ "$f" != 0 ]; then
		echo "$out" | grep -E 'ERROR|FAILED|LINE' | sed 's/^/    /'
		failed_suites+=("$(basename "$t")")
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done

echo "== fuzz: rule loader and condition parser (25 s)"
if [ -x "$BUILD/fuzz/fuzz_rules" ]; then
	if out=$(./tests/fuzz/run-short.sh "$BUILD" 25 2>&1); then
		echo "  $out"
		pass=$((pass + 1))
	else
		echo "$out" | sed 's/^/  /'
		fail=$((fail + 1))
		failed_suites+=("fuzz")
	fi
else
	echo "  SKIPPED: $BUILD/fuzz/fuzz_rules not built (make $BUILD/fuzz/fuzz_rules: needs clang)"
	skip=$((skip + 1))
fi

echo "== live tests (real BPF programs)"
if [ "$(id -u)" != 0 ]; then
	echo "  SKIPPED: live tests load BPF programs and need root (run: sudo tests/run.sh)"
fi
out=$(KS_BUILD="$PWD/$BUILD" /usr/bin/python3 -m pytest tests/live -q -rs -p no:cacheprovider 2>&1)
rc=$?
echo "$out" | tail -40 | sed 's/^/  /'
summary=$(echo "$out" | grep -E '^[=]* *[0-9]+ (passed|failed|skipped|error)' | tail -1)
lp=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+')
lf=0
for n in $(grep -oE '[0-9]+ (failed|errors?)' <<<"$summary" | grep -oE '^[0-9]+'); do
	lf=$((lf + n))
done
ls=$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+')
lp=${lp:-0} lf=${lf:-0} ls=${ls:-0}
if [ $rc -ne 0 ] && [ "$lf" = 0 ] && [ $rc -ne 5 ]; then
	lf=1 # pytest itself failed (collection error, crash)
fi
[ "$lf" != 0 ] && failed_suites+=("live")
pass=$((pass + lp)) fail=$((fail + lf)) skip=$((skip + ls))

echo "== kernel matrix (Debian kernels under qemu)"
if [ "${KMATRIX:-1}" = 0 ]; then
	echo "  SKIPPED: KMATRIX=0"
	skip=$((skip + 1))
elif [ "$(id -u)" != 0 ] || ! command -v qemu-system-x86_64 >/dev/null; then
	echo "  SKIPPED: needs root and qemu-system-x86 (tests/install-deps.sh)"
	skip=$((skip + 1))
else
	out=$(./tests/kmatrix/run.sh 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  /'
	kp=$(grep -c '^RESULT .* OK' <<<"$out")
	kf=$(grep -c '^RESULT .* FAIL' <<<"$out")
	if [ $rc -ne 0 ] && [ "$kf" = 0 ]; then
		kf=1
	fi
	[ "$kf" != 0 ] && failed_suites+=("kmatrix")
	pass=$((pass + kp)) fail=$((fail + kf))
fi

echo
[ ${#failed_suites[@]} -gt 0 ] && echo "failing: ${failed_suites[*]}"
echo "$pass passed, $fail failed, $skip skipped"
if [ "$(id -u)" != 0 ] && [ "$fail" = 0 ]; then
	echo "INCOMPLETE: the live tests did not run (not root), so this run does not show that kansoku works"
	exit 2
fi
[ "$fail" = 0 ]
