#!/bin/bash
# spasmctl analyze --plot: the SVG is well-formed, draws every EMG channel,
# the IMU and each event where analyze puts it, says what it shows and that
# spasmd does not diagnose; the events on stdout do not change; an output
# that cannot be written fails early and clearly; a failed run leaves nothing.
set -eu
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/integration/tap.sh

rec=tests/data/demo-lumbar.csv
ctl=$build/spasmctl

set +e
"$ctl" analyze --plot "$tmp/out.svg" "$rec" > "$tmp/plot.txt" 2> "$tmp/plot.err"; rc=$?
set -e
[ "$rc" = 0 ] && [ -s "$tmp/out.svg" ] && ok "analyze --plot exits 0 and writes the file" \
        || ko "analyze --plot: rc=$rc $(cat "$tmp/plot.err")"
"$ctl" analyze "$rec" > "$tmp/plain.txt"
cmp -s "$tmp/plain.txt" "$tmp/plot.txt" && ok "the same output on stdout as without --plot" \
        || { ko "stdout differs with --plot"; diff "$tmp/plain.txt" "$tmp/plot.txt" || true; }
"$ctl" analyze --json "$rec" > "$tmp/events.jsonl"
"$ctl" analyze --json --plot "$tmp/out2.svg" "$rec" > "$tmp/events2.jsonl"
cmp -s "$tmp/events.jsonl" "$tmp/events2.jsonl" && ok "the same JSON events as without --plot" \
        || ko "JSON events differ with --plot"
umask 022
"$ctl" analyze --plot "$tmp/out2.svg" "$rec" > /dev/null
[ "$(stat -c %a "$tmp/out2.svg")" = 644 ] && ok "an existing picture is replaced, mode from the umask" \
        || ko "mode $(stat -c %a "$tmp/out2.svg")"

# What the picture holds, read back as XML; one "PASS/FAIL what" line per check.
check_svg() {
        python3 - "$@" <<'EOF'
import json, sys
import xml.etree.ElementTree as ET

svg_path, events_path, want_title = sys.argv[1:4]
NS = '{http://www.w3.org/2000/svg}'


def check(cond, what):
    print(('PASS ' if cond else 'FAIL ') + what)


try:
    root = ET.parse(svg_path).getroot()
except ET.ParseError as e:
    check(False, 'well-formed XML: %s' % e)
    sys.exit(0)
check(root.tag == NS + 'svg', 'well-formed XML with an <svg> root')
events = [json.loads(l) for l in open(events_path) if '"summary"' not in l]
summary = [json.loads(l) for l in open(events_path) if '"summary"' in l][0]


def cls(e):
    return (e.get('class') or '').split()


def text(e):
    return ''.join(e.itertext())


texts = [(cls(e), text(e)) for e in root.iter(NS + 'text')]
lines = [e for e in root.iter(NS + 'polyline')]


def points(e):
    return [tuple(map(float, p.split(','))) for p in e.get('points').split()]


for ch in ('emg_left', 'emg_right'):
    env = [e for e in lines if 'envelope' in cls(e) and e.get('data-channel') == ch]
    flo = [e for e in lines if 'noise-floor' in cls(e) and e.get('data-channel') == ch]
    check(len(env) == 1 and len(points(env[0])) >= 500, 'an envelope polyline for %s' % ch)
    check(len(flo) == 1 and flo[0].get('stroke-dasharray') and len(points(flo[0])) >= 100,
          'a dashed noise floor for %s' % ch)
imu = [e for e in lines if 'imu' in cls(e)]
check(len(imu) == 1 and len(points(imu[0])) >= 500, 'an IMU motion trace')

# The time scale from the axis's own tick labels: x = x0 + t * k.
ticks = [(float(e.get('x')), float(text(e))) for e in root.iter(NS + 'text') if 'tick-t' in cls(e)]
check(len(ticks) >= 5 and ticks[0][1] == 0, 'time ticks from 0 (%d)' % len(ticks))
(xa, ta), (xb, tb) = ticks[0], ticks[-1]
k = (xb - xa) / (tb - ta)
x0 = xa
rects = [e for e in root.iter(NS + 'rect') if 'event' in cls(e)]
check(len(rects) == len(events) == 6, 'one rect per event (%d rects, %d events)' % (len(rects), len(events)))
for r, ev in zip(rects, events):
    x, w = float(r.get('x')), float(r.get('width'))
    want_x, want_w = x0 + ev['onset_s'] * k, (ev['offset_s'] - ev['onset_s']) * k
    check(cls(r)[1] == ev['type'] and r.get('data-id') == str(ev['id']),
          'event %d is drawn as %s' % (ev['id'], ev['type']))
    check(abs(x - want_x) <= 1.0 and abs(w - want_w) <= 1.0,
          'event %d spans %.3f..%.3f s: x %.1f (want %.1f), width %.1f (want %.1f)'
          % (ev['id'], ev['onset_s'], ev['offset_s'], x, want_x, w, want_w))
    label = [t for c, t in texts if 'event-label' in c and t == str(ev['id'])]
    check(len(label) == 1, 'event %d is numbered' % ev['id'])
check([r.get('class').split()[1] for r in rects] == ['twitch', 'spasm', 'voluntary', 'voluntary', 'spasm', 'voluntary'],
      'the classes in order: twitch, spasm, voluntary, voluntary, spasm, voluntary')
lane = [e for e in root.iter(NS + 'rect') if 'lane' in cls(e)][0]
end = float(lane.get('x')) + float(lane.get('width'))
check(abs(x0 - float(lane.get('x'))) <= 0.5 and abs(x0 + summary['duration_s'] * k - end) <= 1.0,
      'the time axis spans the lanes from 0 to %.3f s' % summary['duration_s'])

legend = ' '.join(text(e) for g in root.iter(NS + 'g') if 'legend' in cls(g) for e in g.iter(NS + 'text'))
for word in ('spasm', 'twitch', 'voluntary', 'noise floor'):
    check(word in legend, 'the legend names %s' % word)
title = [t for c, t in texts if 'title' in c]
check(len(title) == 1 and want_title in title[0], 'the title names the file (%r)' % title)
axis = [t for c, t in texts if 'axis-label' in c]
check(any('µV' in t for t in axis), 'an axis label in µV')
check(any('(s)' in t for t in axis), 'a time axis label in s')
check(any('spasmd informs, it does not diagnose' in t for c, t in texts), 'says spasmd informs and does not diagnose')
raw = open(svg_path, encoding='utf-8').read()
check('<script' not in raw and 'href' not in raw and '@import' not in raw and 'url(' not in raw,
      'no script and no external resource')
EOF
}

