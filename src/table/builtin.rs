//! The built-in `if_mib` module in the module model: ifTable and ifXTable columns indexed
//! by ifIndex, with ifName, ifDescr and ifAlias looked up, and the system group. The
//! engine plans and fetches it like any table module; the poller decodes it into typed
//! interfaces (the 32-bit fallback, interface events and the device page need them), with
//! the OpenMetrics names it has always had.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use super::model::{FamilyType, Flavor, Index, Lookup, Metric, Render, TableModule, ValueType};
use crate::snmp::Oid;

fn oid(s: &str) -> Oid {
    s.parse().expect("static OID")
}

fn lookup(label: &str, column: &str) -> Lookup {
    Lookup {
        labels: vec![Arc::from("ifIndex")],
        label: Arc::from(label),
        oid: Some(oid(column)),
        kind: Some(Render::DisplayString),
        enum_values: BTreeMap::new(),
        display_hint: None,
    }
}

fn column(name: &str, o: &str, kind: ValueType, help: &str) -> Arc<Metric> {
    Arc::new(Metric {
        name: Arc::from(name),
        oid: oid(o),
        kind,
        help: Arc::from(help),
        walk: true,
        indexes: vec![Index {
            label: Arc::from("ifIndex"),
            kind: Render::Integer,
            fixed_size: 0,
            implied: false,
            enum_values: BTreeMap::new(),
        }],
        lookups: vec![
            lookup("ifName", "1.3.6.1.2.1.31.1.1.1.1"),
            lookup("ifDescr", "1.3.6.1.2.1.2.2.1.2"),
            lookup("ifAlias", "1.3.6.1.2.1.31.1.1.1.18"),
        ],
        enum_values: BTreeMap::new(),
        scale: None,
        offset: 0.0,
        regex_extracts: Vec::new(),
        datetime_pattern: None,
        display_hint: None,
    })
}

static IF_MIB: LazyLock<TableModule> = LazyLock::new(|| {
    use ValueType::{Counter, Gauge};
    let metrics = vec![
        column("ifHCInOctets", "1.3.6.1.2.1.31.1.1.1.6", Counter, "Octets received on the interface, 64-bit (IF-MIB ifHCInOctets)"),
        column("ifHCOutOctets", "1.3.6.1.2.1.31.1.1.1.10", Counter, "Octets transmitted on the interface, 64-bit (IF-MIB ifHCOutOctets)"),
        column("ifInOctets", "1.3.6.1.2.1.2.2.1.10", Counter, "Octets received on the interface, 32-bit, for interfaces without 64-bit counters (IF-MIB ifInOctets)"),
        column("ifOutOctets", "1.3.6.1.2.1.2.2.1.16", Counter, "Octets transmitted on the interface, 32-bit, for interfaces without 64-bit counters (IF-MIB ifOutOctets)"),
        column("ifInErrors", "1.3.6.1.2.1.2.2.1.14", Counter, "Inbound packets with errors (IF-MIB ifInErrors)"),
        column("ifOutErrors", "1.3.6.1.2.1.2.2.1.20", Counter, "Outbound packets with errors (IF-MIB ifOutErrors)"),
        column("ifInDiscards", "1.3.6.1.2.1.2.2.1.13", Counter, "Inbound packets discarded (IF-MIB ifInDiscards)"),
        column("ifOutDiscards", "1.3.6.1.2.1.2.2.1.19", Counter, "Outbound packets discarded (IF-MIB ifOutDiscards)"),
        column("ifOperStatus", "1.3.6.1.2.1.2.2.1.8", Gauge, "Operational status: 1 up, 2 down, 3 testing, 4 unknown, 5 dormant, 6 notPresent, 7 lowerLayerDown (IF-MIB)"),
        column("ifAdminStatus", "1.3.6.1.2.1.2.2.1.7", Gauge, "Administrative status: 1 up, 2 down, 3 testing (IF-MIB)"),
        column("ifHighSpeed", "1.3.6.1.2.1.31.1.1.1.15", Gauge, "Interface speed in Mbit/s (IF-MIB ifHighSpeed)"),
        Arc::new(Metric {
            name: Arc::from("sysUpTime"),
            oid: oid("1.3.6.1.2.1.1.3.0"),
            kind: Gauge,
            help: Arc::from("Time since the network management part of the device was last re-initialised, hundredths of a second (SNMPv2-MIB)"),
            walk: false,
            indexes: Vec::new(),
            lookups: Vec::new(),
            enum_values: BTreeMap::new(),
            scale: None,
            offset: 0.0,
            regex_extracts: Vec::new(),
            datetime_pattern: None,
            display_hint: None,
        }),
    ];
    TableModule {
        flavor: Flavor::Octopoll,
        walk: Vec::new(),
        get: Vec::new(),
        metrics,
        filters: Vec::new(),
    }
});

/// The built-in `if_mib` as a table module (for planning, `/config` and name checks).
pub fn if_mib() -> &'static TableModule {
    &IF_MIB
}

/// The families the built-in module exposes, with their types.
pub fn if_mib_families() -> Vec<(String, FamilyType)> {
    IF_MIB
        .metrics
        .iter()
        .flat_map(|m| m.families(Flavor::Octopoll))
        .collect()
}
