#!/usr/bin/env bash
# octopoll vs prometheus snmp_exporter on the same simulated fleet, in one run.
#
#   bench/compare.sh            # from the repository root
#
# The simulated devices cap their replies at SIM_CAP bytes (default 1500, as common agents;
# SIM_CAP=0 for the uncapped simulator of the runs before 2026-12: 3 requests per poll
# instead of 11). bench/field.sh compares CPU per request and per poll on capped agents
# and snmpsim, with the floor.
#
# Environment (defaults in brackets):
#   DEVICES [1000]      devices for the paced CPU-per-poll and /metrics measurements
#   SAT_DEVICES [5000]  simulated devices (the largest saturation step)
#   SAT_LADDER [2000 3000 4000 5000]  octopoll saturation steps: devices at 1 s
#   INTERVAL [10s]      octopoll interval for the paced measurement
#   TIMEOUT [2s]        octopoll per-request timeout there (x3 attempts must be < INTERVAL)
#   WINDOW [30]         seconds of each paced measurement window
#   SAT_WINDOW [15]     seconds of each saturation window
#   SE_STREAMS [8]      serial curl streams that pace snmp_exporter at octopoll's paced
#                       rate (DEVICES / INTERVAL scrapes per second in all)
#   SE_SAT_CONC [64]    snmp_exporter scrape concurrency for saturation
#   BASE_PORT [auto]    first simulated device port (127.0.0.1); default: first free
#                       range from 20000 up
#   OP_PORT [29161] SE_PORT [29116]  HTTP ports of octopoll and snmp_exporter
#   RENDERS [7]         /metrics renders timed (median reported)
#   SKIP_BUILD=1        use the existing target/release/octopoll
#
# Counters: CPU = utime+stime from /proc/PID/stat of the exporter process only (the
# simulator and curl are excluded); peak RSS = VmHWM from /proc/PID/status; octopoll
# polls = sum of octopoll_polls_total{result="success"}; snmp_exporter polls = scrapes
# answered 200 with a body > 10 kB.
cd "$(dirname "$0")/.."
source bench/lib.sh

DEVICES=${DEVICES:-1000}
SAT_DEVICES=${SAT_DEVICES:-5000}
SAT_LADDER=${SAT_LADDER:-2000 3000 4000 5000}
INTERVAL=${INTERVAL:-10s}
TIMEOUT=${TIMEOUT:-2s}
WINDOW=${WINDOW:-30}
SAT_WINDOW=${SAT_WINDOW:-15}
SE_STREAMS=${SE_STREAMS:-8}
SE_SAT_CONC=${SE_SAT_CONC:-64}
BASE_PORT=${BASE_PORT:-}
OP_PORT=${OP_PORT:-29161}
SE_PORT=${SE_PORT:-29116}
RENDERS=${RENDERS:-7}
((SAT_DEVICES >= DEVICES)) || SAT_DEVICES=$DEVICES

# ---------------------------------------------------------------- prerequisites
SE_BIN=$(command -v prometheus-snmp-exporter || true)
if [[ -z "$SE_BIN" ]]; then
    log "installing prometheus-snmp-exporter"
    SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q prometheus-snmp-exporter
    SE_BIN=$(command -v prometheus-snmp-exporter)
fi
SE_VERSION=$("$SE_BIN" --version 2>&1 | awk '/version/ { print $3; exit }')
SE_CONFIG=bench/snmp.yml
SE_AUTH_PARAM=
# snmp_exporter >= 0.23 splits auths: and modules: (and wants &auth=); convert ours.
if [[ $(printf '%s\n0.23.0\n' "$SE_VERSION" | sort -V | head -1) == 0.23.0 ]]; then
    SE_CONFIG=$WORK/snmp-new.yml
    {
        printf 'auths:\n  public_v2:\n    version: 2\n    community: public\nmodules:\n'
        awk '/^#/ || /^  version:/ || /^  auth:/ || /^    community:/ { next } { print "  " $0 }' bench/snmp.yml
    } >"$SE_CONFIG"
    SE_AUTH_PARAM='&auth=public_v2'
