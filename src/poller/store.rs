//! The snapshot store: the latest immutable result per device, and a short event history.
//!
//! Pollers replace a device's `Arc<DeviceSnapshot>` whole; scrapes clone the `Arc`s and
//! never wait on SNMP. std locks, not tokio's: nothing awaits while holding them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use super::poll::PollData;
use super::rates::{self, Rates};
use crate::config::Device;
use crate::metrics::mapping::{escape_label, SystemInfo};

/// Events kept per device (and for the global config history).
const EVENTS_KEPT: usize = 10;
/// Notifications kept per device.
pub const NOTIFICATIONS_KEPT: usize = 20;

/// The state of one device after its latest poll.
#[derive(Debug, Clone)]
pub struct DeviceSnapshot {
    /// The device's config.
    pub device: Arc<Device>,
    /// `device` plus the configured labels, values escaped, in exposition order.
    pub labels: Vec<(String, String)>,
    /// True when the latest poll succeeded.
    pub up: bool,
    /// When the latest poll ended.
    pub last_poll: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// When a poll last succeeded.
    pub last_success: Option<SystemTime>,
    /// Why the latest poll failed.
    pub last_error: Option<String>,
    /// System group from the latest successful poll (kept while the device is down).
    pub system: Option<SystemInfo>,
    /// The latest successful poll's data; `None` while down, so series are withdrawn.
    pub data: Option<Arc<PollData>>,
    /// Interface rates between the previous successful poll and this one, when both
    /// polled the same device config in a row (for the device page).
    pub rates: Option<Arc<Rates>>,
    /// Successful polls since this device's task started.
    pub polls_ok: u64,
    /// Failed polls since this device's task started.
    pub polls_failed: u64,
    /// Polls skipped because the previous one overran its slot.
    pub polls_skipped: u64,
}

impl DeviceSnapshot {
    /// Labels for a device: `device` first, then the configured ones.
    pub fn device_labels(device: &Device) -> Vec<(String, String)> {
        let mut labels = vec![("device".to_string(), escape_label(&device.name))];
        labels.extend(
            device
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), escape_label(v))),
        );
        labels
    }
}

/// A state change worth a log line and a row on the status page.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it was seen.
    pub at: SystemTime,
    /// The device (empty for config events).
    pub device: String,
    /// The interface, when the event is about one.
    pub interface: Option<String>,
    /// Machine-friendly kind: `device_down`, `device_up`, `interface_up`, `interface_down`,
    /// `interface_status`, `reboot`, `config_reloaded`, `config_rejected`.
    pub kind: &'static str,
    /// Human text.
    pub message: String,
}

/// A notification (trap or inform) received from a device, as the pages list it. Logged
/// by the listener, which also bounds how many unknown sources get a list.
#[derive(Debug, Clone, PartialEq)]
pub struct TrapEvent {
    /// When it arrived.
    pub at: SystemTime,
    /// The device, or the source address for an accepted unknown source.
    pub device: String,
    /// Its name: standard, configured, or the OID.
    pub trap: String,
    /// `v1`, `v2c` or `v3`, and `trap` or `inform`.
    pub via: String,
    /// Where the datagram came from.
    pub source: std::net::SocketAddr,
    /// Human text: the interface, labels and varbinds.
    pub message: String,
}

/// Shared store of snapshots and events.
#[derive(Debug, Default)]
pub struct Store {
    devices: RwLock<BTreeMap<String, Arc<DeviceSnapshot>>>,
    events: Mutex<HashMap<String, VecDeque<Event>>>,
    notifications: Mutex<HashMap<String, VecDeque<TrapEvent>>>,
}

