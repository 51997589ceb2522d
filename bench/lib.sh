# Shared helpers for bench/compare.sh and bench/scale.sh (sourced, not run).
# Every process started here is recorded in STARTED_PIDS and stopped by PID on exit.

set -euo pipefail

BIN=${BIN:-target/release/octopoll}
CLK_TCK=$(getconf CLK_TCK)
STARTED_PIDS=()
WORK=$(mktemp -d /tmp/octopoll-bench.XXXXXX)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        # bounded wait: 5 s per process, then SIGKILL that PID only
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() { # stop one process we started, by PID
    local pid=$1
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}

build() {
    log "cargo build --release"
    cargo build --release --quiet
}

# utime+stime of PID in clock ticks (fields 14 and 15; comm may contain spaces).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# peak RSS (VmHWM) in kB, and current RSS
vm_hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
vm_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
# floating point arithmetic
calc() { awk "BEGIN { printf \"%.6g\", ($*) }"; }

# wait_http URL SECONDS: until URL answers 200
wait_http() { # URL SECONDS [PID that must stay alive]
    local url=$1 secs=$2 pid=${3:-} i
    for ((i = 0; i < secs * 10; i++)); do
        curl -sf -o /dev/null --max-time 2 "$url" && return 0
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then log "process $pid exited"; return 1; fi
        sleep 0.1
    done
    log "timeout waiting for $url"; return 1
}

# start_sim N BASE_PORT [SIMULATE OPTIONS...]: starts `octopoll simulate` (55 interfaces,
# replies capped at SIM_CAP bytes, default 1500 as common agents; 0 = unlimited), waits
# until its config lists N devices. Sets SIM_PID and SIM_YAML.
start_sim() {
    local n=$1 base=$2 i
    shift 2
    SIM_YAML=$WORK/sim-$base.yml
    "$BIN" simulate --devices "$n" --interfaces "${SIM_INTERFACES:-55}" --listen-ip 127.0.0.1 \
        --base-port "$base" --max-reply-bytes "${SIM_CAP:-1500}" "$@" \
        --print-config >"$SIM_YAML" 2>"$WORK/sim-$base.err" &
    SIM_PID=$!
    STARTED_PIDS+=("$SIM_PID")
    for ((i = 0; i < 1200; i++)); do
        if [[ -s "$SIM_YAML" ]] && (($(grep -c '^  - {name:' "$SIM_YAML" || true) >= n)); then
            log "simulator pid $SIM_PID: $n devices x ${SIM_INTERFACES:-55} interfaces on 127.0.0.1:$base.., replies capped at ${SIM_CAP:-1500} bytes"
            return 0
        fi
        kill -0 "$SIM_PID" 2>/dev/null || { cat "$WORK/sim-$base.err" >&2; return 1; }
        sleep 0.1
    done
    log "simulator did not come up"; return 1
}

