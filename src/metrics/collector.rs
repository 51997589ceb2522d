//! Encoding snapshots as OpenMetrics with prometheus-client.
//!
//! A scrape builds a fresh `Registry` holding a `Collector` over the `Arc` snapshots it
//! cloned: families are rebuilt from data, so removed devices and interfaces need no cleanup.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::metrics::mapping::Interface;
use crate::poller::{DeviceSnapshot, Poller};
use crate::snmp::SnmpStats;
use crate::table::{FamilyType, Sample};

/// Seconds since the epoch as a float.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Reload status, shared by the reload path and the collector.
#[derive(Debug, Default)]
pub struct ExporterState {
    /// Last reload (or the initial load) succeeded.
    pub reload_ok: AtomicBool,
    /// Unix seconds of the last successful (re)load.
    pub reload_success_ts: AtomicU64,
    /// Notification and Alertmanager counters (`snmp_traps_total`, `octopoll_traps_*`).
    pub traps: Arc<crate::traps::TrapMetrics>,
}

struct Devices(Vec<Arc<DeviceSnapshot>>);

impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Devices({})", self.0.len())
    }
}

type Labels<'a> = &'a [(String, String)];

fn iface_labels(i: &Interface) -> [(&'static str, &str); 4] {
    [
        ("ifIndex", &*i.labels[0]),
        ("ifName", &*i.labels[1]),
        ("ifDescr", &*i.labels[2]),
        ("ifAlias", &*i.labels[3]),
    ]
}

/// Encodes one interface family across all snapshots, with the samples of table modules
/// that expose the same family (taken out of `generic`).
fn iface_family(
    enc: &mut DescriptorEncoder,
    snaps: &[Arc<DeviceSnapshot>],
    generic: &mut Generic<'_>,
    name: &str,
    help: &str,
    counter: bool,
    get: impl Fn(&Interface) -> Option<u64>,
) -> std::fmt::Result {
    let any = snaps
        .iter()
        .filter_map(|s| s.data.as_ref())
        .any(|d| d.interfaces.iter().any(|i| get(i).is_some()));
    let kind = if counter {
        FamilyType::Counter
    } else {
        FamilyType::Gauge
    };
    let extra = take_generic(generic, name, kind);
    if !any {
        if let Some(g) = extra {
            encode_group(enc, name, &g)?;
        }
        return Ok(());
    }
    let ty = if counter {
        MetricType::Counter
    } else {
        MetricType::Gauge
    };
    let mut fam = enc.encode_descriptor(name, help, None, ty)?;
    if let Some(g) = &extra {
        encode_samples(&mut fam, g)?;
    }
    for s in snaps {
        let Some(data) = &s.data else { continue };
        let dev: Labels = &s.labels;
        for i in &data.interfaces {
            if let Some(v) = get(i) {
                let labels = (dev, iface_labels(i));
                let m = fam.encode_family(&labels)?;
                if counter {
                    ConstCounter::new(v).encode(m)?;
                } else {
                    // IF-MIB values fit easily in i64 (enums, Mbit/s).
                    ConstGauge::new(v as i64).encode(m)?;
                }
            }
        }
    }
    Ok(())
}

/// Encodes a per-device gauge for every snapshot where `get` returns a value, with the
/// samples of table modules that expose the same family (taken out of `generic`).
fn device_gauge(
    enc: &mut DescriptorEncoder,
    snaps: &[Arc<DeviceSnapshot>],
    generic: &mut Generic<'_>,
    name: &str,
    help: &str,
    get: impl Fn(&DeviceSnapshot) -> Option<f64>,
) -> std::fmt::Result {
    let extra = take_generic(generic, name, FamilyType::Gauge);
    if !snaps.iter().any(|s| get(s).is_some()) {
        if let Some(g) = extra {
            encode_group(enc, name, &g)?;
        }
        return Ok(());
    }
    let mut fam = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    if let Some(g) = &extra {
        encode_samples(&mut fam, g)?;
    }
    for s in snaps {
        if let Some(v) = get(s) {
            let dev: Labels = &s.labels;
            ConstGauge::new(v).encode(fam.encode_family(&dev)?)?;
        }
    }
    Ok(())
}

/// Encodes every device family for `snaps` (all of `/metrics`' device part, or one `/probe`).
pub fn encode_devices(
    snaps: &[Arc<DeviceSnapshot>],
    mut enc: DescriptorEncoder,
) -> std::fmt::Result {
    let e = &mut enc;
    let mut generic = group_families(snaps);
    let g = &mut generic;
    device_gauge(
        e,
        snaps,
        g,
        "snmp_device_up",
        "1 when the latest poll of the device succeeded",
        |s| Some(if s.up { 1.0 } else { 0.0 }),
    )?;
    device_gauge(
        e,
        snaps,
        g,
        "snmp_device_poll_duration_seconds",
        "Duration of the latest poll",
        |s| Some(s.duration.as_secs_f64()),
    )?;
    device_gauge(
        e,
        snaps,
        g,
        "snmp_device_last_poll_success_timestamp_seconds",
        "Unix time of the latest successful poll",
        |s| s.last_success.map(unix_seconds),
    )?;
    device_gauge(
        e,
        snaps,
        g,
        "snmp_device_poll_requests",
        "SNMP requests the latest successful poll sent",
        |s| s.data.as_ref().map(|d| f64::from(d.requests)),
    )?;
    device_gauge(
        e,
        snaps,
        g,
        "snmp_device_poll_varbinds",
        "Varbinds the latest successful poll fetched",
        |s| s.data.as_ref().map(|d| d.varbinds as f64),
    )?;
    {
        let mut fam = e.encode_descriptor(
            "snmp_device",
            "Device identity from the system group",
            None,
            MetricType::Info,
        )?;
        for s in snaps {
            let sys = s.system.clone().unwrap_or_default();
            let mut labels: Vec<(&str, &str)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let address = crate::metrics::mapping::escape_label(&s.device.address);
            labels.extend([
                ("sysName", sys.sys_name.as_str()),
                ("sysDescr", sys.sys_descr.as_str()),
                ("sysObjectID", sys.sys_object_id.as_str()),
                ("sysLocation", sys.sys_location.as_str()),
                ("address", address.as_str()),
            ]);
            fam.encode_info(&labels)?;
        }
    }
    device_gauge(e, snaps, g, "sysUpTime", "Time since the network management part of the device was last re-initialised, hundredths of a second (SNMPv2-MIB)", |s| {
        s.data.as_ref()?.system.as_ref()?.sys_uptime.map(f64::from)
    })?;

    iface_family(
        e,
        snaps,
        g,
        "ifHCInOctets",
        "Octets received on the interface, 64-bit (IF-MIB ifHCInOctets)",
        true,
        |i| i.hc_in,
    )?;
    iface_family(
        e,
        snaps,
        g,
        "ifHCOutOctets",
        "Octets transmitted on the interface, 64-bit (IF-MIB ifHCOutOctets)",
        true,
        |i| i.hc_out,
    )?;
    iface_family(e, snaps, g, "ifInOctets", "Octets received on the interface, 32-bit, for interfaces without 64-bit counters (IF-MIB ifInOctets)", true, |i| i.in32)?;
    iface_family(e, snaps, g, "ifOutOctets", "Octets transmitted on the interface, 32-bit, for interfaces without 64-bit counters (IF-MIB ifOutOctets)", true, |i| i.out32)?;
    iface_family(
        e,
        snaps,
        g,
        "ifInErrors",
        "Inbound packets with errors (IF-MIB ifInErrors)",
        true,
        |i| i.in_errors,
    )?;
    iface_family(
        e,
        snaps,
        g,
        "ifOutErrors",
        "Outbound packets with errors (IF-MIB ifOutErrors)",
        true,
        |i| i.out_errors,
    )?;
    iface_family(
        e,
        snaps,
        g,
        "ifInDiscards",
        "Inbound packets discarded (IF-MIB ifInDiscards)",
        true,
        |i| i.in_discards,
    )?;
    iface_family(
        e,
        snaps,
        g,
        "ifOutDiscards",
        "Outbound packets discarded (IF-MIB ifOutDiscards)",
        true,
        |i| i.out_discards,
    )?;
    iface_family(e, snaps, g, "ifOperStatus", "Operational status: 1 up, 2 down, 3 testing, 4 unknown, 5 dormant, 6 notPresent, 7 lowerLayerDown (IF-MIB)", false, |i| i.oper.and_then(|v| u64::try_from(v).ok()))?;
    iface_family(
        e,
        snaps,
        g,
        "ifAdminStatus",
        "Administrative status: 1 up, 2 down, 3 testing (IF-MIB)",
        false,
        |i| i.admin.and_then(|v| u64::try_from(v).ok()),
    )?;
    iface_family(
        e,
        snaps,
        g,
        "ifHighSpeed",
        "Interface speed in Mbit/s (IF-MIB ifHighSpeed)",
        false,
        |i| i.high_speed,
    )?;

    for (name, group) in generic {
        encode_group(e, name, &group)?;
    }
    Ok(())
}

/// One table-module family across devices: type, help, and each device's samples.
struct Group<'a> {
    kind: FamilyType,
    help: &'a str,
    samples: Vec<(&'a DeviceSnapshot, &'a Sample)>,
}

