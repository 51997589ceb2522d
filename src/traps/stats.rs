//! Notification counters and their families on `/metrics`:
//! `snmp_traps_total{device, <device labels>, trap}`,
//! `snmp_traps_last_timestamp_seconds{...}`, `octopoll_traps_dropped_total{reason}`,
//! `octopoll_traps_unattributed_total{source}` and the Alertmanager sender's counters.
//!
//! Counters live here, not in a listener, so they survive rebinding on reload; a device's
//! series leave with the device. Sources are bounded: past [`MAX_SOURCES`] distinct
//! unknown addresses, the rest are counted under `source="other"`.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

use async_snmp::NotificationReceiver;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use super::policy::{DropReason, Origin};
use crate::config::Config;
use crate::metrics::collector::unix_seconds;
use crate::metrics::mapping::escape_label;
use crate::poller::DeviceSnapshot;

/// Distinct unknown source addresses tracked one by one (unattributed counts, and
/// accepted unknown sources' series).
pub const MAX_SOURCES: usize = 1000;

/// Counters of the Alertmanager sender.
#[derive(Debug, Default)]
pub struct AlertStats {
    /// Alerts Alertmanager accepted.
    pub sent: AtomicU64,
    /// Alerts given up: the queue was full (oldest dropped) or Alertmanager refused them.
    pub dropped: AtomicU64,
    /// POSTs that failed (unreachable, timeout, non-2xx); each is retried.
    pub failures: AtomicU64,
    /// Alerts waiting to be sent.
    pub queued: AtomicU64,
}

#[derive(Debug)]
struct Series {
    /// `device` and the device's labels, escaped.
    labels: Vec<(String, String)>,
    count: u64,
    last: f64,
    /// From a configured device (pruned with it), not an unknown source.
    configured: bool,
}

/// USM drop counters of the receivers so far.
#[derive(Default)]
struct Usm {
    /// Sums of receivers already replaced.
    base: [u64; USM_REASONS.len()],
    current: Option<NotificationReceiver>,
}

impl std::fmt::Debug for Usm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Usm({:?}, receiver: {})",
            self.base,
            self.current.is_some()
        )
    }
}

const USM_REASONS: [&str; 5] = [
    "unknown_user",
    "wrong_digest",
    "decryption",
    "not_in_time_window",
    "unsupported_security_level",
];

fn usm_counts(r: &NotificationReceiver) -> [u64; USM_REASONS.len()] {
    [
        r.usm_unknown_usernames(),
        r.usm_wrong_digests(),
        r.usm_decryption_errors(),
        r.usm_not_in_time_windows(),
        r.usm_unsupported_sec_levels(),
    ]
    .map(u64::from)
}

