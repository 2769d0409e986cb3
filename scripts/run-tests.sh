#!/usr/bin/env bash
# Runs the C test binaries (TAP) and the bats system tests (TAP), shows
# their output, and ends with one line: "N passed, N failed[, N skipped]".
# A binary that dies without reporting counts as one failure.
# --sanitized: BUILD was built with ASan and UBSan; the unit tests and the
# agent's system tests run, and every sanitizer report is one failure.
set -uo pipefail

unit=1 system=1 sanitized=0
case "${1:-}" in
--unit-only) system=0; shift ;;
--system-only) unit=0; shift ;;
--sanitized) sanitized=1; shift ;;
esac
build=$1; shift
top=$(cd "$(dirname "$0")/.." && pwd)

passed=0 failed=0 skipped=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# count SUITE CMD...: runs one TAP producer and adds up its points.
count() {
	local suite=$1 out rc p f s
	shift
	echo "== $suite"
	# Through a file, not /dev/stderr: reopening that truncates a log
	# file that stdout and stderr were both redirected to.
	"$@" 2>&1 | tee "$tmp"
	rc=${PIPESTATUS[0]}
	out=$(cat "$tmp")
	s=$(grep -cE '^ok .*# (skip|SKIP)' <<<"$out")
	p=$(( $(grep -cE '^ok ' <<<"$out") - s ))
	f=$(grep -cE '^not ok ' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $suite exited with status $rc without reporting a failure"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

if [ $sanitized -eq 1 ]; then
	reports=$(mktemp -d)
	trap 'rm -f "$tmp"; rm -rf "$reports"' EXIT
	export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=1"
	export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
	# Only the agent's suites: the gate's and the CLI's code is the same
	# build, and the demo and the benchmarks measure, they do not check.
	system_suites=(agent.bats puller.bats origins.bats)
fi
if [ $unit -eq 1 ]; then
	for t in "$@"; do
		count "$(basename "$t")" "$t"
	done
fi
if [ $sanitized -eq 1 ]; then
	export AOPGATE_BUILD=$top/$build
	count "system (bats, sanitized)" bats --tap "${system_suites[@]/#/$top/tests/system/}"
	# One failure per report; the report itself is shown.
	for r in "$reports"/*; do
		[ -e "$r" ] || continue
		echo "not ok - sanitizer report $(basename "$r")"
		sed 's/^/# /' "$r" | head -60
		failed=$((failed + 1))
	done
elif [ $system -eq 1 ]; then
	export AOPGATE_BUILD=$top/$build
	# Two files at a time (AOPGATE_TEST_JOBS): a system test mostly waits
	# on a namespace, a listener or a deadline, not on the CPU. Each file's
	# tests still run in order, and every lab has names of its own.
	count "system (bats)" bats --tap --jobs "${AOPGATE_TEST_JOBS:-2}" \
		--no-parallelize-within-files "$top/tests/system"
	count "bench smoke" "$top/tests/bench/run" --smoke --tap --build "$top/$build"
fi

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line+=", $skipped skipped"
echo "$line"
[ "$failed" -eq 0 ]
