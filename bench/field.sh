#!/usr/bin/env bash
# CPU per SNMP request and per poll against agents as they are in the field, in one run,
# on the same agents: octopoll, snmp_exporter, and the floor (bench/floor.c: a blocking
# client that only sends a GETBULK and receives its reply), back to back and paced as
# octopoll's polls come.
#
#   bench/field.sh              # from the repository root
#
# Agents:
#   sim      `octopoll simulate`, 55 interfaces per device, replies capped at SIM_CAP bytes
#            (cut at the last varbind that fits, as Cisco IOS and net-snmp do)
#   snmpsim  Debian's snmpsim serving a recording of a real Cisco 3750 (55 of its 59
#            interfaces with 64-bit counters), REC_DEVICES copies as communities
#            rec-00.. of one snmpsimd; pysnmp answers at most 64 varbinds per GETBULK
#
# Environment (defaults in brackets):
#   DEVICES [1000] INTERVAL [10s] WINDOW [30]   octopoll on the simulator: devices, interval,
#                          measured seconds; snmp_exporter is scraped at the same rate
#   CADENCE_WINDOW [10 intervals]   window of octopoll's default-cadence run on the
#                          simulator: a whole cycle of 10 polls, one of them a label refresh
#   SIM_CAP [1500]         reply cap of the simulator (bytes)
#   REC_DEVICES [8] REC_INTERVAL [4s] REC_WINDOW [90]   the same on snmpsim (one Python
#                          process: about 80 requests/s, so far fewer polls)
#   RECORDING [/usr/share/doc/snmpsim/examples/data/cisco_16_switch.snmprec.gz]
#   FLOOR_N [20000] REC_FLOOR_N [1500]   requests per floor run (three runs per agent)
#   PACED_POLLS [1000] REC_PACED_POLLS [20]   polls per paced floor run: the floor's
#                          requests in chains of octopoll's requests per poll, one chain
#                          every INTERVAL / DEVICES, as a poller's come (three runs each)
#   SE_STREAMS [8]         serial curl streams pacing snmp_exporter
#   SKIP_BUILD=1           use the existing target/release/octopoll
#
# octopoll runs twice on each agent: with refresh: 1 (all 13 IF-MIB columns every poll,
# the work snmp_exporter does per scrape) and with the default cadence (label columns every
# 10th poll, counters and status every poll).
#
# CPU is utime+stime of the measured process only (/proc/PID/stat, 10 ms ticks; the agent
# is not counted). Requests: octopoll's octopoll_snmp_requests_total; snmp_exporter's
# snmp_scrape_packets_sent of one scrape times its collections; the floor counts its own.
cd "$(dirname "$0")/.."
source bench/lib.sh

DEVICES=${DEVICES:-1000}
INTERVAL=${INTERVAL:-10s}
WINDOW=${WINDOW:-30}
SIM_CAP=${SIM_CAP:-1500}
REC_DEVICES=${REC_DEVICES:-8}
REC_INTERVAL=${REC_INTERVAL:-4s}
REC_WINDOW=${REC_WINDOW:-90}
RECORDING=${RECORDING:-/usr/share/doc/snmpsim/examples/data/cisco_16_switch.snmprec.gz}
FLOOR_N=${FLOOR_N:-20000}
REC_FLOOR_N=${REC_FLOOR_N:-1500}
SE_STREAMS=${SE_STREAMS:-8}
OP_PORT=${OP_PORT:-29163}
SE_PORT=${SE_PORT:-29117}

SE_BIN=$(command -v prometheus-snmp-exporter) || { log "prometheus-snmp-exporter is not installed"; exit 1; }
SNMPSIMD=$(command -v snmpsimd) || { log "snmpsim is not installed (apt-get install snmpsim)"; exit 1; }
SE_VERSION=$("$SE_BIN" --version 2>&1 | awk '/version/ { print $3; exit }')
[[ -n "${SKIP_BUILD:-}" ]] || build
[[ -n "${SKIP_BUILD:-}" ]] || cargo build --release --quiet --example async_floor
ASYNC_FLOOR=target/release/examples/async_floor
build_floor
log "machine: $(machine_info | tr '\n' ' ')"
declare -A R
R[load_start]=$(loadavg)