impl Store {
    /// Every snapshot, in device-name order.
    pub fn all(&self) -> Vec<Arc<DeviceSnapshot>> {
        self.devices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// One device's snapshot.
    pub fn get(&self, name: &str) -> Option<Arc<DeviceSnapshot>> {
        self.devices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Drops a device's snapshot (removed from the config or restarted with a new one).
    pub fn remove(&self, name: &str) {
        self.devices
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    /// Drops a device's event and notification history (device removed from the config).
    pub fn forget_events(&self, name: &str) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.notifications
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    /// Keeps a notification in its device's recent list (the last [`NOTIFICATIONS_KEPT`]).
    pub fn notification(&self, n: TrapEvent) {
        let mut all = self.notifications.lock().unwrap_or_else(|e| e.into_inner());
        let q = all.entry(n.device.clone()).or_default();
        if q.len() == NOTIFICATIONS_KEPT {
            q.pop_front();
        }
        q.push_back(n);
    }

    /// A device's recent notifications, oldest first.
    pub fn notifications(&self, device: &str) -> Vec<TrapEvent> {
        self.notifications
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(device)
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every device or source with recent notifications, in name order.
    pub fn notification_sources(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .notifications
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        out.sort();
        out
    }

    /// The last events of a device (`""` for config events), oldest first.
    pub fn events(&self, device: &str) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(device)
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Records an event and logs it as one structured line.
    pub fn event(&self, event: Event) {
        match event.kind {
            "device_down" | "interface_down" | "config_rejected" => tracing::warn!(
                target: "octopoll::event",
                event = event.kind,
                device = %event.device,
                interface = event.interface.as_deref().unwrap_or(""),
                "{}", event.message
            ),
            _ => tracing::info!(
                target: "octopoll::event",
                event = event.kind,
                device = %event.device,
                interface = event.interface.as_deref().unwrap_or(""),
                "{}", event.message
            ),
        }
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let q = events.entry(event.device.clone()).or_default();
        if q.len() == EVENTS_KEPT {
            q.pop_front();
        }
        q.push_back(event);
    }

    /// Stores the outcome of a poll, emitting events for what changed since the last one.
    pub fn record(
        &self,
        device: &Arc<Device>,
        result: Result<PollData, String>,
        duration: Duration,
        skipped: u64,
    ) -> Arc<DeviceSnapshot> {
        let now = SystemTime::now();
        let prev = self
            .get(&device.name)
            .filter(|p| Arc::ptr_eq(&p.device, device));
        let (polls_ok, polls_failed, polls_skipped) = prev
            .as_ref()
            .map_or((0, 0, 0), |p| (p.polls_ok, p.polls_failed, p.polls_skipped));
        let snap = match result {
            Ok(data) => {
                for w in &data.warnings {
                    tracing::warn!(device = %device.name, "{w}");
                }
                let rates = prev.as_deref().and_then(|p| rates_since(p, &data, now));
                DeviceSnapshot {
                    device: device.clone(),
                    labels: DeviceSnapshot::device_labels(device),
                    up: true,
                    last_poll: now,
                    duration,
                    last_success: Some(now),
                    last_error: data.warnings.first().cloned(),
                    system: data.system.clone(),
                    data: Some(Arc::new(data)),
                    rates: rates.map(Arc::new),
                    polls_ok: polls_ok + 1,
                    polls_failed,
                    polls_skipped: polls_skipped + skipped,
                }
            }
            Err(error) => DeviceSnapshot {
                device: device.clone(),
                labels: DeviceSnapshot::device_labels(device),
                up: false,
                last_poll: now,
                duration,
                last_success: prev.as_ref().and_then(|p| p.last_success),
                last_error: Some(error),
                system: prev.as_ref().and_then(|p| p.system.clone()),
                data: None,
                rates: None,
                polls_ok,
                polls_failed: polls_failed + 1,
                polls_skipped: polls_skipped + skipped,
            },
        };
        for e in diff(prev.as_deref(), &snap, now) {
            self.event(e);
        }
        let snap = Arc::new(snap);
        self.devices
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(device.name.clone(), snap.clone());
        snap
    }
}

/// Rates from the previous snapshot's data to `next`, polled at `now`.
fn rates_since(prev: &DeviceSnapshot, next: &PollData, now: SystemTime) -> Option<Rates> {
    let old = prev.data.as_ref()?;
    let wall = now.duration_since(prev.last_poll).ok()?;
    let uptime = |d: &PollData| d.system.as_ref().and_then(|s| s.sys_uptime);
    let ticks = uptime(old).zip(uptime(next));
    let restarted = matches!(ticks, Some((a, b)) if b < a);
    let over = rates::interval(wall, ticks);
    rates::between(&old.interfaces, &next.interfaces, over, restarted)
}

fn oper_name(v: i64) -> String {
    match v {
        1 => "up".into(),
        2 => "down".into(),
        3 => "testing".into(),
        4 => "unknown".into(),
        5 => "dormant".into(),
        6 => "notPresent".into(),
        7 => "lowerLayerDown".into(),
        other => other.to_string(),
    }
}

/// The events between two snapshots of one device.
fn diff(prev: Option<&DeviceSnapshot>, next: &DeviceSnapshot, at: SystemTime) -> Vec<Event> {
    let name = &next.device.name;
    let ev = |kind, interface: Option<String>, message: String| Event {
        at,
        device: name.clone(),
        interface,
        kind,
        message,
    };
    let mut out = Vec::new();
    let was_up = prev.map(|p| p.up);
    match (was_up, next.up) {
        (Some(true) | None, false) => out.push(ev(
            "device_down",
            None,
            format!(
                "device down: {}",
                next.last_error.as_deref().unwrap_or("poll failed")
            ),
        )),
        (Some(false), true) => out.push(ev("device_up", None, "device back up".into())),
        _ => {}
    }
    let (Some(p), Some(n)) = (prev.and_then(|p| p.data.as_ref()), next.data.as_ref()) else {
        return out;
    };
    if let (Some(ps), Some(ns)) = (&p.system, &n.system) {
        if let (Some(a), Some(b)) = (ps.sys_uptime, ns.sys_uptime) {
            // TimeTicks wrap after 497 days; a wrap lands near zero from near the top.
            if b < a && a - b < u32::MAX / 2 {
                out.push(ev(
                    "reboot",
                    None,
                    format!("device rebooted: sysUpTime went from {a} to {b}"),
                ));
            }
        }
    }
    for iface in &n.interfaces {
        let Ok(pos) = p.interfaces.binary_search_by_key(&iface.index, |i| i.index) else {
            continue;
        };
        let old = &p.interfaces[pos];
        if let (Some(a), Some(b)) = (old.oper, iface.oper) {
            if a != b {
                let kind = match b {
                    1 => "interface_up",
                    2 | 7 => "interface_down",
                    _ => "interface_status",
                };
                out.push(ev(
                    kind,
                    Some(iface.display_name().to_string()),
                    format!(
                        "interface {} (ifIndex {}) oper status {} -> {}",
                        iface.display_name(),
                        iface.index,
                        oper_name(a),
                        oper_name(b)
                    ),
                ));
            }
        }
    }
    out
}