fi
"$SE_BIN" --config.file="$SE_CONFIG" --dry-run >/dev/null 2>&1 ||
    { log "snmp_exporter rejects $SE_CONFIG"; "$SE_BIN" --config.file="$SE_CONFIG" --dry-run; exit 1; }
[[ -n "${SKIP_BUILD:-}" ]] || build

log "machine: $(machine_info | tr '\n' ' ')"
declare -A R  # results
[[ -n "$BASE_PORT" ]] || BASE_PORT=$(free_base "$SAT_DEVICES" 20000)
start_sim "$SAT_DEVICES" "$BASE_PORT"
R[load_start]=$(loadavg)


# ---------------------------------------------------------------- octopoll, paced
make_config "$WORK/op-paced.yml" "$DEVICES" "$INTERVAL" "$TIMEOUT" 2
measure_octopoll "$WORK/op-paced.yml" "$WINDOW" op keep
R[op_cpu_per_poll_ms]=${R[op_poll_ms]}

log "timing $RENDERS renders of /metrics ($DEVICES devices)"
for ((i = 0; i < RENDERS; i++)); do
    curl -s -o "$WORK/metrics.txt" --max-time 60 -w '%{time_total}\n' "http://127.0.0.1:$OP_PORT/metrics"
done >"$WORK/render.txt"
R[op_render_median_s]=$(median <"$WORK/render.txt")
R[op_render_max_s]=$(sort -g "$WORK/render.txt" | tail -1)
R[op_metrics_bytes]=$(stat -c %s "$WORK/metrics.txt")
R[op_metrics_series]=$(grep -vc '^#' "$WORK/metrics.txt")
R[op_up]=$(devices_up "$OP_PORT")
R[op_rss_mb]=$(calc "$(vm_hwm_kb "$OP_PID") / 1024")
stop_pid "$OP_PID"

# ---------------------------------------------------------------- octopoll, paced, snmp_exporter's module
# The same fleet and pace with octopoll reading snmp_exporter's own module (bench/snmp.yml,
# the one snmp_exporter runs below) instead of its built-in if_mib: both tools then run
# one module definition, and octopoll's table engine is measured against its built-in.
awk -v f="$PWD/bench/snmp.yml" 'NR == 1 { print "module_files: [" f "]" }
    /^  modules:/ { print "  modules: [snmp:if_mib]"; next } { print }' \
    "$WORK/op-paced.yml" >"$WORK/op-module.yml"
measure_octopoll "$WORK/op-module.yml" "$WINDOW" opm keep
R[opm_cpu_per_poll_ms]=${R[opm_poll_ms]}
R[opm_series]=$(curl -s --max-time 60 "http://127.0.0.1:$OP_PORT/probe?device=sim-00000" | grep -vc '^#')
R[opm_rss_mb]=$(calc "$(vm_hwm_kb "$OP_PID") / 1024")
stop_pid "$OP_PID"