/// Every notification counter.
#[derive(Debug, Default)]
pub struct TrapMetrics {
    series: Mutex<BTreeMap<(String, String), Series>>,
    dropped: Mutex<BTreeMap<DropReason, u64>>,
    unattributed: Mutex<BTreeMap<String, u64>>,
    usm: Mutex<Usm>,
    /// The Alertmanager sender's.
    pub alerts: AlertStats,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TrapMetrics {
    /// Counts an accepted notification; false when it came from one unknown source too
    /// many to get series of its own (it is still counted under `source="other"`).
    pub fn count(&self, origin: &Origin, trap: &str, at: SystemTime) -> bool {
        let (device, labels, configured) = match origin {
            Origin::Device(d) => (d.name.clone(), DeviceSnapshot::device_labels(d), true),
            Origin::Unknown(ip) => {
                let name = ip.to_string();
                let labels = vec![("device".to_string(), escape_label(&name))];
                (name, labels, false)
            }
        };
        let mut series = lock(&self.series);
        let key = (device, trap.to_string());
        if !series.contains_key(&key) && !configured {
            let unknown: HashSet<&str> = series
                .iter()
                .filter(|(_, s)| !s.configured)
                .map(|((d, _), _)| d.as_str())
                .collect();
            if unknown.len() >= MAX_SOURCES && !unknown.contains(key.0.as_str()) {
                drop(series);
                self.unattributed_name("other");
                return false;
            }
        }
        let s = series.entry(key).or_insert_with(|| Series {
            labels,
            count: 0,
            last: 0.0,
            configured,
        });
        s.count += 1;
        s.last = unix_seconds(at);
        true
    }

    /// Counts a notification dropped before attribution.
    pub fn dropped(&self, reason: DropReason) {
        *lock(&self.dropped).entry(reason).or_default() += 1;
    }

    /// Notifications dropped for `reason` so far (policy and receiver events).
    pub fn dropped_count(&self, reason: DropReason) -> u64 {
        lock(&self.dropped).get(&reason).copied().unwrap_or(0)
    }

    /// Counts an authenticated notification from an address of no configured device.
    pub fn unattributed(&self, ip: IpAddr) {
        self.unattributed_name(&ip.to_string());
    }

    fn unattributed_name(&self, name: &str) {
        let mut u = lock(&self.unattributed);
        let key = if u.contains_key(name) || u.len() < MAX_SOURCES {
            name
        } else {
            "other"
        };
        *u.entry(key.to_string()).or_default() += 1;
    }

    /// Follows a new receiver's USM counters; the old one's are kept in the totals.
    pub fn set_receiver(&self, receiver: Option<NotificationReceiver>) {
        let mut usm = lock(&self.usm);
        if let Some(old) = usm.current.take() {
            let counts = usm_counts(&old);
            for (b, c) in usm.base.iter_mut().zip(counts) {
                *b += c;
            }
        }
        usm.current = receiver;
    }

    /// Drops the series of devices no longer configured and refreshes the labels of the
    /// others (a device's labels may have changed).
    pub fn prune(&self, config: &Config) {
        let devices: BTreeMap<&str, _> = config
            .devices
            .iter()
            .map(|d| (d.name.as_str(), d))
            .collect();
        lock(&self.series).retain(|(device, _), s| {
            if !s.configured {
                return true;
            }
            match devices.get(device.as_str()) {
                Some(d) => {
                    s.labels = DeviceSnapshot::device_labels(d);
                    true
                }
                None => false,
            }
        });
    }

    /// The per-device families, for every device or one (`/probe`).
    pub fn encode_devices(
        &self,
        enc: &mut DescriptorEncoder,
        only: Option<&str>,
    ) -> std::fmt::Result {
        let series = lock(&self.series);
        let rows: Vec<(&(String, String), &Series)> = series
            .iter()
            .filter(|((d, _), _)| only.is_none_or(|o| o == d))
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let mut fam = enc.encode_descriptor(
            "snmp_traps",
            "SNMP notifications (traps and informs) accepted, by device and notification name",
            None,
            MetricType::Counter,
        )?;
        for ((_, trap), s) in &rows {
            let trap = escape_label(trap);
            let labels = (s.labels.as_slice(), [("trap", trap.as_str())]);
            ConstCounter::new(s.count).encode(fam.encode_family(&labels)?)?;
        }
        let mut fam = enc.encode_descriptor(
            "snmp_traps_last_timestamp_seconds",
            "Unix time of the latest accepted notification, by device and notification name",
            None,
            MetricType::Gauge,
        )?;
        for ((_, trap), s) in &rows {
            let trap = escape_label(trap);
            let labels = (s.labels.as_slice(), [("trap", trap.as_str())]);
            ConstGauge::new(s.last).encode(fam.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// octopoll's own notification and alert families.
    pub fn encode_self(&self, enc: &mut DescriptorEncoder) -> std::fmt::Result {
        let mut reasons: BTreeMap<&str, u64> = lock(&self.dropped)
            .iter()
            .map(|(r, n)| (r.as_str(), *n))
            .collect();
        {
            let usm = lock(&self.usm);
            let current = usm.current.as_ref().map(usm_counts).unwrap_or_default();
            for (i, name) in USM_REASONS.iter().enumerate() {
                let n = usm.base[i] + current[i];
                if n > 0 {
                    reasons.insert(name, n);
                }
            }
        }
        let mut fam = enc.encode_descriptor(
            "octopoll_traps_dropped",
            "Notifications dropped before attribution: wrong community, SNMPv3 user, key, \
             privacy, time window or security level",
            None,
            MetricType::Counter,
        )?;
        for (reason, n) in reasons {
            ConstCounter::new(n).encode(fam.encode_family(&[("reason", reason)])?)?;
        }
        let mut fam = enc.encode_descriptor(
            "octopoll_traps_unattributed",
            "Authenticated notifications from an address of no configured device, by source",
            None,
            MetricType::Counter,
        )?;
        for (source, n) in lock(&self.unattributed).iter() {
            ConstCounter::new(*n).encode(fam.encode_family(&[("source", source.as_str())])?)?;
        }
        let a = &self.alerts;
        for (name, help, v) in [
            (
                "octopoll_alertmanager_alerts_sent",
                "Alerts from notifications that Alertmanager accepted",
                &a.sent,
            ),
            (
                "octopoll_alertmanager_alerts_dropped",
                "Alerts from notifications given up (queue full while Alertmanager was unreachable, or refused)",
                &a.dropped,
            ),
            (
                "octopoll_alertmanager_post_failures",
                "POSTs to Alertmanager that failed and were retried",
                &a.failures,
            ),
        ] {
            ConstCounter::new(v.load(Ordering::Relaxed))
                .encode(enc.encode_descriptor(name, help, None, MetricType::Counter)?)?;
        }
        ConstGauge::new(a.queued.load(Ordering::Relaxed) as i64).encode(enc.encode_descriptor(
            "octopoll_alertmanager_queue_length",
            "Alerts waiting for Alertmanager",
            None,
            MetricType::Gauge,
        )?)?;
        Ok(())
    }
}

/// What a scrape shows of the notification metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything (`/metrics`).
    All,
    /// octopoll's own only (`/metrics?devices=false`).
    SelfOnly,
}

/// A collector over [`TrapMetrics`] for one scrape.
#[derive(Debug)]
pub struct TrapCollector {
    metrics: std::sync::Arc<TrapMetrics>,
    devices: Option<Option<String>>,
    own: bool,
}

impl TrapCollector {
    /// `/metrics` (with or without device families).
    pub fn new(metrics: std::sync::Arc<TrapMetrics>, scope: Scope) -> TrapCollector {
        TrapCollector {
            metrics,
            devices: (scope == Scope::All).then_some(None),
            own: true,
        }
    }

    /// `/probe?device=NAME`: that device's families only.
    pub fn device(metrics: std::sync::Arc<TrapMetrics>, name: &str) -> TrapCollector {
        TrapCollector {
            metrics,
            devices: Some(Some(name.to_string())),
            own: false,
        }
    }
}

impl Collector for TrapCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        if let Some(only) = &self.devices {
            self.metrics.encode_devices(&mut enc, only.as_deref())?;
        }
        if self.own {
            self.metrics.encode_self(&mut enc)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;
    use std::sync::Arc;

    fn render(m: &Arc<TrapMetrics>, c: TrapCollector) -> String {
        let _ = m;
        let mut r = Registry::default();
        r.register_collector(Box::new(c));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &r).unwrap();
        out
    }

    #[test]
    fn counts_by_device_and_trap_and_bounds_sources() {
        let c = crate::config::load_str(
            "auths: {v2: {version: 2c, community: public}}\ndefaults: {auth: v2}\ndevices:\n  - {name: sw1, address: 10.0.0.1, labels: {site: paris}}\n",
            std::path::Path::new("t.yml"),
        )
        .unwrap();
        let m = Arc::new(TrapMetrics::default());
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000);
        let dev = Origin::Device(c.devices[0].clone());
        assert!(m.count(&dev, "linkDown", at));
        assert!(m.count(&dev, "linkDown", at));
        assert!(m.count(
            &Origin::Unknown("10.9.9.9".parse().unwrap()),
            "coldStart",
            at
        ));
        m.dropped(DropReason::Community);
        m.unattributed("10.0.0.7".parse().unwrap());
        let text = render(&m, TrapCollector::new(m.clone(), Scope::All));
        for line in [
            "snmp_traps_total{device=\"sw1\",site=\"paris\",trap=\"linkDown\"} 2",
            "snmp_traps_total{device=\"10.9.9.9\",trap=\"coldStart\"} 1",
            "snmp_traps_last_timestamp_seconds{device=\"sw1\",site=\"paris\",trap=\"linkDown\"} 1000.0",
            "octopoll_traps_dropped_total{reason=\"community\"} 1",
            "octopoll_traps_unattributed_total{source=\"10.0.0.7\"} 1",
            "octopoll_alertmanager_queue_length 0",
        ] {
            assert!(text.contains(line), "{line} missing in:\n{text}");
        }
        let probe = render(&m, TrapCollector::device(m.clone(), "sw1"));
        assert!(
            probe.contains("trap=\"linkDown\"")
                && !probe.contains("10.9.9.9")
                && !probe.contains("octopoll_"),
            "{probe}"
        );
        let own = render(&m, TrapCollector::new(m.clone(), Scope::SelfOnly));
        assert!(
            !own.contains("snmp_traps") && own.contains("octopoll_traps_dropped"),
            "{own}"
        );

        // Beyond MAX_SOURCES unknown sources (10.9.9.9 is one), new ones go to source="other".
        for i in 0..MAX_SOURCES - 1 {
            let ip = IpAddr::from([10, 1, (i / 256) as u8, (i % 256) as u8]);
            m.count(&Origin::Unknown(ip), "coldStart", at);
        }
        assert!(!m.count(
            &Origin::Unknown("10.2.0.1".parse().unwrap()),
            "coldStart",
            at
        ));
        let text = render(&m, TrapCollector::new(m.clone(), Scope::All));
        assert!(
            text.contains("octopoll_traps_unattributed_total{source=\"other\"} 1"),
            "{text}"
        );

        // A removed device's series leave; unknown sources stay.
        let empty =
            crate::config::load_str("devices: []\n", std::path::Path::new("t.yml")).unwrap();
        m.prune(&empty);
        let text = render(&m, TrapCollector::new(m.clone(), Scope::All));
        assert!(!text.contains("sw1") && text.contains("10.9.9.9"));
    }
}
