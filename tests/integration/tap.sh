# Sourced by the integration scripts: TAP-style "ok"/"not ok" lines and the
# closing "NAME: N passed, M failed" line that make check and CI read.
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
ko() { fail=$((fail + 1)); echo "not ok - $1"; }
# done_tests NAME: print the summary and fail if anything failed.
done_tests() { echo "$1: $pass passed, $fail failed"; [ "$fail" = 0 ]; }
