#!/bin/bash
# Instructions of both config passes of a start, counted by callgrind: the
# same count on every run, where wall and CPU seconds on a shared 2-core
# machine vary by +-30% from one run to the next (issue 13).
#
#   /usr/bin/python3 bench/bench_scale.py --only start --reps 1 --keep \
#       --setups static,ours-live,ours-new            # prints its workdir
#   bash bench/callgrind_start.sh <workdir>
#
# For static, ours-live and ours-new (each as bench_scale left it: the second
# start), then ours-live and ours-new on a store reset to what the first start
# saw (live: only each MD's key and certificate in domains/; new: empty), it
# runs `apache2 -k start` under callgrind, waits for the daemon, stops it by
# its PID and reads the totals: the launcher's is the first pass (the dry
# run); the daemon starts from a copy of the launcher's counters, so its
# total minus the launcher's is the second pass. User-space instructions
# only: what the kernel spends (opening and creating files) is not in them.
# About 2 minutes per case for 1000 vhosts.
set -euo pipefail

work=${1:?usage: callgrind_start.sh <bench_scale workdir>}
out=$(mktemp -d /tmp/callgrind_start.XXXXXX)

# prints "<pass 1> <pass 2>" (instructions)
count() {
    local d=$1 dir=$2 pid launcher daemon i
    mkdir -p "$dir"
    rm -f "$d/run/httpd.pid"
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" \
        /usr/sbin/apache2 -f "$d/conf/httpd.conf" -k start >"$dir/log" 2>&1 &
    launcher=$!
    wait "$launcher"
    for i in $(seq 1 1200); do
        [ -s "$d/run/httpd.pid" ] && break
        sleep 0.5
    done
    pid=$(cat "$d/run/httpd.pid")
    kill "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
    # children of the daemon are stopped with it; their files are not read
    launcher=$(sed -n 's/^summary: //p' "$dir/cg.$launcher")
    daemon=$(sed -n 's/^summary: //p' "$dir/cg.$pid")
    echo "$launcher $((daemon - launcher))"
}

printf '%-10s %16s %7s %16s %7s %7s\n' case pass-1 /static pass-2 /static both
base1=0
base2=0
for spec in static:static: live:ours-live: new:ours-new: live-1st:ours-live:live new-1st:ours-new:new; do
    IFS=: read -r name inst reset <<<"$spec"
    d="$work/scale-$inst-start0"
    [ -d "$d" ] || { echo "$name: no $d (run bench_scale.py --keep with that set-up)"; continue; }
    [ -z "$reset" ] || /usr/bin/python3 "$(dirname "$0")/bench_scale.py" --reset-store "$d" "$reset"
    read -r p1 p2 < <(count "$d" "$out/$name")
    if [ "$name" = static ]; then
        base1=$p1
        base2=$p2
    fi
    awk -v n="$name" -v a="$p1" -v b="$p2" -v x="$base1" -v y="$base2" 'BEGIN {
        printf "%-10s %16.0f %6.2fx %16.0f %6.2fx %6.2fx\n", n, a, a / x, b, b / y, (a + b) / (x + y) }'
done
rm -rf "$out"