# ---------------------------------------------------------------- octopoll, saturation
# A ladder of fleet sizes, every device at a 1 s interval (timeout 300ms x 3 attempts fits
# in it): polls/s offered = devices. Saturation is where successful polls/s stop growing;
# "sustained" is the largest step at which >= 99% of polls succeed.
R[op_sat_polls_s]=0; R[op_sustained]=0; R[op_sat_rss_mb]=0
ladder_report=""
for n in $SAT_LADDER; do
    ((n <= SAT_DEVICES)) || continue
    make_config "$WORK/op-sat.yml" "$n" 1s 300ms 2
    start_octopoll "$WORK/op-sat.yml" "$OP_PORT"
    sleep 5
    m0=$(cpu_ticks "$SIM_PID"); c0=$(cpu_ticks "$OP_PID"); p0=$(polls_ok "$OP_PORT"); f0=$(polls_failed "$OP_PORT"); t0=$(now)
    log "octopoll saturation step: $n devices every 1s, ${SAT_WINDOW}s"
    sleep "$SAT_WINDOW"
    c1=$(cpu_ticks "$OP_PID"); p1=$(polls_ok "$OP_PORT"); f1=$(polls_failed "$OP_PORT"); t1=$(now); m1=$(cpu_ticks "$SIM_PID")
    ok_s=$(calc "($p1 - $p0) / ($t1 - $t0)")
    fail_s=$(calc "($f1 - $f0) / ($t1 - $t0)")
    cores=$(calc "($c1 - $c0) / $CLK_TCK / ($t1 - $t0)")
    simc=$(calc "($m1 - $m0) / $CLK_TCK / ($t1 - $t0)")
    share=$(calc "($p1 - $p0) / ($p1 - $p0 + $f1 - $f0 + 0.000001)")
    rss=$(calc "$(vm_hwm_kb "$OP_PID") / 1024")
    ladder_report+=$(printf '%8d %10s %10s %8s %8s %8s %10s' "$n" "$ok_s" "$fail_s" "$share" "$cores" "$simc" "$rss")$'\n'
    if (($(calc "$ok_s > ${R[op_sat_polls_s]}") == 1)); then
        R[op_sat_polls_s]=$ok_s; R[op_sat_cores]=$cores; R[op_sat_sim_cores]=$simc
        R[op_sat_cpu_per_poll_ms]=$(calc "1000 * $cores / $ok_s")
    fi
    (($(calc "$share >= 0.99") == 1)) && R[op_sustained]=$ok_s
    (($(calc "$rss > ${R[op_sat_rss_mb]}") == 1)) && R[op_sat_rss_mb]=$rss
    stop_pid "$OP_PID"
done

# ---------------------------------------------------------------- snmp_exporter
"$SE_BIN" --config.file="$SE_CONFIG" --web.listen-address="127.0.0.1:$SE_PORT" \
    --log.level=warn >"$WORK/snmp_exporter.log" 2>&1 &
SE_PID=$!
STARTED_PIDS+=("$SE_PID")
wait_http "http://127.0.0.1:$SE_PORT/" 30 "$SE_PID"
log "snmp_exporter $SE_VERSION pid $SE_PID on 127.0.0.1:$SE_PORT"

for ((i = 0; i < DEVICES; i++)); do
    printf 'url = "http://127.0.0.1:%d/snmp?target=127.0.0.1:%d&module=if_mib%s"\noutput = "/dev/null"\n' \
        "$SE_PORT" $((BASE_PORT + i)) "$SE_AUTH_PARAM"
done >"$WORK/urls.txt"

# scrape_rounds CONC SECONDS: scrape all DEVICES with CONC in flight, round after round,
# until SECONDS have passed (at most 100 rounds). Prints "ok total elapsed cpu_ticks".
scrape_rounds() {
    local conc=$1 secs=$2 c0 c1 t0 t1 m0 m1 ok=0 total=0 round
    m0=$(cpu_ticks "$SIM_PID"); c0=$(cpu_ticks "$SE_PID"); t0=$(now)
    for ((round = 0; round < 100; round++)); do
        timeout 600 curl -s --parallel --parallel-max "$conc" --max-time 30 \
            -K "$WORK/urls.txt" -w '%{http_code} %{size_download}\n' >"$WORK/scrapes.txt" 2>/dev/null || true
        ok=$((ok + $(awk '$1 == 200 && $2 > 10000' "$WORK/scrapes.txt" | wc -l)))
        total=$((total + $(wc -l <"$WORK/scrapes.txt")))
        (($(calc "($(now) - $t0) >= $secs") == 1)) && break
    done
    c1=$(cpu_ticks "$SE_PID"); t1=$(now); m1=$(cpu_ticks "$SIM_PID")
    echo "$ok $total $(calc "$t1 - $t0") $((c1 - c0)) $(calc "($m1 - $m0) / $CLK_TCK / ($t1 - $t0)")"
}

# warm-up round (Go runtime, connection setup), not measured
scrape_rounds 8 0 >/dev/null