# measure_se CONFIG URLS RATE WINDOW PREFIX: snmp_exporter paced at RATE scrapes/s.
measure_se() {
    local cfg=$1 urls=$2 rate=$3 window=$4 p=$5 ok ticks el first
    se_start "$cfg" "$SE_PORT"
    # warm-up: one scrape of each target (Go runtime, connection setup), not measured
    curl -s --max-time 60 -K "$urls" >/dev/null 2>&1 || true
    first=$(head -1 "$urls" | sed 's/^url = "\(.*\)"$/\1/')
    R[${p}_packets]=$(curl -s --max-time 60 "$first" | awk '/^snmp_scrape_packets_sent/ { print $2 }')
    log "snmp_exporter paced: $rate scrapes/s over $SE_STREAMS streams, ${window}s"
    read -r ok ticks el < <(se_paced "$SE_PORT" "$urls" "$rate" "$SE_STREAMS" "$window")
    R[${p}_polls]=$ok
    R[${p}_cpu_s]=$(calc "$ticks / $CLK_TCK")
    R[${p}_poll_ms]=$(calc "1000 * ${R[${p}_cpu_s]} / $ok")
    R[${p}_req_us]=$(calc "1000 * ${R[${p}_poll_ms]} / ${R[${p}_packets]}")
    stop_pid "$SE_PID"
}

# floor_runs HOST PORT COMMUNITY N PREFIX [PACE_US CHAIN]: three runs; R[PREFIX] = median,
# R[PREFIX_all].
floor_runs() {
    local all=() i
    for i in 1 2 3; do all+=("$(floor_us "$1" "$2" "$3" "$4" ${6:+25 "$6" "$7"})"); done
    R[$5]=$(printf '%s\n' "${all[@]}" | median)
    R[$5_all]="${all[*]}"
}

# paced_floor HOST PORT COMMUNITY AGENT DEVICES INTERVAL_S POLLS [KEY]: the floor paced as
# octopoll's polls come (R[AGENT_r1_req_per_poll] requests back to back, one such chain
# every INTERVAL_S / DEVICES), POLLS chains; R[KEY], by default R[AGENT_paced_floor].
paced_floor() {
    local chain pace
    chain=$(printf '%.0f' "${R[${4}_r1_req_per_poll]}")
    pace=$(calc "1e6 * $6 / $5" | cut -d. -f1)
    R[${4}_paced_chain]=$chain
    R[${4}_paced_pace]=$pace
    floor_runs "$1" "$2" "$3" $((chain * $7)) "${8:-${4}_paced_floor}" "$pace" "$chain"
}

# paced_async_floor ARGS of paced_floor: the same requests from tokio (bench/async_floor.rs);
# R[AGENT_paced_async].
paced_async_floor() {
    FLOOR_BIN=$ASYNC_FLOOR paced_floor "$@" "${4}_paced_async"
}

# snmp_exporter's module for one community: bench/snmp.yml renamed.
se_module() { # NAME COMMUNITY
    awk -v name="$1" -v c="$2" 'NR == 1, /^if_mib:/ { if (/^if_mib:/) print name ":"; next }
        /^    community:/ { print "    community: " c; next } { print }' bench/snmp.yml
}

# ---------------------------------------------------------------- A. capped simulator
BASE_PORT=$(free_base "$DEVICES" 20000)
start_sim "$DEVICES" "$BASE_PORT"
floor_runs 127.0.0.1 "$BASE_PORT" public "$FLOOR_N" sim_floor
make_config "$WORK/op-sim.yml" "$DEVICES" "$INTERVAL" 2s 2
sed '/^defaults:/a\  refresh: 1' "$WORK/op-sim.yml" >"$WORK/op-sim-r1.yml"
measure_octopoll "$WORK/op-sim-r1.yml" "$WINDOW" sim_r1
# The default cadence over a whole refresh cycle (10 polls), not only polls between refreshes.
measure_octopoll "$WORK/op-sim.yml" "${CADENCE_WINDOW:-$(calc "10 * ${INTERVAL%s}")}" sim_op
for ((i = 0; i < DEVICES; i++)); do
    printf 'url = "http://127.0.0.1:%d/snmp?target=127.0.0.1:%d&module=if_mib"\noutput = "/dev/null"\n' \
        "$SE_PORT" $((BASE_PORT + i))
done >"$WORK/urls-sim.txt"
measure_se bench/snmp.yml "$WORK/urls-sim.txt" "$(calc "$DEVICES / ${INTERVAL%s}")" "$WINDOW" sim_se
paced_floor 127.0.0.1 "$BASE_PORT" public sim "$DEVICES" "${INTERVAL%s}" "${PACED_POLLS:-1000}"
paced_async_floor 127.0.0.1 "$BASE_PORT" public sim "$DEVICES" "${INTERVAL%s}" "${PACED_POLLS:-1000}"
stop_pid "$SIM_PID"

