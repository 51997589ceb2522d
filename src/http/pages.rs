//! The HTML pages a technician opens first: the status page (`/`) and the live device
//! page (`/devices/NAME`). They read the snapshot store, never SNMP; they work without
//! JavaScript and refresh themselves. Markup lives in `templates/` (askama, escaped by
//! default); this file builds what the templates show.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use askama::Template;

use super::display::{self, ago, bits_per_second, if_status, per_second, unescape_label};
use super::State;
use crate::config::Device;
use crate::metrics::mapping::Interface;
use crate::poller::rates::{InterfaceRates, Rates};
use crate::poller::{DeviceSnapshot, Event};
use crate::table::FamilyType;

/// Path of the Device dashboard in Grafana (its uid and slug in `grafana/dashboards/`).
pub const GRAFANA_DEVICE_DASHBOARD: &str = "/d/octopoll-device/octopoll-device";
/// Path of the Overview dashboard in Grafana.
pub const GRAFANA_OVERVIEW_DASHBOARD: &str = "/d/octopoll-overview/octopoll-overview";
/// How often the status page reloads itself.
const STATUS_REFRESH: Duration = Duration::from_secs(10);
/// Recent events shown per device on the status page.
const EVENTS_ON_STATUS: usize = 3;
/// Notifications per device on the status page (the device page lists all kept).
const NOTIFICATIONS_ON_STATUS: usize = 5;

/// Characters left as they are in a path segment or a query value: RFC 3986's
/// unreserved ones and `:` (allowed in both, and common in device names).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// `/probe?device=NAME`, the device's own metrics.
fn probe_path(name: &str) -> String {
    format!(
        "/probe?device={}",
        percent_encoding::utf8_percent_encode(name, SEGMENT)
    )
}

/// The URL path of a device's page.
pub fn device_path(name: &str) -> String {
    if name.chars().all(|c| c == '.') {
        // `.` and `..` would be taken as path steps by browsers.
        return format!("/devices/{}", name.replace('.', "%2E"));
    }
    format!(
        "/devices/{}",
        percent_encoding::utf8_percent_encode(name, SEGMENT)
    )
}

fn query_value(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn grafana_link(base: Option<&str>, path: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let base = base?.trim_end_matches('/');
    Some(format!("{base}{path}?{}", query_value(pairs)))
}

/// One line of event history.
struct EventRow {
    ago: String,
    at: String,
    kind: &'static str,
    message: String,
}

impl EventRow {
    fn new(e: &Event) -> EventRow {
        EventRow {
            ago: ago(e.at),
            at: utc(e.at),
            kind: e.kind,
            message: e.message.clone(),
        }
    }

    /// A received notification, shown like an event.
    fn notification(n: &crate::poller::TrapEvent) -> EventRow {
        EventRow {
            ago: ago(n.at),
            at: utc(n.at),
            kind: "notification",
            message: n.message.clone(),
        }
    }
}

/// The latest notifications of `device` (or of a source address), newest first.
fn notifications(store: &crate::poller::Store, device: &str, max: usize) -> Vec<EventRow> {
    store
        .notifications(device)
        .iter()
        .rev()
        .take(max)
        .map(EventRow::notification)
        .collect()
}

/// A source whose notifications were kept under its address
/// (`traps.accept_unknown_sources`).
struct SourceRow {
    source: String,
    notifications: Vec<EventRow>,
}

/// `2026-12-01 09:41:07 UTC`.
fn utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// A device's state in one word, for the badge and the CSS class.
fn device_status(snap: Option<&DeviceSnapshot>) -> &'static str {
    match snap {
        None => "pending",
        Some(s) if s.up => "up",
        Some(_) => "down",
    }
}

