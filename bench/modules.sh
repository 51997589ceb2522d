#!/usr/bin/env bash
# What table modules cost on top of if_mib: requests, varbinds and callgrind instructions
# per poll of simulated 55-interface devices polled with
#   A: if_mib alone
#   B: if_mib plus three table modules in snmp_exporter's format that read ifTable
#      columns (one reads only columns if_mib already fetched; the others add ifType,
#      ifMtu, ifPhysAddress and ifLastChange), with lookups of ifName/ifDescr.
#   C: instead of if_mib, a module shaped like snmp_exporter's own if_mib: eleven
#      counter and status columns, each labelled by lookups of ifAlias, ifDescr and ifName.
# and, given an older binary (before the table engine), the same extra columns as flat
# walked OIDs there:
#
#   bench/modules.sh [OLD_BINARY]        # NEW is target/release/octopoll
#
# Needs valgrind. Environment: DEVICES [10], WARMUP [12], WINDOW [30], OP_PORT [29376].
cd "$(dirname "$0")/.."
source bench/lib.sh

DEVICES=${DEVICES:-10}
WARMUP=${WARMUP:-12}
WINDOW=${WINDOW:-30}
OP_PORT=${OP_PORT:-29376}
OLD=${1:-}
NEW=${NEW:-target/release/octopoll}
command -v valgrind >/dev/null || { log "valgrind is not installed"; exit 1; }

start_sim "$DEVICES" "$(free_base "$DEVICES" 26000)"