# ---------------------------------------------------------------- B. snmpsim, a recording
REC_DIR=$WORK/snmpsim-data
mkdir -p "$REC_DIR" "$WORK/snmpsim-cache"
for ((i = 0; i < REC_DEVICES; i++)); do
    c=$(printf 'rec-%02d' "$i")
    if [[ $RECORDING == *.gz ]]; then zcat "$RECORDING"; else cat "$RECORDING"; fi >"$REC_DIR/$c.snmprec"
done
chmod -R a+rwX "$WORK"
REC_PORT=$(free_base 1 31900)
# pysnmp's own v2c path (not --v2c-arch, which answered a 13-column GETBULK in seconds).
"$SNMPSIMD" --data-dir="$REC_DIR" --cache-dir="$WORK/snmpsim-cache" --logging-method=null \
    --agent-udpv4-endpoint="127.0.0.1:$REC_PORT" --process-user=nobody --process-group=nogroup \
    >"$WORK/snmpsimd.log" 2>&1 &
REC_PID=$!
STARTED_PIDS+=("$REC_PID")
for ((i = 0; i < 600; i++)); do
    snmpget -v2c -c rec-00 -t 1 -r 0 "127.0.0.1:$REC_PORT" 1.3.6.1.2.1.1.5.0 >/dev/null 2>&1 && break
    kill -0 "$REC_PID" 2>/dev/null || { cat "$WORK/snmpsimd.log" >&2; exit 1; }
    sleep 0.5
done
log "snmpsimd pid $REC_PID on 127.0.0.1:$REC_PORT: $REC_DEVICES copies of $(basename "$RECORDING")"
floor_runs 127.0.0.1 "$REC_PORT" rec-00 "$REC_FLOOR_N" rec_floor
# what one GETBULK of octopoll's 13 IF-MIB columns, 25 repetitions, brings back
IF_COLUMNS="1.3.6.1.2.1.2.2.1.2 1.3.6.1.2.1.2.2.1.7 1.3.6.1.2.1.2.2.1.8 1.3.6.1.2.1.2.2.1.13
    1.3.6.1.2.1.2.2.1.14 1.3.6.1.2.1.2.2.1.19 1.3.6.1.2.1.2.2.1.20 1.3.6.1.2.1.31.1.1.1.1
    1.3.6.1.2.1.31.1.1.1.6 1.3.6.1.2.1.31.1.1.1.10 1.3.6.1.2.1.31.1.1.1.15
    1.3.6.1.2.1.31.1.1.1.18 1.3.6.1.2.1.2.2.1.1"
# shellcheck disable=SC2086
R[rec_vb_per_reply]=$(snmpbulkget -v2c -c rec-00 -Cr25 -On "127.0.0.1:$REC_PORT" $IF_COLUMNS | wc -l)
{
    printf 'defaults: {interval: %s, timeout: 1s, retries: 2, max_repetitions: 25, modules: [if_mib]}\nauths:\n' "$REC_INTERVAL"
    for ((i = 0; i < REC_DEVICES; i++)); do printf '  c%02d: {version: 2c, community: rec-%02d}\n' "$i" "$i"; done
    echo 'devices:'
    for ((i = 0; i < REC_DEVICES; i++)); do printf '  - {name: rec-%02d, address: "127.0.0.1:%d", auth: c%02d}\n' "$i" "$REC_PORT" "$i"; done
} >"$WORK/op-rec.yml"
sed 's/^defaults: {/defaults: {refresh: 1, /' "$WORK/op-rec.yml" >"$WORK/op-rec-r1.yml"
measure_octopoll "$WORK/op-rec-r1.yml" "$REC_WINDOW" rec_r1
measure_octopoll "$WORK/op-rec.yml" "$REC_WINDOW" rec_op
for ((i = 0; i < REC_DEVICES; i++)); do se_module "$(printf 'rec%02d' "$i")" "$(printf 'rec-%02d' "$i")"; done >"$WORK/snmp-rec.yml"
for ((i = 0; i < REC_DEVICES; i++)); do
    printf 'url = "http://127.0.0.1:%d/snmp?target=127.0.0.1:%d&module=rec%02d"\noutput = "/dev/null"\n' "$SE_PORT" "$REC_PORT" "$i"
