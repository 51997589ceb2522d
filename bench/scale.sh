#!/usr/bin/env bash
# Scale run: many simulated devices x 55 interfaces, polled by one octopoll at a fixed
# interval. Prints CPU (cores averaged over the window), RSS, and polls that missed their
# interval.
#
#   bench/scale.sh              # from the repository root
#
# The simulated devices cap their replies at SIM_CAP bytes (default 1500, as common agents:
# 11 requests per 55-interface poll; SIM_CAP=0 for the uncapped simulator of earlier runs).
#
# Environment (defaults in brackets):
#   DEVICES [10000]   simulated devices (one UDP port each on 127.0.0.1)
#   INTERVAL [60]     poll interval in seconds
#   TIMEOUT [2s]      per-request timeout (3 attempts)
#   WINDOWS [2]       measured intervals after the first full cycle
#   BASE_PORT [auto]  first device port; default: first free range from 20000 up
#   OP_PORT [29162]   octopoll's HTTP port
#   SKIP_BUILD=1      use the existing target/release/octopoll
#
# "Missed" = the polls the window should have held (devices x window / interval) minus
# the successful ones; failed polls and skipped slots (a poll still running when its next
# slot came) are printed beside it from octopoll's own counters.
cd "$(dirname "$0")/.."
source bench/lib.sh

DEVICES=${DEVICES:-10000}
INTERVAL=${INTERVAL:-60}
TIMEOUT=${TIMEOUT:-2s}
WINDOWS=${WINDOWS:-2}
BASE_PORT=${BASE_PORT:-}
OP_PORT=${OP_PORT:-29162}

[[ -n "${SKIP_BUILD:-}" ]] || build
log "machine: $(machine_info | tr '\n' ' ')"
[[ -n "$BASE_PORT" ]] || BASE_PORT=$(free_base "$DEVICES" 20000)
load_start=$(loadavg)
start_sim "$DEVICES" "$BASE_PORT"
sim_rss_mb=$(calc "$(vm_rss_kb "$SIM_PID") / 1024")

make_config "$WORK/scale.yml" "$DEVICES" "${INTERVAL}s" "$TIMEOUT" 2
t_start=$(now)
start_octopoll "$WORK/scale.yml" "$OP_PORT"
# First polls are spread over one interval; wait for all of them, plus a little.
wait_first_cycle "$OP_PORT" "$DEVICES" $((INTERVAL * 2 + 30))
first_cycle_s=$(calc "$(now) - $t_start")

window=$((INTERVAL * WINDOWS))
c0=$(cpu_ticks "$OP_PID"); m0=$(cpu_ticks "$SIM_PID"); b0=$(machine_busy)
p0=$(polls_ok "$OP_PORT"); f0=$(polls_failed "$OP_PORT"); s0=$(polls_skipped "$OP_PORT"); t0=$(now)
log "measuring ${window}s: $DEVICES devices every ${INTERVAL}s"
rss_max=0
for ((i = 0; i < window / 5; i++)); do
    sleep 5
    r=$(vm_rss_kb "$OP_PID"); ((r > rss_max)) && rss_max=$r
done
c1=$(cpu_ticks "$OP_PID"); m1=$(cpu_ticks "$SIM_PID"); b1=$(machine_busy)
p1=$(polls_ok "$OP_PORT"); f1=$(polls_failed "$OP_PORT"); s1=$(polls_skipped "$OP_PORT"); t1=$(now)
el=$(calc "$t1 - $t0")

expected=$(calc "$DEVICES * $el / $INTERVAL")
ok=$((p1 - p0))
cores=$(calc "($c1 - $c0) / $CLK_TCK / $el")
hwm_polling=$(vm_hwm_kb "$OP_PID")
log "timing one /metrics render"
render=$(curl -s -o "$WORK/metrics.txt" --max-time 120 -w '%{time_total}' "http://127.0.0.1:$OP_PORT/metrics")
up=$(awk '/^snmp_device_up[{ ]/ { n++; if ($NF + 0 == 1) u++ } END { printf "%d/%d\n", u, n }' "$WORK/metrics.txt")
{
    echo
    echo "== octopoll scale run: $DEVICES devices x 55 interfaces every ${INTERVAL}s, $(date -u +%FT%TZ)"
    machine_info | sed 's/^/   /'
    echo "   load average at start: $load_start, at end: $(loadavg)"
    echo "first cycle complete after ${first_cycle_s} s"
    echo "window: ${el} s ($WINDOWS intervals)"
    echo "octopoll CPU: $(calc "($c1 - $c0) / $CLK_TCK") s = $cores cores averaged; $(calc "1000 * ($c1 - $c0) / $CLK_TCK / $ok") ms per poll"
    echo "octopoll RSS: max sampled while polling $(calc "$rss_max / 1024") MiB, peak (VmHWM) before the /metrics render $(calc "$hwm_polling / 1024") MiB, after it $(calc "$(vm_hwm_kb "$OP_PID") / 1024") MiB, now $(calc "$(vm_rss_kb "$OP_PID") / 1024") MiB"
    echo "polls: expected $expected, successful $ok, missed $(calc "$expected - $ok"), failed $((f1 - f0)), skipped slots $((s1 - s0))"
    echo "devices up: $up; /metrics: $(stat -c %s "$WORK/metrics.txt") bytes in $render s"
    echo "simulator: $(calc "($m1 - $m0) / $CLK_TCK / $el") cores, RSS at start $sim_rss_mb MiB; machine busy $(calc "($b1 - $b0) / $CLK_TCK / $el") of $(nproc) cores"
    echo "goal <= 1 core: $(awk -v x="$cores" 'BEGIN { print (x <= 1 ? "MET" : "MISSED") }')," \
        "goal RSS <= 1 GB (peak, render included): $(awk -v x="$(vm_hwm_kb "$OP_PID")" 'BEGIN { print (x * 1024 <= 1e9 ? "MET" : "MISSED") }')"
} | tee "${RESULT_FILE:-/dev/null}"
