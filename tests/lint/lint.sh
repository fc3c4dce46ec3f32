#!/bin/bash
# make lint: cppcheck and clang-tidy on daemon/ and cli/, with the project's
# compile flags, against the accepted findings.
#
#   tests/lint/lint.sh BUILD [--update] -- CPPFLAGS...
#
# cppcheck runs with --enable=warning,portability,performance --inline-suppr
# and tests/lint/cppcheck-suppressions.txt (what cppcheck itself cannot know,
# each with a reason); clang-tidy with the committed .clang-tidy. Every
# finding of either is then looked up in tests/lint/baseline.txt: a finding
# there is accepted (the file says why), any other fails. Findings are keyed
# by file, check and message, not by line, so moving code around does not
# disturb the baseline; one more of the same in the same file is new.
# Baseline entries no longer found are listed, to be removed.
#
# --update prints the new findings in the baseline's format, to be added
# there with a reason (or fixed).
#
# clang-tidy results are kept per file in BUILD/lint/, keyed by the file, the
# project headers it includes, the flags, .clang-tidy and the tool's version,
# so a second run only looks at what changed. LINT_JOBS sets the parallelism
# (default: the number of CPUs). About a minute of CPU from scratch.
set -euo pipefail
export LC_ALL=C    # one collation for sort and comm
build=${1:?usage: tests/lint/lint.sh BUILD [--update] -- CPPFLAGS...}
shift
update=false
while [ $# -gt 0 ] && [ "$1" != -- ]; do
        case $1 in
        --update) update=true ;;
        *) echo "lint: unknown option $1" >&2; exit 64 ;;
        esac
        shift
done
[ "${1:-}" = -- ] && shift
flags=("$@")
here=tests/lint
baseline=$here/baseline.txt
out=$build/lint
mkdir -p "$out/tidy"
jobs=${LINT_JOBS:-$(nproc)}

for t in cppcheck clang-tidy; do
        command -v $t > /dev/null || { echo "lint: $t is missing; run make deps" >&2; exit 1; }
done
mapfile -t sources < <(find daemon cli -name '*.c' | sort)

# --- cppcheck -----------------------------------------------------------------------
# Only -D and -I matter to it; with -D given it checks that configuration only.
cpp_flags=()
for f in "${flags[@]}"; do
        case $f in -D* | -I*) cpp_flags+=("$f") ;; esac
done
rc=0
cppcheck --enable=warning,portability,performance --inline-suppr --error-exitcode=1 -q -j "$jobs" --std=c11 \
        --suppressions-list=$here/cppcheck-suppressions.txt "${cpp_flags[@]}" \
        --template='{file}:{line}: warning: {message} [cppcheck-{id}]' daemon cli 2> "$out/cppcheck.txt" || rc=$?
# 1 is "findings" (checked against the baseline below); anything else is cppcheck failing.
if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
        echo "lint: cppcheck failed (exit $rc):" >&2
        cat "$out/cppcheck.txt" >&2
        exit 1
fi

