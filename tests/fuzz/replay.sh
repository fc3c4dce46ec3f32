#!/bin/sh
# Replay the committed corpus and crash reproducers of each fuzz target once,
# through the gcc ASan+UBSan build (make fuzz-replay, part of make check).
#   tests/fuzz/replay.sh BINDIR TARGET...
# tests/fuzz/crashes/pending/ is left out: it holds reproducers of bugs that
# are reported but not fixed yet, which would fail every check until then.
set -u
bindir=$1; shift
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:${UBSAN_OPTIONS:-}"
failed=""; inputs=0
for t in "$@"; do
        log="$bindir/$t.log"
        if "$bindir/$t" "tests/fuzz/corpus/$t" "tests/fuzz/crashes/$t" >"$log" 2>&1 \
                && ! grep -qE 'runtime error|ERROR: AddressSanitizer|LeakSanitizer' "$log"; then
                n=$(sed -n 's/.*: \([0-9]*\) inputs replayed$/\1/p' "$log" | tail -n1)
                inputs=$((inputs + ${n:-0}))
        else
                failed="$failed $t"
                echo "---- fuzz target $t failed:"; tail -n 40 "$log"
        fi
done
echo "fuzz-replay: $# targets, $inputs inputs replayed under ASan+UBSan"
[ -z "$failed" ] || { echo "failing:$failed"; exit 1; }