log "snmp_exporter paced: $DEVICES scrapes per $INTERVAL over $SE_STREAMS streams, ${WINDOW}s"
# paced: DEVICES per INTERVAL scrapes per second over SE_STREAMS streams (bench/lib.sh's
# se_paced; the count comes from snmp_exporter itself).
m0=$(cpu_ticks "$SIM_PID"); t0=$(now)
read -r ok ticks el < <(se_paced "$SE_PORT" "$WORK/urls.txt" "$(calc "$DEVICES / ${INTERVAL%s}")" "$SE_STREAMS" "$WINDOW")
simc=$(calc "($(cpu_ticks "$SIM_PID") - $m0) / $CLK_TCK / ($(now) - $t0)")
total=$ok
R[se_polls]=$ok; R[se_total]=$total
R[se_cpu_s]=$(calc "$ticks / $CLK_TCK")
R[se_cpu_per_poll_ms]=$(calc "1000 * ${R[se_cpu_s]} / $ok")
R[se_polls_s]=$(calc "$ok / $el")
R[se_cores]=$(calc "${R[se_cpu_s]} / $el")
R[se_rss_mb]=$(calc "$(vm_hwm_kb "$SE_PID") / 1024")
# one scrape's own packet count
R[se_packets]=$(curl -s "http://127.0.0.1:$SE_PORT/snmp?target=127.0.0.1:$BASE_PORT&module=if_mib$SE_AUTH_PARAM" |
    awk '/^snmp_scrape_packets_sent/ { print $2 }')

log "snmp_exporter saturation: concurrency $SE_SAT_CONC, >= ${SAT_WINDOW}s"
read -r ok total el ticks simc < <(scrape_rounds "$SE_SAT_CONC" "$SAT_WINDOW")
R[se_sat_sim_cores]=$simc
R[se_sat_polls_s]=$(calc "$ok / $el")
R[se_sat_failed]=$((total - ok))
R[se_sat_cores]=$(calc "$ticks / $CLK_TCK / $el")
R[se_sat_cpu_per_poll_ms]=$(calc "1000 * $ticks / $CLK_TCK / $ok")
R[se_sat_rss_mb]=$(calc "$(vm_hwm_kb "$SE_PID") / 1024")
stop_pid "$SE_PID"

