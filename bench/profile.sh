#!/usr/bin/env bash
# Where octopoll's CPU per request goes, against the capped simulator: system calls,
# context switches and page faults per request, and a perf profile (cpu-clock samples; this
# VM has no hardware counters) grouped by component.
#
#   bench/profile.sh [BINARY]     # default: a build with line tables in target/prof
#
# Environment: DEVICES [300], INTERVAL [3s], WINDOW [20] (seconds per measurement),
# OP_PORT [29176]. Needs perf and strace. The binary should have symbols: the default
# builds one with `CARGO_PROFILE_RELEASE_DEBUG=line-tables-only` into target/prof.
cd "$(dirname "$0")/.."
source bench/lib.sh

DEVICES=${DEVICES:-300}
INTERVAL=${INTERVAL:-3s}
WINDOW=${WINDOW:-20}
OP_PORT=${OP_PORT:-29176}
if (($# > 0)); then
    BIN=$1
else
    log "building target/prof (release with line tables)"
    CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=none \
        cargo build --release --quiet --target-dir target/prof
    BIN=target/prof/release/octopoll
fi
command -v perf >/dev/null && command -v strace >/dev/null || { log "needs perf and strace"; exit 1; }

start_sim "$DEVICES" "$(free_base "$DEVICES" 31000)"
make_config "$WORK/p.yml" "$DEVICES" "$INTERVAL" 500ms 2
start_octopoll "$WORK/p.yml" "$OP_PORT"
sleep 8

c0=$(cpu_ticks "$OP_PID"); r0=$(snmp_requests "$OP_PORT"); p0=$(polls_ok "$OP_PORT")
perf stat -x, -e task-clock,context-switches,page-faults -p "$OP_PID" -- sleep "$WINDOW" 2>"$WORK/stat.txt"
c1=$(cpu_ticks "$OP_PID"); r1=$(snmp_requests "$OP_PORT"); p1=$(polls_ok "$OP_PORT")
reqs=$((r1 - r0))
stat() { awk -F, -v e="$1" '$3 == e { print $1 }' "$WORK/stat.txt"; }

timeout "$WINDOW" strace -c -f -p "$OP_PID" -o "$WORK/strace.txt" 2>/dev/null || true
r2=$(snmp_requests "$OP_PORT")
sreqs=$((r2 - r1))

perf record -e cpu-clock -F 4000 -g -o "$WORK/perf.data" -p "$OP_PID" -- sleep "$WINDOW" >/dev/null 2>&1
stop_pid "$OP_PID"

{
    echo
    echo "== where octopoll's CPU goes: $DEVICES capped devices (55 interfaces, 1500-byte replies) every $INTERVAL, $BIN, $(date -u +%FT%TZ)"
    machine_info | sed 's/^/   /'
    echo "   load average: $(loadavg)"
    echo "polls $((p1 - p0)), requests $reqs ($(calc "$reqs / ($p1 - $p0)") per poll) in ${WINDOW}s; CPU $(calc "1e6 * ($c1 - $c0) / $CLK_TCK / $reqs") us per request (ticks); task-clock $(calc "1e3 * $(stat task-clock) / $reqs") us per request"
    echo "per request: context switches $(calc "$(stat context-switches) / $reqs"), page faults $(calc "$(stat page-faults) / $reqs")"
    echo "system calls per request (strace -c -f, $sreqs requests):"
    awk -v n="$sreqs" 'NR > 2 && $1 !~ /^-/ && $NF != "total" { c = ($5 ~ /^[0-9]+$/) ? $4 : $4; printf "   %-14s %8.3f\n", $NF, $4 / n }' "$WORK/strace.txt" | sort -k2 -gr | head -8
    echo "perf samples by component (self time):"
    perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | awk '
        /^ *[0-9.]+%/ {
            pct = $1 + 0; line = $0
            if (line ~ /\[k\]/) g = "kernel"
            else if (line ~ /mi_|mimalloc/) g = "allocator (mimalloc)"
            else if (line ~ /octopoll::snmp::ber/) g = "octopoll snmp::ber (encode/decode)"
            else if (line ~ /octopoll::snmp::walk/) g = "octopoll snmp::walk"
            else if (line ~ /octopoll::snmp/) g = "octopoll snmp (client, udp, types)"
            else if (line ~ /octopoll::metrics/) g = "octopoll metrics (mapping, collector)"
            else if (line ~ /octopoll::poller/) g = "octopoll poller (poll loop, store)"
            else if (line ~ /tokio|mio/) g = "tokio/mio"
            else if (line ~ /mem(move|cpy|cmp|set)/) g = "libc mem* (copies)"
            else if (line ~ /libc/) g = "libc other"
            else if (line ~ /alloc::|core::|smallvec/) g = "std/core/smallvec"
            else g = "other"
            s[g] += pct
        }
        END { for (g in s) printf "   %6.2f%%  %s\n", s[g], g }' | sort -gr
    echo "kernel time by entry (perf, children):"
    perf report -i "$WORK/perf.data" --children --sort sym --stdio -g none 2>/dev/null |
        awk '/\[k\] (__x64_sys_[a-z_]+|asm_exc_page_fault|handle_softirqs)$/ { printf "   %7s  %s\n", $1, $NF }' | head -8
} | tee "${RESULT_FILE:-/dev/null}"
