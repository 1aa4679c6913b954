#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz longer than ctest does, each on
# a scratch copy of its corpus, and prints per harness the inputs run,
# exec/s, coverage (cov: and ft: of libFuzzer's last line) and crashes.  Any
# crash, leak, timeout or out-of-memory input found is copied into the
# harness's corpus (tests/fuzz/corpus/NAME/regress-...) as a regression
# input for ctest -L fuzz, and its path printed.
#
#     bench/fuzz.sh [-t SECONDS] [-j JOBS] [-w WORKDIR] [-b BUILD_DIR] [NAME...]
#
#   -t  seconds per harness (60)
#   -j  harnesses at once (1; the machine's cores bound it)
#   -w  keep the working corpora in WORKDIR/NAME (reused by the next run,
#       so runs add up); default a temporary directory, removed
#   -b  the build with the harnesses (build-fuzz; configured with CC=clang
#       and -DPYBPF_FUZZ=ON, and built, when it has none)
#   NAME  the harnesses to run (default every one)
# Exits 1 when any harness found something.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
secs=60 jobs=1 work="" build=build-fuzz
while getopts "t:j:w:b:" o; do
	case $o in
	t) secs=$OPTARG ;;
	j) jobs=$OPTARG ;;
	w) work=$OPTARG ;;
	b) build=$OPTARG ;;
	*) sed -n '2,19p' "$0" >&2 && exit 2 ;;
	esac
done
shift $((OPTIND - 1))

# name:longest input (as in CMakeLists.txt's FUZZ_HARNESSES)
all=(linetable:4096 dump:65536 elf:65536 kallsyms:16384 procmaps:16384 procfs:4096
	parse:256 proto:65536 config:8192 pushqueue:16384 pull:1024)
want=("$@")
run=()
for spec in "${all[@]}"; do
	if [ ${#want[@]} -eq 0 ] || [[ " ${want[*]} " == *" ${spec%%:*} "* ]]; then run+=("$spec"); fi
done
[ ${#run[@]} -gt 0 ] || { echo "fuzz.sh: no harness named ${want[*]}" >&2; exit 2; }

if [ ! -x "$build/fuzz/fuzz_pull" ]; then
	CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYBPF_FUZZ=ON >/dev/null
fi
cmake --build "$build" --target fuzzers -j "$jobs" >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -n "$work" ] || work=$tmp/work
mkdir -p "$work"

one() { # NAME MAXLEN: one harness, its figures in $tmp/NAME.res
	local name=$1 max_len=$2 dir=$work/$1 art=$tmp/art-$1
	mkdir -p "$dir" "$art"
	cp -n "$src/tests/fuzz/corpus/$name/"* "$dir/" 2>/dev/null || true
	local start=$SECONDS
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$build/fuzz/fuzz_$name" -max_total_time="$secs" -max_len="$max_len" -timeout=20 -report_slow_units=20 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" "$dir" \
		>"$tmp/$name.log" 2>&1 || true
	local execs rate cov ft found=()
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$tmp/$name.log" | tail -1)
	cov=$({ grep -o 'cov: [0-9]*' "$tmp/$name.log" || true; } | tail -1 | cut -d' ' -f2)
	ft=$({ grep -o 'ft: [0-9]*' "$tmp/$name.log" || true; } | tail -1 | cut -d' ' -f2)
	for f in "$art"/*; do
		[ -f "$f" ] || continue
		local base dest
		base=$(basename "$f")
		dest=$src/tests/fuzz/corpus/$name/regress-$base
		cp "$f" "$dest"
		found+=("$dest")
	done
	printf '%-10s %5ss %12s execs %9s exec/s   cov %5s  ft %6s   crashes %s\n' "$name" \
		$((SECONDS - start)) "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${#found[@]}" \
		>"$tmp/$name.res"
	for f in "${found[@]}"; do
		echo "    found: $f" >>"$tmp/$name.res"
		grep -m 3 -E '^(SUMMARY|==[0-9]+==ERROR)|runtime error' "$tmp/$name.log" |
			sed 's/^/      /' >>"$tmp/$name.res" || true
	done
	[ ${#found[@]} -eq 0 ]
}

echo "== fuzzing: ${#run[@]} harnesses, ${secs} s each, $jobs at once"
status=0
pids=()
for spec in "${run[@]}"; do
	one "${spec%%:*}" "${spec#*:}" &
	pids+=($!)
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
for spec in "${run[@]}"; do cat "$tmp/${spec%%:*}.res"; done
exit $status
