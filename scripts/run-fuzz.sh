#!/usr/bin/env bash
# Runs each libFuzzer harness of BUILD/fuzz for SECONDS, starting from its
# committed corpus (tests/fuzz/corpus/NAME, copied: the run's own finds
# stay out of the tree), with ASan and UBSan. One TAP point per harness: a
# crash, a leak, a sanitizer report or a timeout is a failure, shown with
# the input that caused it. Ends with "N passed, N failed". A third
# argument runs only the harnesses whose name contains it (gate: fuzz_gate).
set -uo pipefail

build=$1 seconds=${2:-60} only=${3:-}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0 failed=0 n=0
bins=()
for bin in "$top/$build"/fuzz/fuzz_*; do
	case $bin in *.o | *.d) continue ;; esac
	case $(basename "$bin") in *"$only"*) bins+=("$bin") ;; esac
done
if [ ${#bins[@]} -eq 0 ]; then
	echo "Bail out! no harness in $build/fuzz matches '$only'"
	exit 1
fi
echo "1..${#bins[@]}"
for bin in "${bins[@]}"; do
	name=$(basename "$bin")
	n=$((n + 1))
	mkdir -p "$work/$name/corpus" "$work/$name/crash" "$work/$name/tmp"
	cp "$top/tests/fuzz/corpus/$name"/* "$work/$name/corpus/" 2>/dev/null
	# -timeout: one input taking 10 s is a hang; -rss_limit_mb: a blow-up.
	# TMPDIR: the harness's own files, removed with $work even after a crash.
	TMPDIR="$work/$name/tmp" "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/$name/crash/" "$work/$name/corpus" >"$work/$name.log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$')
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$work/$name.log" | tail -1)
	if [ $rc -eq 0 ] && [ -z "$(ls -A "$work/$name/crash")" ]; then
		echo "ok $n - $name: ${runs:-?} inputs in ${seconds} s, no finding (${cov:-cov: ?})"
		passed=$((passed + 1))
	else
		echo "not ok $n - $name: a finding (exit $rc)"
		grep -E 'ERROR|runtime error|SUMMARY|==[0-9]+==' "$work/$name.log" | head -20 | sed 's/^/# /'
		# A harness's own report of what it found (fuzz_gate's verdicts).
		grep '^finding: ' "$work/$name.log" | head -40 | sed 's/^/# /'
		for c in "$work/$name/crash"/*; do
			[ -e "$c" ] && echo "# input $(basename "$c"): $(od -An -tx1 -v "$c" | tr -d '\n' | head -c 600)"
		done
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