done >"$WORK/urls-rec.txt"
measure_se "$WORK/snmp-rec.yml" "$WORK/urls-rec.txt" "$(calc "$REC_DEVICES / ${REC_INTERVAL%s}")" "$REC_WINDOW" rec_se
floor_runs 127.0.0.1 "$REC_PORT" rec-00 "$REC_FLOOR_N" rec_floor_after
paced_floor 127.0.0.1 "$REC_PORT" rec-00 rec "$REC_DEVICES" "${REC_INTERVAL%s}" "${REC_PACED_POLLS:-20}"
paced_async_floor 127.0.0.1 "$REC_PORT" rec-00 rec "$REC_DEVICES" "${REC_INTERVAL%s}" "${REC_PACED_POLLS:-20}"
stop_pid "$REC_PID"

# ---------------------------------------------------------------- report
goal() { awk -v x="$1" -v y="$2" 'BEGIN { print (x <= y ? "MET" : "MISSED") }'; }
{
    echo
    echo "== CPU per request and per poll on capped agents: octopoll vs snmp_exporter $SE_VERSION vs the floor, $(date -u +%FT%TZ)"
    machine_info | sed 's/^/   /'
    echo "   load average at start: ${R[load_start]}, at end: $(loadavg)"
    for a in sim rec; do
        if [[ $a == sim ]]; then
            echo "-- simulator, replies capped at $SIM_CAP bytes: octopoll $DEVICES devices every $INTERVAL, snmp_exporter at the same rate, ${WINDOW}s each (octopoll at the default cadence: ${CADENCE_WINDOW:-$(calc "10 * ${INTERVAL%s}")}s)"
        else
            echo "-- snmpsim, $(basename "$RECORDING") ($REC_DEVICES copies, ${R[rec_vb_per_reply]} varbinds per 13-column GETBULK): $REC_DEVICES devices every $REC_INTERVAL, ${REC_WINDOW}s each"
        fi
        row() { printf '%-34s %14s %12s %14s %10s\n' "$@"; }
        row "" "octopoll r=1" octopoll snmp_exporter floor
        row "CPU us per SNMP request" "${R[${a}_r1_req_us]}" "${R[${a}_op_req_us]}" "${R[${a}_se_req_us]}" "${R[${a}_floor]}"
        row "CPU ms per 55-interface poll" "${R[${a}_r1_poll_ms]}" "${R[${a}_op_poll_ms]}" "${R[${a}_se_poll_ms]}" ""
        row "SNMP requests per poll" "${R[${a}_r1_req_per_poll]}" "${R[${a}_op_req_per_poll]}" "${R[${a}_se_packets]}" ""
        row "polls measured" "${R[${a}_r1_polls]}" "${R[${a}_op_polls]}" "${R[${a}_se_polls]}" ""
        echo "   octopoll r=1: refresh: 1, every column every poll (snmp_exporter's work); octopoll: the default refresh (labels every 10th poll)"
        echo "   floor runs (us per request): ${R[${a}_floor_all]}${R[${a}_floor_after_all]:+; after the exporters: ${R[${a}_floor_after_all]}}"
        echo "   paced floor (chains of ${R[${a}_paced_chain]} requests every ${R[${a}_paced_pace]} us, as octopoll r=1's polls come): ${R[${a}_paced_floor]} us per request (runs: ${R[${a}_paced_floor_all]})"
        echo "   paced async floor (the same requests from a tokio task, bench/async_floor.rs): ${R[${a}_paced_async]} us per request (runs: ${R[${a}_paced_async_all]})"
        for o in r1 op; do
            echo "   octopoll $o: ${R[${a}_${o}_cpu_s]} CPU s, ${R[${a}_${o}_reqs]} requests, failed polls since start ${R[${a}_${o}_failed]}, peak RSS ${R[${a}_${o}_rss]} MiB"
        done
        echo "   snmp_exporter: ${R[${a}_se_cpu_s]} CPU s"
        for o in r1 op; do
            r1=$(calc "${R[${a}_${o}_req_us]} / ${R[${a}_floor]}")
            r2=$(calc "${R[${a}_${o}_poll_ms]} / ${R[${a}_se_poll_ms]}")
            echo "   octopoll $o: ratio to the floor per request: $r1 (goal <= 1.5: $(goal "$r1" 1.5)); to snmp_exporter per poll: $r2 (goal <= 0.15: $(goal "$r2" 0.15)); to the paced floor per request: $(calc "${R[${a}_${o}_req_us]} / ${R[${a}_paced_floor]}"); to the paced async floor: $(calc "${R[${a}_${o}_req_us]} / ${R[${a}_paced_async]}")"
        done
        echo "   snmp_exporter/floor per request: $(calc "${R[${a}_se_req_us]} / ${R[${a}_floor]}")"
    done
} | tee "${RESULT_FILE:-/dev/null}"
