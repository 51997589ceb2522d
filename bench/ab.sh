#!/usr/bin/env bash
# CPU of two octopoll builds on the same capped simulated fleet, alternated in one run:
# on this VM CPU seconds drift by a fifth between runs (bench/field.sh's peers moved
# together by 18-25% between two runs), so a change is judged by the ratio of two builds
# measured round by round, next to its instruction count (bench/instructions.sh).
#
#   bench/ab.sh OLD_BINARY NEW_BINARY        # from the repository root
#
# Environment (defaults in brackets):
#   DEVICES [500] INTERVAL [5s]   the fleet (100 polls/s, the rate of bench/field.sh)
#   WINDOW [50]    measured seconds per build and round: a whole cycle of 10 polls at the
#                  default cadence (one label refresh)
#   ROUNDS [3]     rounds, each measuring OLD then NEW
#   REFRESH []     set to 1 for every column every poll (labels refreshed each time)
#   OP_PORT [29175]
#
# CPU is utime+stime of octopoll only (/proc/PID/stat); the simulator is not counted.
cd "$(dirname "$0")/.."
source bench/lib.sh

(($# == 2)) || { echo "usage: bench/ab.sh OLD_BINARY NEW_BINARY" >&2; exit 2; }
DEVICES=${DEVICES:-500}
INTERVAL=${INTERVAL:-5s}
WINDOW=${WINDOW:-50}
ROUNDS=${ROUNDS:-3}
OP_PORT=${OP_PORT:-29175}

start_sim "$DEVICES" "$(free_base "$DEVICES" 32000)"
make_config "$WORK/ab.yml" "$DEVICES" "$INTERVAL" 1s 2
[[ -z "${REFRESH:-}" ]] || sed -i "/^defaults:/a\\  refresh: $REFRESH" "$WORK/ab.yml"
log "machine: $(machine_info | tr '\n' ' ')"

# measure BINARY: sets M (ms CPU per poll, us per request, polls).
declare -A R
measure() {
    BIN=$1 measure_octopoll "$WORK/ab.yml" "$WINDOW" ab
    M=("${R[ab_poll_ms]}" "${R[ab_req_us]}" "${R[ab_polls]}")
}

rows=()
ratios=()
for ((k = 1; k <= ROUNDS; k++)); do
    measure "$1"; old=("${M[@]}")
    measure "$2"; new=("${M[@]}")
    ratios+=("$(calc "${new[0]} / ${old[0]}")")
    rows+=("$(printf '%-6s %30s %30s %10s' "$k" "${old[0]}, ${old[1]} (${old[2]} polls)" \
        "${new[0]}, ${new[1]} (${new[2]} polls)" "${ratios[-1]}")")
done
{
    echo "== bench/ab.sh, $(date -u +%FT%TZ): $DEVICES capped devices every $INTERVAL${REFRESH:+, refresh: $REFRESH}, ${WINDOW}s per build and round"
    echo "   old: $1"
    echo "   new: $2"
    printf '%-6s %30s %30s %10s\n' round "old ms/poll, us/request" "new ms/poll, us/request" "new/old"
    printf '%s\n' "${rows[@]}"
    echo "   new/old CPU per poll, median of $ROUNDS rounds: $(printf '%s\n' "${ratios[@]}" | median)"
    echo "   load average at end: $(loadavg)"
} | tee "${RESULT_FILE:-/dev/null}"
