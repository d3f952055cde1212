#!/usr/bin/env bash
# Run libFuzzer targets one after the other, each for SECONDS:
#
#   bash test/fuzz/run.sh SECONDS build/fuzz/fuzz_json build/fuzz/fuzz_time ...
#
# (`make fuzz FUZZ_SECONDS=N` calls this with every target.) For a target
# fuzz_<name>:
#   seeds      test/fuzz/corpus/<name>/ (read, never written)
#   dictionary test/fuzz/fuzz_<name>.dict, if there is one
#   options    test/fuzz/fuzz_<name>.options, if there is one: more libFuzzer
#              options, one line (e.g. -detect_leaks=0 for a target where
#              OpenSSL's caches make the per-input leak check cost 80%; leaks
#              are still reported when the run ends)
#   learned    build/fuzz/corpus/<name>/ (new inputs; kept between runs)
#   crashes    build/fuzz/artifacts/<name>/ (crash-*, leak-*, timeout-*, oom-*;
#              slow-unit-* are kept there too but do not fail the run)
#   output     build/fuzz/logs/<name>.log (its tail is printed on a crash)
# Prints one line per target, "fuzz <name>: <runs> runs, <crashes> crashes",
# then a total with the CPU time used, which is also appended to
# build/fuzz/cpu.log. Exits 1 if any target crashed, leaked, timed out on one
# input (FUZZ_TIMEOUT seconds, default 30) or ran out of memory. FUZZ_ARGS
# adds libFuzzer options. Run long sessions with `nice -n 19`.
set -uo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 SECONDS FUZZ_BINARY..." >&2
    exit 2
fi
secs=$1
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
timeout=${FUZZ_TIMEOUT:-30}
# Inputs that failed: crash-*, leak-*, timeout-*, oom-* (not slow-unit-*: a
# run at nice 19 on a busy machine can take seconds for a fast input).
count_failures() {
    find "$1" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
                         -o -name 'oom-*' \) | wc -l
}

total_runs=0
total_crashes=0
total_cpu=0
failed=0

for bin in "$@"; do
    dir=$(dirname "$bin")
    base=$(basename "$bin")
    name=${base#fuzz_}
    seeds=$root/test/fuzz/corpus/$name
    dict=$root/test/fuzz/$base.dict
    opts=$root/test/fuzz/$base.options
    work=$dir/corpus/$name
    art=$dir/artifacts/$name
    log=$dir/logs/$name.log
    mkdir -p "$work" "$art" "$dir/logs"
    before=$(count_failures "$art")

    args=(-max_total_time="$secs" -timeout="$timeout" -rss_limit_mb=2560
          -print_final_stats=1 -artifact_prefix="$art/")
    [ -f "$dict" ] && args+=(-dict="$dict")
    # shellcheck disable=SC2207
    [ -f "$opts" ] && args+=($(grep -v '^#' "$opts"))
    # shellcheck disable=SC2206
    [ -n "${FUZZ_ARGS:-}" ] && args+=(${FUZZ_ARGS})
    dirs=("$work")
    [ -d "$seeds" ] && dirs+=("$seeds")

    TIMEFORMAT='%3U %3S'
    { time "$bin" "${args[@]}" "${dirs[@]}" >"$log" 2>&1; } 2>"$log.time"
    rc=$?
    cpu=$(awk '{ printf "%.0f", $1 + $2 }' "$log.time")

    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    if [ -z "$runs" ]; then
        runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    fi
    runs=${runs:-0}
    crashes=$(( $(count_failures "$art") - before ))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1   # died without writing an input (e.g. while loading the corpus)
    fi

    echo "fuzz $name: $runs runs, $crashes crashes"
    if [ "$crashes" -gt 0 ]; then
        failed=1
        echo "---- $log (tail); inputs in $art/"
        tail -n 60 "$log"
        echo "----"
    fi
    echo "$(date -u +%FT%TZ) $name seconds=$secs cpu=$cpu runs=$runs crashes=$crashes" \
        >>"$dir/cpu.log"
    total_runs=$((total_runs + runs))
    total_crashes=$((total_crashes + crashes))
    total_cpu=$((total_cpu + cpu))
done

echo "fuzz total: $# targets, $total_runs runs, $total_crashes crashes, ${total_cpu}s CPU"
exit $failed
