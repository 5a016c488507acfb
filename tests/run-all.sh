#!/bin/bash
# Runs the unit tests (cmocka), the live tests (pytest, real BPF) and the kernel matrix, and prints one
# summary line, `N passed, N failed, N skipped` (CI reads it). Used by `make check`, `make unit`,
# `make live` (tests/README.md). Environment: BUILD (build dir), SUITES (any of "unit fuzz live kmatrix"),
# UNIT (unit suites to run, e.g. "test_config"; all by default), LIVE_K (a pytest -k expression).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SUITES=${SUITES:-unit fuzz live kmatrix}
pass=0 fail=0 skip=0
failed_suites=()

want() { [[ " $SUITES " == *" $1 "* ]]; }

# One cmocka suite, read from its TAP output (CMOCKA_MESSAGE_OUTPUT=TAP): "ok N - name", "not ok N -
# name" followed by "# " diagnostics, "not ok N # SKIP name". Results missing from the plan (a crash that
# killed the process) count as failed.
unit_suite() {
	local t=$1 out rc planned p=0 f=0 s=0 line name=""
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
	rc=$?
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' <<<"$out" | head -1)
	local failures=()
	while IFS= read -r line; do
		case $line in
		"# ok - "* | "# not ok - "*) name="" ;; # the group's own line
		"not ok "*"# SKIP"*) s=$((s + 1)) name="" ;;
		"not ok "*) f=$((f + 1)) name=${line#not ok * - } && failures+=("$name") ;;
		"ok "*) p=$((p + 1)) name="" ;;
		"# "*) [ -n "$name" ] && failures+=("  ${line#\# }") ;;
		esac
	done <<<"$out"
	if [ -n "$planned" ] && [ $((p + f + s)) -lt "$planned" ]; then
		failures+=("$((planned - p - f - s)) test(s) never reported (crashed?)")
		f=$((f + planned - p - f - s))
	fi
	if [ $rc -ne 0 ] && [ "$f" = 0 ]; then
		f=1 # died before cmocka could count
		failures+=("exit status $rc, no test reported failing; output:" "$(tail -20 <<<"$out")")
	fi
	printf '  %-24s %s passed, %s failed, %s skipped\n' "$(basename "$t")" "$p" "$f" "$s"
	if [ "$f" != 0 ]; then
		printf '    %s\n' "${failures[@]}"
		failed_suites+=("$(basename "$t")")
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

if want unit; then
	echo "== unit tests"
	for t in ${UNIT:-$(cd "$BUILD/tests" 2>/dev/null && ls test_* 2>/dev/null)}; do
		if [ ! -x "$BUILD/tests/$t" ]; then
			echo "  $t: not built ($BUILD/tests/$t): run make unit-bins"
			fail=$((fail + 1)) failed_suites+=("$t")
			continue
		fi
		unit_suite "$BUILD/tests/$t"
	done
fi

if want fuzz; then
	echo "== fuzz: rule loader and condition parser (25 s; make fuzz runs it for minutes)"
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
fi

if want live; then
	echo "== live tests (real BPF programs)"
	if [ "$(id -u)" != 0 ]; then
		echo "  SKIPPED: live tests load BPF programs and need root (run ./tests/run.sh: it uses sudo)"
	fi
	kargs=()
	[ -n "${LIVE_K:-}" ] && kargs=(-k "$LIVE_K")
	out=$(COLUMNS=200 KS_BUILD="$PWD/$BUILD" /usr/bin/python3 -m pytest tests/live -q -rfEs -p no:cacheprovider "${kargs[@]}" 2>&1)
	rc=$?
	# which tests failed, in full (a long run's tail would cut the list; COLUMNS: pytest cuts each line to
	# the terminal's width), then the tail without them
	names=$(sed -n '/short test summary info/,$p' <<<"$out" | grep -E '^(FAILED|ERROR) ')
	if [ -n "$names" ]; then
		echo "  failed or in error:"
		sed 's/^/    /' <<<"$names"
	fi
	grep -vE '^(FAILED|ERROR) ' <<<"$out" | tail -40 | sed 's/^/  /'
	summary=$(grep -E '^[=]* *[0-9]+ (passed|failed|skipped|deselected|error)' <<<"$out" | tail -1)
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
fi

if want kmatrix; then
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
fi

echo
[ ${#failed_suites[@]} -gt 0 ] && echo "failing: ${failed_suites[*]}"
echo "$pass passed, $fail failed, $skip skipped"
if want live && [ "$(id -u)" != 0 ] && [ "$fail" = 0 ]; then
	echo "INCOMPLETE: the live tests did not run (not root), so this run does not show that kansoku works"
	exit 2
fi
[ "$fail" = 0 ]
