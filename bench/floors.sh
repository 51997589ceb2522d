#!/usr/bin/env bash
# What sending and receiving alone costs per SNMP request, before a poller does any work:
# the blocking floor (bench/floor.c) against the same requests sent from tokio
# (bench/async_floor.rs) in every variant a poller could choose, on one capped simulated
# device, back to back and paced as bench/field.sh paces its floors.
#
#   bench/floors.sh             # from the repository root
#
# Variants of the tokio client: multi-thread or current-thread runtime, with a timeout per
# request or none, one request at a time or each chain's requests sent at once
# (pipelined). None of them decodes a reply.
#
# Environment (defaults in brackets): N [12000] requests per run, ROUNDS [3],
# PACE_US [10000] and CHAIN [12] for the paced runs (field.sh's on the simulator: 1,000
# devices every 10 s, 12 requests per poll with refresh: 1), SIM_CAP [1500],
# SKIP_BUILD=1 to use the existing binaries.
cd "$(dirname "$0")/.."
source bench/lib.sh

N=${N:-12000}
ROUNDS=${ROUNDS:-3}
PACE_US=${PACE_US:-10000}
CHAIN=${CHAIN:-12}
[[ -n "${SKIP_BUILD:-}" ]] || build
[[ -n "${SKIP_BUILD:-}" ]] || cargo build --release --quiet --example async_floor
ASYNC_FLOOR=target/release/examples/async_floor
build_floor
BASE_PORT=$(free_base 1 27700)
start_sim 1 "$BASE_PORT"

# VARIANTS: "name runtime timeout pipeline"; the C floor is "c".
VARIANTS=("c - - -" "multi,timeout multi 1 0" "multi multi 0 0" "current,timeout current 1 0"
    "current current 0 0" "multi,timeout,pipelined multi 1 1" "current,timeout,pipelined current 1 1")
declare -A ALL

# run NAME RUNTIME TIMEOUT PIPELINE PACE CHAIN: CPU microseconds per request of one run
run() {
    if [[ $1 == c ]]; then
        floor_us 127.0.0.1 "$BASE_PORT" public "$N" 25 "$5" "$6"
    else
        ASYNC_FLOOR_RUNTIME=$2 ASYNC_FLOOR_TIMEOUT=$3 ASYNC_FLOOR_PIPELINE=$4 \
            FLOOR_BIN=$ASYNC_FLOOR floor_us 127.0.0.1 "$BASE_PORT" public "$N" 25 "$5" "$6"
    fi
}

for mode in "back-to-back 0 1" "paced $PACE_US $CHAIN"; do
    read -r m pace chain <<<"$mode"
    log "$m: $N requests per run, $ROUNDS rounds"
    for ((r = 1; r <= ROUNDS; r++)); do
        # Variants interleaved in each round, so drift on the VM falls on all of them.
        for v in "${VARIANTS[@]}"; do
            read -r name rt to pl <<<"$v"
            [[ $name == *pipelined* && $m == back-to-back ]] && continue
            ALL[$m/$name]+="$(run "$name" "$rt" "$to" "$pl" "$pace" "$chain") "
        done
    done
done
stop_pid "$SIM_PID"

{
    echo "== bench/floors.sh: CPU per request of sending and receiving alone, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "machine: $(machine_info | tr '\n' ' ')"
    echo "agent: octopoll simulate, 55 interfaces, replies capped at ${SIM_CAP:-1500} bytes; GETBULK of the 13 IF-MIB columns, max-repetitions 25"
    for m in back-to-back paced; do
        [[ $m == paced ]] && echo "paced: chains of $CHAIN requests every $PACE_US us" || echo "back-to-back:"
        c=$(printf '%s\n' ${ALL[$m/c]} | median)
        for v in "${VARIANTS[@]}"; do
            read -r name _ <<<"$v"
            [[ -n "${ALL[$m/$name]:-}" ]] || continue
            med=$(printf '%s\n' ${ALL[$m/$name]} | median)
            printf '  %-28s median %7.2f us per request  (runs: %s)  ratio to the C floor so sent %s\n' \
                "$name" "$med" "${ALL[$m/$name]% }" "$(calc "$med / $c")"
        done
    done
    bf=$(printf '%s\n' ${ALL[back-to-back/c]} | median)
    pf=$(printf '%s\n' ${ALL[paced/c]} | median)
    best=$(for v in "${VARIANTS[@]}"; do read -r name _ <<<"$v"; [[ $name == c ]] && continue
        for m in back-to-back paced; do [[ -n "${ALL[$m/$name]:-}" ]] && printf '%s\n' ${ALL[$m/$name]} | median; done; done | sort -g | head -1)
    echo "cheapest tokio variant (median of its runs): $best us per request"
    echo "  = $(calc "$best / $bf") x the back-to-back C floor ($bf us): 1.5 x that floor leaves $(calc "1.5 * $bf - $best") us per request for all of a poller's own work"
    echo "  = $(calc "$best / $pf") x the paced C floor ($pf us): 1.5 x that floor leaves $(calc "1.5 * $pf - $best") us"
} | tee "${RESULT_FILE:-/dev/null}"