report() {
        while read -r verdict what; do
                if [ "$verdict" = PASS ]; then ok "$what"; else ko "$what"; fi
        done
}
check_svg "$tmp/out.svg" "$tmp/events.jsonl" demo-lumbar.csv > "$tmp/checks"
report < "$tmp/checks"

# Text from the file is escaped: a name and a note full of markup, bad UTF-8 and a control byte.
odd="$tmp/a&b<c>\"d'.csv"
{ grep '^#' "$rec"; printf '# note=<script>x("&amp;")</script> & \xff\xfe \001 ]]>\n'; grep -v '^#' "$rec"; } > "$odd"
"$ctl" analyze --plot "$tmp/odd.svg" "$odd" > /dev/null
python3 - "$tmp/odd.svg" <<'EOF' && ok "file name and note are escaped for XML" || ko "escaping"
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
texts = {e.get('class'): ''.join(e.itertext()) for e in root.iter('{http://www.w3.org/2000/svg}text')}
assert texts['title'].endswith('a&b<c>"d\'.csv'), texts['title']
assert texts['note'].startswith('note: <script>x("&amp;")</script> & '), texts['note']
assert not list(root.iter('{http://www.w3.org/2000/svg}script'))
EOF

# Standard input: the title says so.
"$ctl" analyze --plot "$tmp/stdin.svg" - < "$rec" > /dev/null
grep -q '&lt;stdin&gt;' "$tmp/stdin.svg" && ok "'-' reads standard input, titled <stdin>" || ko "stdin plot"

# Unwritable outputs fail before the analysis, clearly, and print no events.
for bad in "$tmp/no/such/dir/p.svg" "$tmp"; do
        set +e
        "$ctl" analyze --plot "$bad" "$rec" > "$tmp/bad.out" 2> "$tmp/bad.err"; rc=$?
        set -e
        if [ "$rc" = 73 ] && grep -q "cannot write the plot to $bad: " "$tmp/bad.err" && [ ! -s "$tmp/bad.out" ]; then
                ok "--plot $(basename "$bad"): exit 73, '$(cat "$tmp/bad.err")'"
        else
                ko "--plot $bad: rc=$rc $(cat "$tmp/bad.err")"
        fi
done

# A recording that turns out malformed part-way: no picture, no temporary file left behind.
{ head -n 2000 "$rec"; echo "1.0,x,1,0,0,9.8,0,0,0"; } > "$tmp/broken.csv"
mkdir "$tmp/outdir"
set +e
"$ctl" analyze --plot "$tmp/outdir/broken.svg" "$tmp/broken.csv" > /dev/null 2>&1; rc=$?
set -e
[ "$rc" = 65 ] && [ -z "$(ls -A "$tmp/outdir")" ] && ok "a malformed recording: exit 65 and no file left" \
        || ko "malformed: rc=$rc, left $(ls -A "$tmp/outdir")"

# Usage errors.
set +e
"$ctl" analyze --plot "$tmp/two.svg" "$rec" "$rec" > /dev/null 2> "$tmp/two.err"; rc=$?
"$ctl" analyze "$rec" --plot > /dev/null 2> "$tmp/noarg.err"; rc2=$?
set -e
[ "$rc" = 64 ] && grep -q "single FILE" "$tmp/two.err" && [ ! -e "$tmp/two.svg" ] \
        && ok "--plot with two files: exit 64" || ko "two files: rc=$rc $(cat "$tmp/two.err")"
[ "$rc2" = 64 ] && grep -q "needs a file name" "$tmp/noarg.err" && ok "--plot without a file: exit 64" \
        || ko "--plot without argument: rc=$rc2 $(cat "$tmp/noarg.err")"

done_tests test-plot