# make_config OUT FIRST_N INTERVAL TIMEOUT RETRIES: octopoll config for the first FIRST_N
# simulated devices with the given defaults.
make_config() {
    local out=$1 n=$2 interval=$3 timeout=$4 retries=$5
    awk -v n="$n" -v iv="$interval" -v to="$timeout" -v r="$retries" '
        /^defaults:/ { print; print "  interval: " iv; print "  timeout: " to;
                       print "  retries: " r; print "  max_repetitions: 25"; next }
        /^  - \{name:/ { if (++k > n) next }
        { print }' "$SIM_YAML" >"$out"
}

# start_octopoll CONFIG PORT: sets OP_PID
start_octopoll() {
    local cfg=$1 port=$2
    "$BIN" --config "$cfg" --listen "127.0.0.1:$port" --no-watch --log-level warn \
        >"$WORK/octopoll-$port.log" 2>&1 &
    OP_PID=$!
    STARTED_PIDS+=("$OP_PID")
    wait_http "http://127.0.0.1:$port/-/ready" 60 "$OP_PID" || { cat "$WORK/octopoll-$port.log" >&2; return 1; }
    log "octopoll pid $OP_PID on 127.0.0.1:$port ($cfg)"
}

# measure_octopoll CONFIG WINDOW PREFIX [keep]: octopoll ($BIN) paced on CONFIG, WINDOW seconds
# after its first cycle; sets R[PREFIX_*] (the caller declares `declare -A R`): polls, reqs,
# cpu_s, cores, poll_ms, req_us, req_per_poll, failed, rss. With `keep`, octopoll is left
# running (OP_PID) for the caller's further measurements, which stop it.
measure_octopoll() {
    local cfg=$1 window=$2 p=$3 keep=${4:-} n c0 c1 p0 p1 r0 r1 t0 t1
    n=$(grep -c '^  - {name:' "$cfg")
    start_octopoll "$cfg" "$OP_PORT"
    wait_first_cycle "$OP_PORT" "$n" 120
    sleep 2
    c0=$(cpu_ticks "$OP_PID"); p0=$(polls_ok "$OP_PORT"); r0=$(snmp_requests "$OP_PORT"); t0=$(now)
    log "octopoll window ${window}s: $n devices"
    sleep "$window"
    c1=$(cpu_ticks "$OP_PID"); p1=$(polls_ok "$OP_PORT"); r1=$(snmp_requests "$OP_PORT"); t1=$(now)
    R[${p}_polls]=$((p1 - p0))
    R[${p}_reqs]=$((r1 - r0))
    R[${p}_cpu_s]=$(calc "($c1 - $c0) / $CLK_TCK")
    R[${p}_cores]=$(calc "${R[${p}_cpu_s]} / ($t1 - $t0)")
    R[${p}_poll_ms]=$(calc "1000 * ${R[${p}_cpu_s]} / ${R[${p}_polls]}")
    R[${p}_req_us]=$(calc "1e6 * ${R[${p}_cpu_s]} / ${R[${p}_reqs]}")
    R[${p}_req_per_poll]=$(calc "${R[${p}_reqs]} / ${R[${p}_polls]}")
    R[${p}_failed]=$(polls_failed "$OP_PORT")
    R[${p}_rss]=$(calc "$(vm_hwm_kb "$OP_PID") / 1024")
    [[ -n "$keep" ]] || stop_pid "$OP_PID"
}

# self-metrics of octopoll (no device series, cheap to render)
self_metrics() { curl -sf --max-time 30 "http://127.0.0.1:$1/metrics?devices=false"; }
# sum of a metric family's samples matching an optional label filter
metric_sum() { # PORT REGEX
    self_metrics "$1" | awk -v re="$2" '$0 !~ /^#/ && $1 ~ re { s += $2 } END { printf "%.0f\n", s }'
}
polls_ok() { metric_sum "$1" '^octopoll_polls_total\{.*result="success"'; }
polls_failed() { metric_sum "$1" '^octopoll_polls_total\{.*result="failure"'; }
polls_skipped() { metric_sum "$1" '^octopoll_polls_skipped_total'; }
snmp_requests() { metric_sum "$1" '^octopoll_snmp_requests_total'; }

# devices up: needs the device series
devices_up() {
    curl -sf --max-time 120 "http://127.0.0.1:$1/metrics" |
        awk '/^snmp_device_up[{ ]/ { n++; if ($NF + 0 == 1) up++ } END { printf "%d/%d\n", up, n }'
}

# wait_first_cycle PORT N SECONDS: until every device has completed one successful poll
wait_first_cycle() {
    local port=$1 n=$2 secs=$3 t0 ok
    t0=$(date +%s)
    while (($(date +%s) - t0 < secs)); do
        ok=$(self_metrics "$port" | awk '/^octopoll_polls_total\{.*result="success"/ && $2 + 0 > 0 { k++ } END { print k + 0 }')
        ((ok >= n)) && { log "first cycle done: $ok devices polled"; return 0; }
        sleep 2
    done
    log "first cycle incomplete after ${secs}s ($ok/$n)"; return 0
}

# median of numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

machine_info() {
    echo "nproc: $(nproc)"
    echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "mem: $(awk '/^MemTotal/ { printf "%.1f GiB\n", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel: $(uname -r)"
}

# free_base N START: first base port >= START (step 1000) with N consecutive free UDP ports
# on 127.0.0.1 below the ephemeral range (other programs may run simulators too).
free_base() {
    local n=$1 base=$2 lo
    lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range)
    ss -uanH | awk '{ print $4 }' | sed 's/.*://' | sort -n | uniq >"$WORK/udp-ports.txt"
    while ((base + n <= lo)); do
        if ! awk -v a="$base" -v b=$((base + n)) '$1 >= a && $1 < b { f = 1 } END { exit !f }' "$WORK/udp-ports.txt"; then
            echo "$base"; return 0
        fi
        base=$((base + 1000))
    done
    log "no $n free UDP ports below $lo"; return 1
}