cat >"$WORK/modules.yml" <<'EOF'
modules:
  if_status:            # only columns if_mib already walks
    walk: [1.3.6.1.2.1.2.2.1.7, 1.3.6.1.2.1.2.2.1.8, 1.3.6.1.2.1.31.1.1.1.1]
    metrics:
    - {name: ifOperState, oid: 1.3.6.1.2.1.2.2.1.8, type: EnumAsStateSet, help: x,
       indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}],
       enum_values: {1: up, 2: down, 3: testing}}
  if_inventory:         # three columns of its own
    walk: [1.3.6.1.2.1.2.2.1, 1.3.6.1.2.1.31.1.1.1.1]
    metrics:
    - {name: ifType, oid: 1.3.6.1.2.1.2.2.1.3, type: EnumAsInfo, help: x,
       indexes: [{labelname: ifIndex, type: gauge}], enum_values: {6: ethernetCsmacd}}
    - {name: ifMtu, oid: 1.3.6.1.2.1.2.2.1.4, type: gauge, help: x,
       indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifPhysAddress, oid: 1.3.6.1.2.1.2.2.1.6, type: PhysAddress48, help: x,
       indexes: [{labelname: ifIndex, type: gauge}]}
  if_changes:           # one column of its own, lookups into fetched ones
    walk: [1.3.6.1.2.1.2.2.1]
    metrics:
    - {name: ifLastChange, oid: 1.3.6.1.2.1.2.2.1.9, type: gauge, help: x,
       indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString}]}
  if_columns:           # snmp_exporter's if_mib shape
    walk: [1.3.6.1.2.1.2.2.1, 1.3.6.1.2.1.31.1.1.1]
    metrics:
    - {name: ifAdminStatus, oid: 1.3.6.1.2.1.2.2.1.7, type: gauge, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifOperStatus, oid: 1.3.6.1.2.1.2.2.1.8, type: gauge, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifInDiscards, oid: 1.3.6.1.2.1.2.2.1.13, type: counter, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifInErrors, oid: 1.3.6.1.2.1.2.2.1.14, type: counter, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifOutDiscards, oid: 1.3.6.1.2.1.2.2.1.19, type: counter, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifOutErrors, oid: 1.3.6.1.2.1.2.2.1.20, type: counter, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifHCInOctets, oid: 1.3.6.1.2.1.31.1.1.1.6, type: counter, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifHCInUcastPkts, oid: 1.3.6.1.2.1.31.1.1.1.7, type: counter, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifHCOutOctets, oid: 1.3.6.1.2.1.31.1.1.1.10, type: counter, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifHCOutUcastPkts, oid: 1.3.6.1.2.1.31.1.1.1.11, type: counter, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
    - {name: ifHighSpeed, oid: 1.3.6.1.2.1.31.1.1.1.15, type: gauge, help: x, indexes: [{labelname: ifIndex, type: gauge}],
       lookups: [{labels: [ifIndex], labelname: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, type: DisplayString},
                 {labels: [ifIndex], labelname: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, type: DisplayString},
                 {labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
EOF

# with_modules IN OUT MODULES_LINE [OIDS_BLOCK]: the simulator's config with other defaults
with_modules() {
    awk -v mods="$3" -v files="${4:-}" -v n="$DEVICES" '
        NR == 1 && files != "" { print files }
        /^defaults:/ { print; print "  interval: 1s"; print "  timeout: 300ms"; print "  retries: 2";
                       print "  max_repetitions: 25"; print "  modules: " mods; next }
        /^  modules:/ { next }
        /^  - \{name:/ { if (++k > n) next }
        { print }' "$1" >"$2"
}
with_modules "$SIM_YAML" "$WORK/a.yml" "[if_mib]"
with_modules "$SIM_YAML" "$WORK/c.yml" "[if_columns]" "module_files: [$WORK/modules.yml]"
with_modules "$SIM_YAML" "$WORK/b.yml" "[if_mib, if_status, if_inventory, if_changes]" \
    "module_files: [$WORK/modules.yml]"
# The older binary: the same extra columns as flat walked OIDs (no lookups, enums or
# index decoding there), a module of its own.
with_modules "$SIM_YAML" "$WORK/old.yml" "[if_mib, flat]"
cat >>"$WORK/old.yml" <<'EOF'
modules:
  flat:
    - {name: ifOperState, oid: 1.3.6.1.2.1.2.2.1.8, type: gauge, walk: true}
    - {name: ifType, oid: 1.3.6.1.2.1.2.2.1.3, type: gauge, walk: true}
    - {name: ifMtu, oid: 1.3.6.1.2.1.2.2.1.4, type: gauge, walk: true}
    - {name: ifPhysAddress, oid: 1.3.6.1.2.1.2.2.1.6, type: info, walk: true}
    - {name: ifLastChange, oid: 1.3.6.1.2.1.2.2.1.9, type: gauge, walk: true}
EOF

success() { self_metrics "$OP_PORT" | awk '/^octopoll_polls_total\{.*success/ { s += $2 } END { print s + 0 }'; }
requests() { self_metrics "$OP_PORT" | awk '/^octopoll_snmp_requests_total/ { print $2 + 0 }'; }
# varbinds of the latest poll of one device (gauge of the new binary; empty on older ones)
varbinds() { curl -sf "http://127.0.0.1:$OP_PORT/probe?device=sim-00000" |
    awk '/^snmp_device_poll_varbinds/ { print $2 + 0 }'; }

first=
run() { # LABEL BINARY CONFIG
    local label=$1 bin=$2 cfg=$3 out=$WORK/cg.$RANDOM
    valgrind --tool=callgrind --callgrind-out-file="$out.%p" "$bin" --config "$cfg" \
        --listen "127.0.0.1:$OP_PORT" --no-watch --log-level warn >/dev/null 2>"$out.log" &
    OP_PID=$!
    STARTED_PIDS+=("$OP_PID")
    wait_http "http://127.0.0.1:$OP_PORT/-/ready" 120 "$OP_PID"
    sleep "$WARMUP"
    callgrind_control -z "$OP_PID" >/dev/null 2>&1
    local p0 r0 p1 r1 vb
    p0=$(success); r0=$(requests)
    sleep "$WINDOW"
    p1=$(success); r1=$(requests); vb=$(varbinds)
    callgrind_control -d "$OP_PID" >/dev/null 2>&1
    stop_pid "$OP_PID"
    local ir per
    ir=$(awk '/^summary:/ { print $2 }' "$out.$OP_PID.1")
    per=$(calc "$ir / ($p1 - $p0)")
    [[ -n "$first" ]] || first=$per
    printf '%-34s polls %5d  requests/poll %5s  varbinds/poll %5s  instructions/poll %10s  ratio %s\n' \
        "$label" $((p1 - p0)) "$(calc "($r1 - $r0) / ($p1 - $p0)")" "${vb:--}" "$per" \
        "$(calc "$per / $first")"
}

machine_info
echo "devices: $DEVICES x 55 interfaces, 1 s interval, simulator replies capped at ${SIM_CAP:-1500} bytes (0: uncapped)"
run "A new: if_mib" "$NEW" "$WORK/a.yml"
run "B new: if_mib + 3 table modules" "$NEW" "$WORK/b.yml"
run "C new: snmp_exporter-shaped if_mib" "$NEW" "$WORK/c.yml"
if [[ -n "$OLD" ]]; then
    run "old: if_mib" "$OLD" "$WORK/a.yml"
    run "old: if_mib + the columns, flat" "$OLD" "$WORK/old.yml"
fi