fn labels_text(d: &Device) -> String {
    d.labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

// === status page ===

struct DeviceRow {
    name: String,
    href: String,
    probe_href: String,
    address: String,
    labels: String,
    /// The modules polled: the listed ones, and those the device's rules chose.
    modules: String,
    status: &'static str,
    last_poll: String,
    duration: String,
    interfaces: String,
    /// `in 1.2 Gbit/s · out 800 Mbit/s`, empty until there are rates.
    traffic: String,
    last_error: String,
    events: Vec<EventRow>,
    notifications: Vec<EventRow>,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    version: &'static str,
    config_path: String,
    files: usize,
    refresh_secs: u64,
    reload_ok: bool,
    reload_ago: String,
    shard: String,
    grafana: Option<String>,
    total: usize,
    up: usize,
    down: usize,
    pending: usize,
    q: String,
    problems: bool,
    shown: usize,
    /// SNMP requests, timeouts and retries since octopoll started.
    snmp: [u64; 3],
    config_events: Vec<EventRow>,
    rows: Vec<DeviceRow>,
    /// Notifications from sources that are no configured device.
    sources: Vec<SourceRow>,
}

/// Renders `/`. `params` are the query: `q` filters by name, address or label value,
/// `problems=1` shows only devices that are down or not polled yet.
pub fn status_page(state: &State, params: &BTreeMap<String, String>) -> String {
    let config = state.config();
    let store = state.store();
    let q = params.get("q").cloned().unwrap_or_default();
    let problems = params
        .get("problems")
        .is_some_and(|v| v == "1" || v == "on");
    let needle = q.to_lowercase();
    let (mut up, mut down, mut pending) = (0, 0, 0);
    let mut rows = Vec::new();
    for d in state.poller.owned(&config) {
        let snap = store.get(&d.name);
        let status = device_status(snap.as_deref());
        match status {
            "up" => up += 1,
            "down" => down += 1,
            _ => pending += 1,
        }
        let labels = labels_text(d);
        if problems && status == "up" {
            continue;
        }
        if !needle.is_empty()
            && ![&d.name, &d.address, &labels]
                .iter()
                .any(|s| s.to_lowercase().contains(&needle))
        {
            continue;
        }
        let events = store
            .events(&d.name)
            .iter()
            .rev()
            .take(EVENTS_ON_STATUS)
            .map(EventRow::new)
            .collect();
        let (last_poll, duration, interfaces, last_error) = match &snap {
            None => (
                "never".to_string(),
                String::new(),
                String::new(),
                String::new(),
            ),
            Some(s) => (
                ago(s.last_poll),
                display::duration(s.duration),
                s.data
                    .as_ref()
                    .map(|p| interfaces_summary(&p.interfaces))
                    .unwrap_or_default(),
                s.last_error.clone().unwrap_or_default(),
            ),
        };
        let traffic = match &snap {
            Some(s) if s.up => traffic(s.rates.as_deref(), "in"),
            _ => String::new(),
        };
        rows.push(DeviceRow {
            href: device_path(&d.name),
            probe_href: probe_path(&d.name),
            name: d.name.clone(),
            address: d.address.clone(),
            labels,
            modules: modules_text(d, snap.as_deref()),
            status,
            last_poll,
            duration,
            interfaces,
            traffic,
            last_error,
            events,
            notifications: notifications(store, &d.name, NOTIFICATIONS_ON_STATUS),
        });
    }
    // Problems first: what a technician opens the page for.
    let rank = |s: &str| match s {
        "down" => 0,
        "pending" => 1,
        _ => 2,
    };
    rows.sort_by(|a, b| {
        rank(a.status)
            .cmp(&rank(b.status))
            .then_with(|| a.name.cmp(&b.name))
    });
    let exporter = &state.exporter;
    let reload_ts = exporter.reload_success_ts.load(Ordering::Relaxed);
    let page = StatusPage {
        version: env!("CARGO_PKG_VERSION"),
        config_path: state.config_path.display().to_string(),
        files: config.files.len(),
        refresh_secs: STATUS_REFRESH.as_secs(),
        reload_ok: exporter.reload_ok.load(Ordering::Relaxed),
        reload_ago: ago(UNIX_EPOCH + Duration::from_secs(reload_ts)),
        shard: state
            .poller
            .shard()
            .map(|s| format!("shard {}/{}", s.index, s.count))
            .unwrap_or_default(),
        grafana: grafana_link(
            state.grafana_url.as_deref(),
            GRAFANA_OVERVIEW_DASHBOARD,
            &[],
        ),
        total: up + down + pending,
        up,
        down,
        pending,
        shown: rows.len(),
        q,
        problems,
        snmp: {
            let st = state.poller.engine().stats();
            [&st.requests, &st.timeouts, &st.retries].map(|c| c.load(Ordering::Relaxed))
        },
        config_events: store.events("").iter().rev().map(EventRow::new).collect(),
        rows,
        sources: store
            .notification_sources()
            .into_iter()
            .filter(|s| !config.devices.iter().any(|d| &d.name == s))
            .map(|source| SourceRow {
                notifications: notifications(store, &source, NOTIFICATIONS_ON_STATUS),
                source,
            })
            .collect(),
    };
    page.render()
        .unwrap_or_else(|e| format!("status page failed to render: {e}\n"))
}

/// `48 (3 down)`: interfaces, and how many are operationally down while admin up.
fn interfaces_summary(ifaces: &[Interface]) -> String {
    let down = ifaces
        .iter()
        .filter(|i| i.admin == Some(1) && i.oper.is_some_and(|o| o != 1))
        .count();
    if down > 0 {
        format!("{} ({down} down)", ifaces.len())
    } else {
        ifaces.len().to_string()
    }
}

/// `{lead} 1.2 Gbit/s · out 800 Mbit/s`, the device's total traffic; empty without rates.
fn traffic(rates: Option<&Rates>, lead: &str) -> String {
    match rates.and_then(total_traffic) {
        Some((i, o)) => format!("{lead} {} · out {}", bits_per_second(i), bits_per_second(o)),
        None => String::new(),
    }
}

/// Sum of the in and out rates over the interfaces that have them.
fn total_traffic(rates: &Rates) -> Option<(f64, f64)> {
    let sum = |f: fn(&InterfaceRates) -> Option<f64>| -> Option<f64> {
        rates.interfaces.iter().filter_map(f).reduce(|a, b| a + b)
    };
    Some((sum(|r| r.in_bps)?, sum(|r| r.out_bps)?))
}

// === device page ===

/// One interface row, every cell already formatted.
struct IfRow {
    index: u32,
    name: String,
    descr: String,
    alias: String,
    admin: &'static str,
    oper: &'static str,
    /// Admin up and oper not up: the rows a technician looks for.
    problem: bool,
    speed: String,
    in_rate: String,
    out_rate: String,
    in_util: String,
    out_util: String,
    /// Bar widths, 0..=100.
    in_bar: u32,
    out_bar: u32,
    errors: String,
    discards: String,
}

struct SeriesRow {
    name: String,
    labels: String,
    value: String,
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage {
    version: &'static str,
    name: String,
    status: &'static str,
    address: String,
    labels: String,
    refresh_secs: u64,
    probe_href: String,
    grafana: Option<String>,
    identity: Vec<(&'static str, String)>,
    polling: Vec<(&'static str, String)>,
    last_error: String,
    rates_note: String,
    summary: String,
    q: String,
    sort: String,
    interfaces: Vec<IfRow>,
    hidden: usize,
    series: Vec<SeriesRow>,
    series_more: usize,
    events: Vec<EventRow>,
    notifications: Vec<EventRow>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    version: &'static str,
    message: String,
}

/// The device page, or `Err(page)` for a device this instance does not poll.
pub fn device_page(
    state: &State,
    name: &str,
    params: &BTreeMap<String, String>,
) -> Result<String, String> {
    let config = state.config();
    let Some(device) = config.devices.iter().find(|d| d.name == name) else {
        return Err(not_found(format!(
            "No device named {name:?} in the config."
        )));
    };
    if !state.poller.owned(&config).any(|d| d.name == name) {
        return Err(not_found(format!(
            "Device {name:?} is polled by another shard, not by this instance."
        )));
    }
    let snap = state.store().get(name);
    let snap = snap.as_deref();
    let q = params.get("q").cloned().unwrap_or_default();
    let sort = params.get("sort").cloned().unwrap_or_default();
    let (interfaces, hidden) = interface_rows(snap, &q, &sort);
    let (series, series_more) = series_rows(snap);
    let page = DevicePage {
        version: env!("CARGO_PKG_VERSION"),
        name: device.name.clone(),
        status: device_status(snap),
        address: device.address.clone(),
        labels: labels_text(device),
        // The page follows the polls: no point reloading faster, and no slower than a minute.
        refresh_secs: device.interval.as_secs().clamp(2, 60),
        probe_href: probe_path(name),
        grafana: grafana_link(
            state.grafana_url.as_deref(),
            GRAFANA_DEVICE_DASHBOARD,
            &[("var-device", name)],
        ),
        identity: identity(snap),
        polling: polling(device, snap),
        last_error: snap.and_then(|s| s.last_error.clone()).unwrap_or_default(),
        rates_note: rates_note(snap),
        summary: snap
            .and_then(|s| s.data.as_ref())
            .map(|d| interfaces_overview(&d.interfaces, snap.and_then(|s| s.rates.as_deref())))
            .unwrap_or_default(),
        q,
        sort,
        interfaces,
        hidden,
        series,
        series_more,
        events: state
            .store()
            .events(name)
            .iter()
            .rev()
            .map(EventRow::new)
            .collect(),
        notifications: notifications(state.store(), name, usize::MAX),
    };
    Ok(page
        .render()
        .unwrap_or_else(|e| format!("device page failed to render: {e}\n")))
}

fn not_found(message: String) -> String {
    NotFoundPage {
        version: env!("CARGO_PKG_VERSION"),
        message,
    }
    .render()
    .unwrap_or_else(|e| format!("page failed to render: {e}\n"))
}

fn identity(snap: Option<&DeviceSnapshot>) -> Vec<(&'static str, String)> {
    let Some(sys) = snap.and_then(|s| s.system.as_ref()) else {
        return Vec::new();
    };
    let mut out = vec![
        ("sysName", unescape_label(&sys.sys_name)),
        ("sysDescr", unescape_label(&sys.sys_descr)),
        ("sysObjectID", unescape_label(&sys.sys_object_id)),
        ("sysLocation", unescape_label(&sys.sys_location)),
    ];
    if let Some(t) = sys.sys_uptime {
        out.push((
            "uptime",
            display::duration(Duration::from_millis(u64::from(t) * 10)),
        ));
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}

/// `if_mib, cpu · by rule: cisco_device`: the listed modules, then those the device's
/// `module_rules` chose at the latest poll.
fn modules_text(device: &Device, snap: Option<&DeviceSnapshot>) -> String {
    let listed: Vec<&str> = device
        .modules
        .iter()
        .map(|m| m.name.as_str())
        .filter(|n| !n.starts_with("device:"))
        .collect();
    let mut out = listed.join(", ");
    let ruled = snap
        .and_then(|s| s.data.as_ref())
        .map(|d| d.rule_modules.join(", "))
        .unwrap_or_default();
    if !ruled.is_empty() {
        if !out.is_empty() {
            out.push_str(" · ");
        }
        out.push_str("by rule: ");
        out.push_str(&ruled);
    } else if !device.module_rules.is_empty() && out.is_empty() {
        out.push_str("chosen by rules at the first poll");
    }
    out
}

fn polling(device: &Device, snap: Option<&DeviceSnapshot>) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("interval", display::duration(device.interval)),
        ("modules", modules_text(device, snap)),
    ];
    let Some(s) = snap else {
        out.push(("last poll", "not yet: the first poll is pending".into()));
        return out;
    };
    out.push((
        "last poll",
        format!("{} ({})", ago(s.last_poll), utc(s.last_poll)),
    ));
    out.push(("poll duration", display::duration(s.duration)));
    out.push((
        "last success",
        s.last_success
            .map(|t| format!("{} ({})", ago(t), utc(t)))
            .unwrap_or_else(|| "never".into()),
    ));
    out.push((
        "polls",
        format!(
            "{} ok, {} failed, {} skipped",
            s.polls_ok, s.polls_failed, s.polls_skipped
        ),
    ));
    out
}

fn rates_note(snap: Option<&DeviceSnapshot>) -> String {
    match snap {
        None => "Rates appear after the second poll.".into(),
        Some(s) if !s.up => "The device is down: no current data.".into(),
        Some(s) => match &s.rates {
            Some(r) => format!(
                "Rates between the last two polls, {} apart.",
                display::duration(r.over)
            ),
            None => "Rates appear after the next poll (they need two in a row).".into(),
        },
    }
}

/// `48 interfaces: 40 up, 3 down, 5 admin down · in 1.2 Gbit/s · out 800 Mbit/s`.
fn interfaces_overview(ifaces: &[Interface], rates: Option<&Rates>) -> String {
    let up = ifaces.iter().filter(|i| i.oper == Some(1)).count();
    let admin_down = ifaces.iter().filter(|i| i.admin == Some(2)).count();
    let down = ifaces.len() - up - admin_down;
    format!(
        "{} interfaces: {up} up, {down} down, {admin_down} admin down{}",
        ifaces.len(),
        traffic(rates, " · total in")
    )
}

fn rate_cell(v: Option<f64>) -> String {
    v.map(bits_per_second).unwrap_or_else(|| "—".into())
}

fn util(bps: Option<f64>, speed_mbit: Option<u64>) -> Option<f64> {
    let speed = speed_mbit.filter(|s| *s > 0)? as f64 * 1e6;
    Some(bps? / speed)
}

fn pair(a: Option<f64>, b: Option<f64>) -> String {
    let one = |v: Option<f64>| v.map(per_second).unwrap_or_else(|| "—".into());
    format!("{} / {}", one(a), one(b))
}

fn interface_rows(snap: Option<&DeviceSnapshot>, q: &str, sort: &str) -> (Vec<IfRow>, usize) {
    let Some(s) = snap else {
        return (Vec::new(), 0);
    };
    let Some(data) = &s.data else {
        return (Vec::new(), 0);
    };
    let none = InterfaceRates::default();
    let needle = q.to_lowercase();
    let mut rows: Vec<(IfRow, [f64; 3])> = Vec::with_capacity(data.interfaces.len());
    for i in &data.interfaces {
        let r = s
            .rates
            .as_ref()
            .and_then(|r| r.get(i.index))
            .unwrap_or(&none);
        let name = unescape_label(i.display_name());
        let alias = unescape_label(&i.labels[3]);
        let descr = unescape_label(&i.labels[2]);
        if !needle.is_empty()
            && ![&name, &alias, &descr]
                .iter()
                .any(|t| t.to_lowercase().contains(&needle))
        {
            continue;
        }
        let (iu, ou) = (util(r.in_bps, i.high_speed), util(r.out_bps, i.high_speed));
        let bar = |u: Option<f64>| (u.unwrap_or(0.0).clamp(0.0, 1.0) * 100.0).round() as u32;
        let errors = r.in_errors_ps.unwrap_or(0.0) + r.out_errors_ps.unwrap_or(0.0);
        let key = [
            r.in_bps.unwrap_or(-1.0),
            r.out_bps.unwrap_or(-1.0),
            errors + r.in_discards_ps.unwrap_or(0.0) + r.out_discards_ps.unwrap_or(0.0),
        ];
        rows.push((
            IfRow {
                index: i.index,
                descr: if descr == name { String::new() } else { descr },
                name,
                alias,
                admin: i.admin.map(if_status).unwrap_or("—"),
                oper: i.oper.map(if_status).unwrap_or("—"),
                problem: i.admin == Some(1) && i.oper != Some(1),
                speed: i
                    .high_speed
                    .map(display::speed)
                    .unwrap_or_else(|| "—".into()),
                in_rate: rate_cell(r.in_bps),
                out_rate: rate_cell(r.out_bps),
                in_util: iu.map(display::percent).unwrap_or_default(),
                out_util: ou.map(display::percent).unwrap_or_default(),
                in_bar: bar(iu),
                out_bar: bar(ou),
                errors: pair(r.in_errors_ps, r.out_errors_ps),
                discards: pair(r.in_discards_ps, r.out_discards_ps),
            },
            key,
        ));
    }
    let hidden = data.interfaces.len() - rows.len();
    // Busiest first for the traffic columns; ifIndex order (numeric) otherwise.
    let by = |k: usize| {
        move |a: &(IfRow, [f64; 3]), b: &(IfRow, [f64; 3])| {
            b.1[k].total_cmp(&a.1[k]).then(a.0.index.cmp(&b.0.index))
        }
    };
    match sort {
        "in" => rows.sort_by(by(0)),
        "out" => rows.sort_by(by(1)),
        "errors" => rows.sort_by(by(2)),
        "name" => rows.sort_by(|a, b| a.0.name.cmp(&b.0.name)),
        "status" => rows.sort_by_key(|r| (Reverse(r.0.problem), r.0.oper, r.0.index)),
        _ => {}
    }
    (rows.into_iter().map(|(r, _)| r).collect(), hidden)
}

/// Module series shown on the device page at most; the rest are in `/probe`.
const SERIES_SHOWN: usize = 500;

/// The device's module series (custom OIDs, user and snmp_exporter modules) as the
/// exposition names them, with their labels; at most [`SERIES_SHOWN`], and how many more.
fn series_rows(snap: Option<&DeviceSnapshot>) -> (Vec<SeriesRow>, usize) {
    let Some(data) = snap.and_then(|s| s.data.as_ref()) else {
        return (Vec::new(), 0);
    };
    let mut rows = Vec::new();
    let mut total = 0;
    for f in &data.families {
        let name = match f.kind {
            FamilyType::Counter => format!("{}_total", f.name),
            FamilyType::Info => format!("{}_info", f.name),
            FamilyType::Gauge | FamilyType::Unknown => f.name.to_string(),
        };
        for sample in &f.samples {
            total += 1;
            if rows.len() == SERIES_SHOWN {
                continue;
            }
            rows.push(SeriesRow {
                name: name.clone(),
                labels: sample
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={}", unescape_label(v)))
                    .collect::<Vec<_>>()
                    .join(" "),
                value: format!("{}", sample.value),
            });
        }
    }
    let more = total - rows.len();
    (rows, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // leap day 2024
        assert_eq!(utc(t), "2024-02-29 12:34:56 UTC");
    }

    #[test]
    fn device_paths_are_encoded() {
        assert_eq!(device_path("core-sw1"), "/devices/core-sw1");
        assert_eq!(device_path(".."), "/devices/%2E%2E");
        assert_eq!(device_path("a b/c"), "/devices/a%20b%2Fc");
        assert_eq!(device_path("core:sw.1"), "/devices/core:sw.1");
        assert_eq!(probe_path("a&b=c d"), "/probe?device=a%26b%3Dc%20d");
        assert_eq!(
            grafana_link(Some("http://g:3000/"), "/d/x/y", &[("var-device", "a&b")]),
            Some("http://g:3000/d/x/y?var-device=a%26b".into())
        );
    }
}