# machine-wide busy jiffies (all CPUs) and load, to show contention from other programs
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# build_floor: compiles bench/floor.c (the blocking one-request client); sets FLOOR.
build_floor() {
    FLOOR=$WORK/floor
    gcc -O2 -Wall -o "$FLOOR" bench/floor.c
}

# floor_us HOST PORT COMMUNITY N [REPETITIONS PACE_US CHAIN]: CPU microseconds per
# request of the blocking client (back to back, or CHAIN requests every PACE_US); of
# FLOOR_BIN instead when set (bench/async_floor.rs, the same requests from tokio).
floor_us() {
    "${FLOOR_BIN:-$FLOOR}" "$@" | tee -a "$WORK/floor.log" |
        sed -n 's/.*cpu_us_per_request=\([0-9.]*\).*/\1/p'
}

# snmp_exporter helpers. se_start CONFIG PORT: sets SE_PID.
se_start() {
    "$SE_BIN" --config.file="$1" --web.listen-address="127.0.0.1:$2" \
        --log.level=warn >"$WORK/snmp_exporter-$2.log" 2>&1 &
    SE_PID=$!
    STARTED_PIDS+=("$SE_PID")
    wait_http "http://127.0.0.1:$2/" 30 "$SE_PID"
}

# se_collections PORT: collections done by snmp_exporter so far (its own summary's count)
se_collections() {
    curl -s --max-time 10 "http://127.0.0.1:$1/metrics" |
        awk '/^snmp_collection_duration_seconds_count/ { s += $2 } END { printf "%d\n", s }'
}

# se_paced PORT URLS RATE STREAMS SECONDS: scrapes the URLs of file URLS (curl -K format)
# at RATE per second in all, over STREAMS serial curls with --rate, for SECONDS.
# Prints "collections cpu_ticks elapsed_s".
se_paced() {
    local port=$1 urls=$2 rate=$3 streams=$4 secs=$5 per_stream i k c0 c1 t0 t1 n0 n1
    per_stream=$(awk -v r="$rate" -v n="$streams" 'BEGIN { printf "%d", r * 60 / n }')
    n0=$(se_collections "$port"); c0=$(cpu_ticks "$SE_PID"); t0=$(now)
    for ((i = 0; i < streams; i++)); do
        # Stream i takes every STREAMS-th URL, repeated enough for the window.
        for ((k = 0; k < 50; k++)); do awk -v n="$streams" -v i="$i" 'int((NR - 1) / 2) % n == i' "$urls"; done >"$urls.$i"
        timeout "$secs" curl -s --rate "$per_stream/m" --max-time 30 -K "$urls.$i" >/dev/null 2>&1 &
    done
    wait
    c1=$(cpu_ticks "$SE_PID"); t1=$(now); n1=$(se_collections "$port")
    echo "$((n1 - n0)) $((c1 - c0)) $(calc "$t1 - $t0")"
}