# --- clang-tidy ---------------------------------------------------------------------
# The static analyzer's shallow mode (less inlining across calls) takes a
# quarter of the time of the deep one and, on this tree, finds the same but
# one false positive; LINT_DEEP=1 runs the deep one (and may report more).
if [ -n "${LINT_DEEP:-}" ]; then analyzer=""; else analyzer="-Xclang -analyzer-config -Xclang mode=shallow"; fi
key_common=$( {
        echo "$analyzer"
        clang-tidy --version
        cat .clang-tidy
        printf '%s\n' "${flags[@]}"
} | sha256sum | cut -d' ' -f1)
printf '%s\0' "${flags[@]}" > "$out/flags"
tidy_one() { # FILE: its findings into $out/tidy/FILE.txt, unless they are there for this key
        local src=$1 res key
        res=$out/tidy/${src//\//_}
        local -a fl
        mapfile -d '' -t fl < "$out/flags"
        # The file and the project headers it includes (the preprocessor's list; system ones left out).
        key=$( { echo "$key_common"; cc -MM -std=c11 "${fl[@]}" "$src" 2> /dev/null | tr -d '\\' | tr ' ' '\n' \
                | grep -E '\.[ch]$' | sort -u | xargs cat; } | sha256sum | cut -d' ' -f1)
        [ -f "$res.key" ] && [ "$(cat "$res.key")" = "$key" ] && return 0
        # clang-tidy's exit status says little (1 for a warning in some versions): the output is the result.
        clang-tidy --quiet "$src" -- -std=c11 "${fl[@]}" $analyzer > "$res.txt" 2> "$res.err" || true
        if grep -q 'error:' "$res.txt" && grep -q 'clang-diagnostic-error' "$res.txt"; then
                echo "lint: clang-tidy cannot compile $src:" >&2
                grep 'error:' "$res.txt" >&2
                rm -f "$res.key"
                return 1
        fi
        echo "$key" > "$res.key"
}
export -f tidy_one
export out key_common analyzer
if ! printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} bash -c 'tidy_one "$1"' _ {}; then
        echo "lint: clang-tidy failed" >&2
        exit 1
fi

# --- findings against the baseline ----------------------------------------------------
# One line per finding, "FILE: CHECK: MESSAGE", paths relative to the tree;
# a finding in a header that several files include counts once; line numbers
# and complexity scores are left out (a function over the threshold stays
# accepted as it changes), other numbers in messages are kept.
top=$(pwd)
{
        for s in "${sources[@]}"; do cat "$out/tidy/${s//\//_}.txt"; done
        cat "$out/cppcheck.txt"
} | sed -n "s|^\\($top/\\)\\{0,1\\}\\([^:]*\\):\\([0-9]*\\):\\([0-9]*:\\)\\{0,1\\} warning: \\(.*\\) \\[\\([^]]*\\)\\]\$|\\2:\\3:\\4 \\2: \\6: \\5|p" \
        | sed 's/has cognitive complexity of [0-9]* (threshold/has cognitive complexity of N (threshold/' \
        | sort -u | cut -d' ' -f2- | sort > "$out/findings.txt"

# The baseline: findings, each in a block that starts with a "# reason".
awk -v f="$baseline" '
        /^[[:space:]]*$/ { reason = 0; next }
        /^#/ { reason = 1; next }
        !reason { printf "%s:%d: an accepted finding without a reason (a # line above it, in its block)\n", f, NR; bad = 1 }
        END { exit bad }
' "$baseline"
grep -v '^#' "$baseline" | grep -v '^[[:space:]]*$' | sort > "$out/accepted.txt" || true

new=$(comm -23 "$out/findings.txt" "$out/accepted.txt")
gone=$(comm -13 "$out/findings.txt" "$out/accepted.txt")
n_all=$(wc -l < "$out/findings.txt")
n_acc=$(wc -l < "$out/accepted.txt")
if [ -n "$gone" ]; then
        echo "lint: these accepted findings are gone; remove them from $baseline:"
        echo "$gone" | sed 's/^/  /'
fi
if $update; then
        [ -n "$new" ] && { echo "# REASON"; echo "$new"; }
        exit 0
fi
if [ -n "$new" ]; then
        echo "lint: new findings (fix them, or add them to $baseline with a reason):"
        # With their lines, for finding them.
        while IFS= read -r f; do
                file=${f%%: *}; rest=${f#*: }; check=${rest%%: *}
                grep -h -F -- "[$check]" "$out/cppcheck.txt" "$out"/tidy/*.txt 2>/dev/null \
                        | sed "s|^$top/||" | grep -F -- "$file:" | sed 's/^/  /' | sort -u | head -5
        done < <(echo "$new" | sort -u)
        echo "lint: $(echo "$new" | wc -l) new, $n_all findings, $n_acc accepted"
        exit 1
fi
echo "lint: cppcheck and clang-tidy: $n_all findings, all accepted in $baseline"