/// Table-module families by name, across the snapshots being encoded.
type Generic<'a> = BTreeMap<&'a str, Group<'a>>;

fn group_families(snaps: &[Arc<DeviceSnapshot>]) -> Generic<'_> {
    let mut out: Generic<'_> = BTreeMap::new();
    for s in snaps {
        let Some(data) = &s.data else { continue };
        for f in &data.families {
            let g = out.entry(&f.name).or_insert_with(|| Group {
                kind: f.kind,
                help: &f.help,
                samples: Vec::new(),
            });
            // The config rejects one name with two types; never emit a family Prometheus
            // would reject if it happened anyway.
            if g.kind == f.kind {
                g.samples.extend(f.samples.iter().map(|x| (&**s, x)));
            }
        }
    }
    out
}

/// Takes the group `name` out of `generic` when its type is `kind`.
fn take_generic<'a>(generic: &mut Generic<'a>, name: &str, kind: FamilyType) -> Option<Group<'a>> {
    if generic.get(name).is_some_and(|g| g.kind == kind) {
        generic.remove(name)
    } else {
        None
    }
}

fn metric_type(kind: FamilyType) -> MetricType {
    match kind {
        FamilyType::Gauge => MetricType::Gauge,
        FamilyType::Counter => MetricType::Counter,
        FamilyType::Unknown => MetricType::Unknown,
        FamilyType::Info => MetricType::Info,
    }
}

