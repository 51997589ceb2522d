#!/usr/bin/env bash
# Instructions per device poll, counted by callgrind: repeatable where CPU seconds are not
# (on a shared 2-core VM the same binary measured 0.49-0.64 ms per poll in three runs).
# Use it to compare builds before and after a change:
#
#   bench/instructions.sh OLD_BINARY target/release/octopoll
#
# Each binary polls DEVICES simulated devices (55 interfaces) every second under
# `valgrind --tool=callgrind`; counters are zeroed after a warm-up and dumped after
# WINDOW seconds, so start-up is not counted. Needs valgrind (apt-get install valgrind).
#
# Environment: DEVICES [20], WARMUP [15], WINDOW [30], OP_PORT [29174], REFRESH [the
# default cadence; 1: every column every poll, snmp_exporter's work].
cd "$(dirname "$0")/.."
source bench/lib.sh

DEVICES=${DEVICES:-20}
WARMUP=${WARMUP:-15}
WINDOW=${WINDOW:-30}
OP_PORT=${OP_PORT:-29174}
(($# > 0)) || set -- target/release/octopoll
command -v valgrind >/dev/null || { log "valgrind is not installed"; exit 1; }

# The simulator comes from the first binary; it is not measured.
BIN=$1
start_sim "$DEVICES" "$(free_base "$DEVICES" 31000)"
make_config "$WORK/p.yml" "$DEVICES" 1s 300ms 2
[[ -z "${REFRESH:-}" ]] || sed -i "/^defaults:/a\\  refresh: $REFRESH" "$WORK/p.yml"

success() { self_metrics "$OP_PORT" | awk '/^octopoll_polls_total\{.*success/ { s += $2 } END { print s + 0 }'; }
first_ir=
for bin in "$@"; do
    out=$WORK/cg.$(basename "$bin").$RANDOM
    valgrind --tool=callgrind --callgrind-out-file="$out.%p" "$bin" --config "$WORK/p.yml" \
        --listen "127.0.0.1:$OP_PORT" --no-watch --log-level warn >/dev/null 2>"$out.log" &
    OP_PID=$!
    STARTED_PIDS+=("$OP_PID")
    wait_http "http://127.0.0.1:$OP_PORT/-/ready" 120 "$OP_PID"
    sleep "$WARMUP"
    callgrind_control -z "$OP_PID" >/dev/null 2>&1
    p0=$(success)
    sleep "$WINDOW"
    p1=$(success)
    callgrind_control -d "$OP_PID" >/dev/null 2>&1
    stop_pid "$OP_PID"
    # The dump made by -d is "<file>.<pid>.1"; the rest (shutdown) is not counted.
    ir=$(awk '/^summary:/ { print $2 }' "$out.$OP_PID.1")
    per=$(calc "$ir / ($p1 - $p0)")
    [[ -n "$first_ir" ]] || first_ir=$per
    printf '%-40s polls %5d  instructions %14s  per poll %12s  ratio to first %s\n' \
        "$bin" $((p1 - p0)) "$ir" "$per" "$(calc "$per / $first_ir")"
done