# ---------------------------------------------------------------- report
ratio() { calc "$1 / $2"; }
{
    echo
    echo "== octopoll vs snmp_exporter $SE_VERSION, 55 interfaces per device, $(date -u +%FT%TZ)"
    machine_info | sed 's/^/   /'
    echo "   load average at start: ${R[load_start]}, at end: $(loadavg)"
    printf '%-44s %14s %14s %10s\n' "measure" "octopoll" "snmp_exporter" "ratio o/s"
    printf '%-44s %14s %14s %10s\n' "CPU ms per device poll (paced)" "${R[op_cpu_per_poll_ms]}" "${R[se_cpu_per_poll_ms]}" "$(ratio "${R[op_cpu_per_poll_ms]}" "${R[se_cpu_per_poll_ms]}")"
    printf '%-44s %14s %14s %10s\n' "CPU ms per device poll (saturated)" "${R[op_sat_cpu_per_poll_ms]}" "${R[se_sat_cpu_per_poll_ms]}" "$(ratio "${R[op_sat_cpu_per_poll_ms]}" "${R[se_sat_cpu_per_poll_ms]}")"
    printf '%-44s %14s %14s %10s\n' "polls/s at saturation" "${R[op_sat_polls_s]}" "${R[se_sat_polls_s]}" "$(ratio "${R[op_sat_polls_s]}" "${R[se_sat_polls_s]}")"
    printf '%-44s %14s %14s %10s\n' "CPU cores used at saturation" "${R[op_sat_cores]}" "${R[se_sat_cores]}" "$(ratio "${R[op_sat_cores]}" "${R[se_sat_cores]}")"
    printf '%-44s %14s %14s %10s\n' "peak RSS MiB (paced, $DEVICES devices)" "${R[op_rss_mb]}" "${R[se_rss_mb]}" "$(ratio "${R[op_rss_mb]}" "${R[se_rss_mb]}")"
    printf '%-44s %14s %14s %10s\n' "peak RSS MiB (saturation)" "${R[op_sat_rss_mb]}" "${R[se_sat_rss_mb]}" "$(ratio "${R[op_sat_rss_mb]}" "${R[se_sat_rss_mb]}")"
    printf '%-44s %14s %14s %10s\n' "SNMP requests per device poll" "${R[op_req_per_poll]}" "${R[se_packets]}" "$(ratio "${R[op_req_per_poll]}" "${R[se_packets]}")"
    printf '%-44s %14s %14s %10s\n' "CPU ms per poll (paced), snmp_exporter's module" "${R[opm_cpu_per_poll_ms]}" "${R[se_cpu_per_poll_ms]}" "$(ratio "${R[opm_cpu_per_poll_ms]}" "${R[se_cpu_per_poll_ms]}")"
    printf '%-44s %14s %14s %10s\n' "SNMP requests per poll, snmp_exporter's module" "${R[opm_req_per_poll]}" "${R[se_packets]}" "$(ratio "${R[opm_req_per_poll]}" "${R[se_packets]}")"
    echo
    echo "octopoll paced: $DEVICES devices every $INTERVAL; ${R[op_polls]} polls in ${WINDOW}s window, ${R[op_cpu_s]} CPU s (${R[op_cores]} cores); failed polls since start ${R[op_failed]}; devices up ${R[op_up]}"
    echo "octopoll paced with snmp_exporter's module (bench/snmp.yml as snmp:if_mib): ${R[opm_polls]} polls, ${R[opm_cpu_per_poll_ms]} CPU ms/poll (built-in if_mib: ${R[op_cpu_per_poll_ms]}), peak RSS ${R[opm_rss_mb]} MiB, ${R[opm_series]} device series of sim-00000"
    echo "octopoll /metrics ($DEVICES devices, ${R[op_metrics_series]} samples, ${R[op_metrics_bytes]} bytes): median ${R[op_render_median_s]} s, max ${R[op_render_max_s]} s over $RENDERS renders"
    echo "octopoll saturation ladder (every device at 1 s, timeout 300ms; simulator on the same 2 cores):"
    printf '%8s %10s %10s %8s %8s %8s %10s\n' devices "ok/s" "failed/s" "ok share" "cores" "sim cores" "peak RSS MiB"
    printf '%s' "$ladder_report"
    echo "octopoll sustained (>= 99% of polls ok): ${R[op_sustained]} polls/s; peak: ${R[op_sat_polls_s]} ok polls/s"
    echo "snmp_exporter paced: $SE_STREAMS paced streams, ${R[se_polls]}/${R[se_total]} scrapes ok, ${R[se_polls_s]} scrapes/s, ${R[se_cpu_s]} CPU s (${R[se_cores]} cores)"
    echo "snmp_exporter saturation: concurrency $SE_SAT_CONC, ${R[se_sat_polls_s]} scrapes/s ok, ${R[se_sat_failed]} failed; simulator used ${R[se_sat_sim_cores]} cores"
    echo "goal CPU/poll <= 1 ms: $(awk -v x="${R[op_cpu_per_poll_ms]}" 'BEGIN { print (x <= 1 ? "MET" : "MISSED") }')"
    echo "goal CPU/poll <= 1/20 of snmp_exporter, paced: $(awk -v x="${R[op_cpu_per_poll_ms]}" -v y="${R[se_cpu_per_poll_ms]}" 'BEGIN { print (x <= y / 20 ? "MET" : "MISSED") }'), saturated: $(awk -v x="${R[op_sat_cpu_per_poll_ms]}" -v y="${R[se_sat_cpu_per_poll_ms]}" 'BEGIN { print (x <= y / 20 ? "MET" : "MISSED") }')"
    echo "goal /metrics of 1000 devices <= 0.5 s: $(awk -v x="${R[op_render_median_s]}" -v n="$DEVICES" 'BEGIN { print (n < 1000 ? "n/a (fewer devices)" : (x <= 0.5 ? "MET" : "MISSED")) }')"
} | tee "${RESULT_FILE:-/dev/null}"