fn encode_group(enc: &mut DescriptorEncoder, name: &str, g: &Group<'_>) -> std::fmt::Result {
    let mut fam = enc.encode_descriptor(name, g.help, None, metric_type(g.kind))?;
    encode_samples(&mut fam, g)
}

fn encode_samples(
    fam: &mut prometheus_client::encoding::MetricEncoder,
    g: &Group<'_>,
) -> std::fmt::Result {
    for (s, sample) in &g.samples {
        let mut labels: Vec<(&str, &str)> = s
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        labels.extend(sample.labels.iter().map(|(k, v)| (&**k, v.as_str())));
        match g.kind {
            FamilyType::Info => fam.encode_info(&labels)?,
            // An snmp_exporter counter is exposed untyped, its sample under the family name,
            // which is how a gauge's value is written.
            FamilyType::Gauge | FamilyType::Unknown => {
                ConstGauge::new(sample.value).encode(fam.encode_family(&labels)?)?
            }
            FamilyType::Counter => {
                ConstCounter::new(sample.value).encode(fam.encode_family(&labels)?)?
            }
        }
    }
    Ok(())
}

impl Collector for Devices {
    fn encode(&self, enc: DescriptorEncoder) -> std::fmt::Result {
        encode_devices(&self.0, enc)
    }
}

/// octopoll's own metrics.
struct SelfMetrics {
    snaps: Vec<Arc<DeviceSnapshot>>,
    devices: usize,
    stats: Arc<SnmpStats>,
    discarded: u64,
    kernel_drops: Option<u64>,
    state: Arc<ExporterState>,
}

impl std::fmt::Debug for SelfMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SelfMetrics")
    }
}

