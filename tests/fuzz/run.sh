#!/bin/sh
# Run the libFuzzer targets (make fuzz).
#   tests/fuzz/run.sh BUILD SECONDS JOBS TARGET...
# Each target runs SECONDS, at most JOBS at once, starting from the committed
# corpus (tests/fuzz/corpus/T, read only) and what earlier runs found
# (BUILD/corpus/T, where new inputs go). Crashes land in BUILD/crashes/T,
# logs in BUILD/logs/T.log; a table of executions, coverage and crashes
# closes the run, and it fails if any target crashed.
#
#   tests/fuzz/run.sh merge BUILD TARGET...
# adds to tests/fuzz/corpus/T the inputs of BUILD/corpus/T that cover more;
# what is there already (the named seeds from make-seeds.py) stays.
set -u

# What a target reads beyond the default 4 KiB: a recording line reaches its
# 64 KiB limit only in a longer input.
max_len() {
        case $1 in
        recording) echo 70000 ;;
        detector|history-scan|history-open|config) echo 16384 ;;
        *) echo 4096 ;;
        esac
}

opts() {
        printf '%s' "-max_len=$(max_len "$1") -timeout=30 -rss_limit_mb=2048"
        [ -f "tests/fuzz/$1.dict" ] && printf ' %s' "-dict=tests/fuzz/$1.dict"
        return 0
}

# The history and config targets write files: under TMPDIR, a RAM directory
# made for this run when /dev/shm is there (their fsync()s then cost nothing).
scratch() {
        base=/tmp
        [ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
        tmp=$(mktemp -d "$base/spasmd-fuzz.XXXXXX")
        trap 'rm -rf "$tmp"' EXIT INT TERM
        export TMPDIR="$tmp"
}

export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

case ${1:-} in
one)
        # One target, started by xargs below (TMPDIR is already set).
        build=$2; seconds=$3; t=$4
        mkdir -p "$build/corpus/$t" "$build/crashes/$t"
        seeds=; [ -d "tests/fuzz/corpus/$t" ] && seeds="tests/fuzz/corpus/$t"
        echo "fuzz: $t for ${seconds}s"
        # shellcheck disable=SC2046,SC2086
        "$build/fuzzer/$t" -max_total_time="$seconds" -print_final_stats=1 $(opts "$t") \
                -artifact_prefix="$build/crashes/$t/" "$build/corpus/$t" $seeds \
                >"$build/logs/$t.log" 2>&1
        echo "fuzz: $t finished (exit $?)"
        exit 0
        ;;
merge)
        shift; build=$1; shift
        scratch
        mkdir -p "$build/logs"
        for t in "$@"; do
                mkdir -p "$build/corpus/$t" "tests/fuzz/corpus/$t"
                # shellcheck disable=SC2046
                "$build/fuzzer/$t" -merge=1 $(opts "$t") "tests/fuzz/corpus/$t" "$build/corpus/$t" \
                        >"$build/logs/$t.merge.log" 2>&1 || { echo "merge of $t failed, see $build/logs/$t.merge.log"; exit 1; }
                echo "$t: $(ls "tests/fuzz/corpus/$t" | wc -l) inputs, $(du -sk "tests/fuzz/corpus/$t" | cut -f1) KiB"
        done
        exit 0
        ;;
esac

build=$1; seconds=$2; jobs=$3; shift 3
mkdir -p "$build/logs"
scratch
# Reproducers newer than this are this run's.
touch "$tmp/start"
printf '%s\n' "$@" | xargs -P "$jobs" -n 1 "$0" one "$build" "$seconds"

# The summary: libFuzzer's last status line and final stats, per target.
crashed=""
printf '\n%-14s %8s %12s %8s %8s %8s\n' target seconds executions cov ft crashes
for t in "$@"; do
        log="$build/logs/$t.log"
        execs=$(grep -a '^stat::number_of_executed_units:' "$log" | sed 's/^[^:]*:: *[a-z_]*: *//' | tail -n1)
        last=$(grep -aE '^#[0-9]+[[:space:]]+(INITED|NEW|REDUCE|pulse|DONE|RELOAD)[[:space:]]+cov: [0-9]+ ft: [0-9]+' "$log" | tail -n1)
        cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
        ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
        n=$(find "$build/crashes/$t" -type f -newer "$tmp/start" 2>/dev/null | wc -l)
        grep -aqE '^==[0-9]+==ERROR|^SUMMARY: |invariant .* does not hold|deadly signal' "$log" && crashed="$crashed $t"
        [ -n "$execs" ] || crashed="$crashed $t(did-not-finish)"
        printf '%-14s %8s %12s %8s %8s %8s\n' "$t" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$n"
done
if [ -n "$crashed" ]; then
        echo "crashed:$crashed (reproducers in $build/crashes/, logs in $build/logs/)"
        exit 1
fi
echo "no crashes; new inputs are in $build/corpus/ (tests/fuzz/run.sh merge $build TARGET... keeps them)"
