//! Scalars: durations, counts, names, addresses.

use std::time::Duration;

use super::raw::Text;
use super::report::Report;
use crate::table::{Flavor, ValueType};

const DEFAULT_PORT: u16 = 161;

/// Metric names octopoll itself exports; user OIDs may not take them.
pub(crate) const BUILTIN_METRICS: &[&str] = &[
    "ifHCInOctets",
    "ifHCOutOctets",
    "ifInOctets",
    "ifOutOctets",
    "ifInErrors",
    "ifOutErrors",
    "ifInDiscards",
    "ifOutDiscards",
    "ifOperStatus",
    "ifAdminStatus",
    "ifHighSpeed",
    "sysUpTime",
];
const RESERVED_METRIC_PREFIXES: &[&str] = &["snmp_", "octopoll_"];
/// Labels octopoll sets itself; user labels may not shadow them.
pub(crate) const RESERVED_LABELS: &[&str] = &[
    "device", "ifIndex", "ifName", "ifDescr", "ifAlias", "index", "value", "job", "instance",
    "address",
];

/// Parses a Prometheus-style duration: `500ms`, `2s`, `1m30s`, `1h`, `1d`; units from the
/// largest down, each at most once.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    const UNITS: &[(&str, u64)] = &[
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let bad =
        || format!("invalid duration `{s}`: use e.g. 500ms, 2s, 1m30s, 1h (units ms s m h d)");
    if s.is_empty() {
        return Err(bad());
    }
    let mut rest = s;
    let mut total: u64 = 0;
    let mut last_unit = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let ulen = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..ulen];
        rest = &rest[ulen..];
        let idx = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
        // Units must go from large to small without repeats, as Prometheus requires.
        if last_unit.is_some_and(|l| idx <= l) {
            return Err(bad());
        }
        last_unit = Some(idx);
        total = n
            .checked_mul(UNITS[idx].1)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("duration `{s}` is too long"))?;
    }
    Ok(Duration::from_millis(total))
}

/// Formats a duration the way the config writes it (`1m30s`, `500ms`).
pub(crate) fn fmt_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

pub(crate) fn field_interval(rep: &mut Report, f: usize, key: &str, t: &Text) -> Option<Duration> {
    match parse_duration(&t.0) {
        Ok(d) if d < Duration::from_secs(1) => {
            rep.at(f, key, format!("interval must be at least 1s, got {}", t.0));
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            rep.at(f, key, e);
            None
        }
    }
}

pub(crate) fn field_timeout(rep: &mut Report, f: usize, key: &str, t: &Text) -> Option<Duration> {
    match parse_duration(&t.0) {
        Ok(d) if d.is_zero() => {
            rep.at(f, key, "timeout must be more than 0");
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            rep.at(f, key, e);
            None
        }
    }
}

pub(crate) fn field_range(
    rep: &mut Report,
    f: usize,
    key: &str,
    v: i64,
    min: u32,
    max: u32,
) -> Option<u32> {
    match u32::try_from(v) {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            let name = key.rsplit('.').next().unwrap_or(key);
            rep.at(
                f,
                key,
                format!("{name} must be from {min} to {max}, got {v}"),
            );
            None
        }
    }
}

/// Checks that a whole poll (all retries) fits in the interval. `key` is where to report.
pub(crate) fn check_timing(
    rep: &mut Report,
    f: usize,
    key: &str,
    interval: Duration,
    timeout: Duration,
    retries: u32,
) {
    if timeout > interval {
        rep.at(
            f,
            key,
            format!(
                "timeout {} is longer than interval {}",
                fmt_duration(timeout),
                fmt_duration(interval)
            ),
        );
        return;
    }
    let worst = timeout.saturating_mul(retries.saturating_add(1));
    if worst >= interval {
        rep.at(
            f,
            key,
            format!(
                "timeout {} × (retries {} + 1) = {} is not less than interval {}: \
                 a poll could outlive its interval",
                fmt_duration(timeout),
                retries,
                fmt_duration(worst),
                fmt_duration(interval)
            ),
        );
    }
}

pub(crate) fn is_name_char(c: char, extra: &str) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || extra.contains(c)
}

pub(crate) fn is_device_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| is_name_char(c, ".:-"))
}

pub(crate) fn is_module_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| is_name_char(c, ".-"))
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, Prometheus' metric name syntax.
pub(crate) fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| is_name_char(c, ":"))
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, Prometheus' label name syntax.
pub(crate) fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| is_name_char(c, ""))
}

pub(crate) fn check_label_name(name: &str) -> Result<(), String> {
    if !is_label_name(name) {
        Err(format!(
            "invalid label name `{name}`: use letters, digits and `_`, not starting with a digit"
        ))
    } else if name.starts_with("__") {
        Err(format!(
            "label name `{name}` starts with `__`, which Prometheus reserves"
        ))
    } else if RESERVED_LABELS.contains(&name) {
        Err(format!(
            "label `{name}` is set by octopoll itself; reserved: {}",
            RESERVED_LABELS.join(", ")
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn check_metric_name(
    name: &str,
    kind: Option<ValueType>,
    flavor: Flavor,
) -> Result<(), String> {
    if !is_metric_name(name) {
        return Err(format!(
            "invalid metric name `{name}`: must match [a-zA-Z_:][a-zA-Z0-9_:]*"
        ));
    }
    // snmp_exporter's if_mib and system modules carry these names on purpose; the clash
    // with the built-in module is checked per config (see `devices.rs`).
    if flavor == Flavor::Octopoll && BUILTIN_METRICS.contains(&name) {
        return Err(format!(
            "metric name `{name}` is one of octopoll's built-in metrics"
        ));
    }
    if let Some(p) = RESERVED_METRIC_PREFIXES
        .iter()
        .find(|p| name.starts_with(**p))
    {
        return Err(format!(
            "metric name `{name}`: names starting with `{p}` are reserved for octopoll"
        ));
    }
    if flavor == Flavor::Octopoll && kind == Some(ValueType::Counter) && name.ends_with("_total") {
        return Err(format!(
            "counter name `{name}` must not end in `_total`: octopoll appends it"
        ));
    }
    Ok(())
}

/// Splits `host`, `host:port`, `[v6]:port`, `[v6]` or a bare IPv6 literal. No DNS.
pub(crate) fn parse_address(s: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| format!("address `{s}`: missing `]`"))?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("address `{s}`: expected `:port` after `]`"))?,
            ),
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("address `{s}`: `{host}` is not an IPv6 address"));
        }
        (host, port)
    } else {
        match s.matches(':').count() {
            0 => (s, None),
            1 => {
                let (h, p) = s.split_once(':').unwrap_or((s, ""));
                (h, Some(p))
            }
            // Several colons and no brackets: a bare IPv6 literal, default port.
            _ => {
                if s.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err(format!(
                        "address `{s}`: not a valid IPv6 address (write `[addr]:port` to give a port)"
                    ));
                }
                (s, None)
            }
        }
    };
    if host.is_empty() {
        return Err(format!("address `{s}`: empty host"));
    }
    if host.chars().any(char::is_whitespace) {
        return Err(format!("address `{s}`: host contains a space"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n >= 1 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(format!("address `{s}`: port must be 1 to 65535, got `{p}`")),
        },
    };
    Ok((host.to_string(), port))
}