/// Encodes octopoll's own metrics.
pub fn encode_self(
    mut enc: DescriptorEncoder,
    snaps: &[Arc<DeviceSnapshot>],
    devices: usize,
    stats: &SnmpStats,
    discarded: u64,
    kernel_drops: Option<u64>,
    state: &ExporterState,
) -> std::fmt::Result {
    let version = env!("CARGO_PKG_VERSION");
    enc.encode_descriptor(
        "octopoll_build",
        "octopoll build information",
        None,
        MetricType::Info,
    )?
    .encode_info(&[("version", version)])?;
    let gauge = |enc: &mut DescriptorEncoder, name: &str, help: &str, v: f64| -> std::fmt::Result {
        ConstGauge::new(v).encode(enc.encode_descriptor(name, help, None, MetricType::Gauge)?)
    };
    let counter = |enc: &mut DescriptorEncoder,
                   name: &str,
                   help: &str,
                   v: u64|
     -> std::fmt::Result {
        ConstCounter::new(v).encode(enc.encode_descriptor(name, help, None, MetricType::Counter)?)
    };
    gauge(
        &mut enc,
        "octopoll_config_last_reload_successful",
        "1 when the last config (re)load succeeded",
        if state.reload_ok.load(Ordering::Relaxed) {
            1.0
        } else {
            0.0
        },
    )?;
    gauge(
        &mut enc,
        "octopoll_config_last_reload_success_timestamp_seconds",
        "Unix time of the last successful config (re)load",
        state.reload_success_ts.load(Ordering::Relaxed) as f64,
    )?;
    gauge(
        &mut enc,
        "octopoll_devices",
        "Devices this instance polls",
        devices as f64,
    )?;
    counter(
        &mut enc,
        "octopoll_snmp_requests",
        "SNMP requests sent (not counting retransmissions)",
        stats.requests.load(Ordering::Relaxed),
    )?;
    counter(
        &mut enc,
        "octopoll_snmp_retries",
        "SNMP retransmissions after a timeout",
        stats.retries.load(Ordering::Relaxed),
    )?;
    counter(
        &mut enc,
        "octopoll_snmp_timeouts",
        "SNMP requests that got no reply after every retransmission",
        stats.timeouts.load(Ordering::Relaxed),
    )?;
    counter(
        &mut enc,
        "octopoll_snmp_errors",
        "SNMP requests that failed other than by timeout",
        stats.errors.load(Ordering::Relaxed),
    )?;
    counter(
        &mut enc,
        "octopoll_snmp_discarded_datagrams",
        "Datagrams dropped as late, duplicate, or not matching any request",
        discarded,
    )?;
    if let Some(drops) = kernel_drops {
        counter(
            &mut enc,
            "octopoll_snmp_socket_receive_drops",
            "Replies the kernel dropped because the SNMP socket's receive buffer was full",
            drops,
        )?;
    }
    {
        let mut fam = enc.encode_descriptor(
            "octopoll_polls",
            "Device polls by result",
            None,
            MetricType::Counter,
        )?;
        for s in snaps {
            let device = s.labels[0].1.as_str();
            ConstCounter::new(s.polls_ok)
                .encode(fam.encode_family(&[("device", device), ("result", "success")])?)?;
            ConstCounter::new(s.polls_failed)
                .encode(fam.encode_family(&[("device", device), ("result", "failure")])?)?;
        }
    }
    let mut fam = enc.encode_descriptor(
        "octopoll_polls_skipped",
        "Poll slots skipped because the previous poll overran (missed interval)",
        None,
        MetricType::Counter,
    )?;
    for s in snaps {
        let dev = [("device", s.labels[0].1.as_str())];
        ConstCounter::new(s.polls_skipped).encode(fam.encode_family(&dev)?)?;
    }
    Ok(())
}

impl Collector for SelfMetrics {
    fn encode(&self, enc: DescriptorEncoder) -> std::fmt::Result {
        encode_self(
            enc,
            &self.snaps,
            self.devices,
            &self.stats,
            self.discarded,
            self.kernel_drops,
            &self.state,
        )
    }
}

/// What a scrape asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Devices and octopoll's own metrics (`/metrics`).
    All,
    /// Only octopoll's own metrics (`/metrics?devices=false`).
    SelfOnly,
    /// One device (`/probe?device=NAME`).
    Device(&'a str),
}

/// Renders a scrape into one `String` (for small scopes: `/probe`; `/metrics` streams
/// [`registry`] in chunks). `None` when `Scope::Device` names no polled device.
pub fn render(poller: &Poller, state: &Arc<ExporterState>, scope: Scope<'_>) -> Option<String> {
    let registry = registry(poller, state, scope)?;
    let mut out = String::new();
    // Values were checked at poll time; an encode error here would be a bug, not bad data.
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
        tracing::error!(error = %e, "encoding metrics failed");
    }
    Some(out)
}

/// A fresh registry over the current snapshots for `scope` (cheap: `Arc`s only), for
/// [`render`] or for encoding in chunks; `None` for a device without a snapshot.
pub fn registry(poller: &Poller, state: &Arc<ExporterState>, scope: Scope<'_>) -> Option<Registry> {
    let mut registry = Registry::default();
    let all = poller.store().all();
    match scope {
        Scope::Device(name) => {
            let snap = poller.store().get(name)?;
            registry.register_collector(Box::new(Devices(vec![snap])));
            registry.register_collector(Box::new(crate::traps::TrapCollector::device(
                state.traps.clone(),
                name,
            )));
        }
        Scope::All | Scope::SelfOnly => {
            if scope == Scope::All {
                registry.register_collector(Box::new(Devices(all.clone())));
            }
            registry.register_collector(Box::new(SelfMetrics {
                snaps: all,
                devices: poller.device_count(),
                stats: poller.engine().stats().clone(),
                discarded: poller.engine().discarded_datagrams(),
                kernel_drops: poller.engine().socket_drops(),
                state: state.clone(),
            }));
            let traps = if scope == Scope::All {
                crate::traps::stats::Scope::All
            } else {
                crate::traps::stats::Scope::SelfOnly
            };
            registry.register_collector(Box::new(crate::traps::TrapCollector::new(
                state.traps.clone(),
                traps,
            )));
        }
    }
    Some(registry)
}
