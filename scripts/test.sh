#!/usr/bin/env bash
# The whole test suite: unit and integration tests (real BPF, real Pythons),
# once in a normal build and once under AddressSanitizer + UBSan; then the
# parsers' libFuzzer harnesses over their corpora (only those: label fuzz)
# in a clang build.  Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Debian's own interpreters of other versions, cached outside the clone
# (/var/cache/pybpf/roots): the first run downloads them, later runs reuse them.
scripts/make-roots.sh
# pyenv's builds of 3.9-3.13 (shared libpython with symbols), cached in ~/.pyenv
scripts/make-pyenv.sh
status=0

echo "== build (RelWithDebInfo) and test"
scripts/build.sh build
ctest --test-dir build --output-on-failure || status=1

echo "== build (ASan + UBSan) and test"
scripts/build.sh build-asan -DPYBPF_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure || status=1

echo "== build (clang, libFuzzer + ASan + UBSan) and fuzz the parsers (tests/fuzz)"
CC=clang scripts/build.sh build-fuzz -DPYBPF_FUZZ=ON
ctest --test-dir build-fuzz -L fuzz --output-on-failure || status=1

# The failing checks again, last: a log cut in its middle keeps its end
if [ "$status" -ne 0 ]; then
	echo "== what failed"
	for d in build build-asan build-fuzz; do
		log=$d/Testing/Temporary/LastTest.log
		[ -f "$log" ] || continue
		awk -v dir="$d" '/^[0-9]+\/[0-9]+ Testing: / { name = $3 }
			/^FAIL: |ERROR: AddressSanitizer|runtime error:|Assertion|\[  FAILED  \]/ {
				if (n++ < 40) print dir ": " name ": " substr($0, 1, 400) }' "$log"
		if [ -f "$d/Testing/Temporary/LastTestsFailed.log" ]; then
			sed "s|^|$d: failed: |" "$d/Testing/Temporary/LastTestsFailed.log"
		fi
	done
fi
exit $status
