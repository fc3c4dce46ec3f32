#!/bin/sh
# Run every cmocka unit test binary; the tests read shared data by paths
# relative to the project root. Prints one summary line and fails if any
# test fails or a sanitizer reports (ASan/UBSan abort the binary).
set -u
build=$1; shift
passed=0; failed=0; failed_names=""
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
for t in "$@"; do
        log="$t.log"
        if "$t" >"$log" 2>&1 && ! grep -qE 'runtime error|ERROR: AddressSanitizer|LeakSanitizer' "$log"; then
                n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
                passed=$((passed + ${n:-1}))
        else
                n=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
                failed=$((failed + ${n:-1}))
                failed_names="$failed_names $(basename "$t")"
                echo "---- $t failed:"; tail -n 40 "$log"
        fi
done
echo "unit ($build): $passed passed, $failed failed"
[ "$failed" -eq 0 ] || { echo "failing:$failed_names"; exit 1; }
