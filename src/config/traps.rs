//! The notification sections: `traps` (the listener), `alertmanager` (where alerts go) and
//! `notifications` (names and labels of vendor notifications), validated into
//! [`TrapsConfig`], [`AlertmanagerConfig`] and [`NotificationSpec`].
//!
//! `traps` and `alertmanager` may each be set by one file only (like `defaults`);
//! `notifications` merge by OID across files.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::raw::{RawAlertmanager, RawCommunityFile, RawNotification, RawTraps, Text};
use super::report::Report;
use super::scalars::{check_label_name, parse_duration};
use super::secrets::{read_secret, Secrets};
use super::yaml::{join_index, join_key, Node};
use super::{
    AlertmanagerConfig, Auth, AuthKind, Device, NotificationSpec, Secret, Severity, TrapsConfig,
};
use crate::snmp::Oid;

/// Re-polls after a notification: at most one per device per this long, by default.
pub(crate) const DEFAULT_REPOLL_LIMIT: Duration = Duration::from_secs(10);
/// How long a one-shot alert (coldStart, authenticationFailure, ...) stays active.
pub(crate) const DEFAULT_EXPIRY: Duration = Duration::from_secs(3600);
/// Alerts kept while Alertmanager is unreachable.
pub(crate) const DEFAULT_QUEUE_SIZE: usize = 1000;

/// The notifications octopoll names itself (snmpTraps, RFC 3418; linkDown/linkUp are
/// IF-MIB's, under the same arcs). Entries of `notifications` may not redefine them.
pub(crate) const STANDARD: &[(&str, &str)] = &[
    ("1.3.6.1.6.3.1.1.5.1", "coldStart"),
    ("1.3.6.1.6.3.1.1.5.2", "warmStart"),
    ("1.3.6.1.6.3.1.1.5.3", "linkDown"),
    ("1.3.6.1.6.3.1.1.5.4", "linkUp"),
    ("1.3.6.1.6.3.1.1.5.5", "authenticationFailure"),
    ("1.3.6.1.6.3.1.1.5.6", "egpNeighborLoss"),
];

/// Labels a notification's own labels may not take: octopoll sets them on its metrics and
/// alerts.
const RESERVED: &[&str] = &["trap", "alertname", "severity", "source"];

/// The three sections of one file, as written.
#[derive(Default)]
pub(crate) struct Sections {
    traps: Option<Option<RawTraps>>,
    /// `traps.communities`, decoded entry by entry (`None`: broken, reported).
    communities: Option<Vec<RawCommunity>>,
    alertmanager: Option<Option<RawAlertmanager>>,
    notifications: Vec<(String, Option<RawNotification>)>,
}

/// One entry of `traps.communities`: a string, or `{community_file: PATH}`.
enum RawCommunity {
    Text(Text),
    File(Text),
    Broken,
}

impl Sections {
    /// Decodes top-level `key` if it is one of this module's; false for any other key.
    pub fn parse(&mut self, rep: &mut Report, file: usize, key: &str, node: &Node) -> bool {
        match key {
            "traps" => {
                let raw: Option<RawTraps> = rep.decode(file, "traps", node);
                self.communities = node
                    .get("communities")
                    .filter(|_| raw.as_ref().is_some_and(|r| r.communities.is_some()))
                    .map(|n| decode_communities(rep, file, n));
                self.traps = Some(raw);
            }
            "alertmanager" => self.alertmanager = Some(rep.decode(file, "alertmanager", node)),
            "notifications" => {
                for (oid, entry) in rep.section(file, "notifications", node) {
                    let raw = rep.decode(file, &join_key("notifications", &oid), entry);
                    self.notifications.push((oid, raw));
                }
            }
            _ => return false,
        }
        true
    }
}

fn decode_communities(rep: &mut Report, file: usize, node: &Node) -> Vec<RawCommunity> {
    let path = "traps.communities";
    let Some(items) = rep.list(file, path, node, "communities") else {
        return vec![RawCommunity::Broken];
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let key = join_index(path, i);
            match &item.kind {
                super::yaml::Kind::Map(_) => {
                    match rep.decode::<RawCommunityFile>(file, &key, item) {
                        Some(RawCommunityFile {
                            community_file: Some(p),
                        }) => RawCommunity::File(p),
                        Some(_) => {
                            rep.at(
                                file,
                                &key,
                                "expected a community or `{community_file: PATH}`",
                            );
                            RawCommunity::Broken
                        }
                        None => RawCommunity::Broken,
                    }
                }
                _ => match super::yaml::from_node::<Text>(item, &key) {
                    Ok(t) => RawCommunity::Text(t),
                    Err(e) => {
                        rep.at_line(file, e.line, &e.path, e.message);
                        RawCommunity::Broken
                    }
                },
            }
        })
        .collect()
}

/// The sections of every file, merged: (file, section).
#[derive(Default)]
pub(crate) struct Merged {
    traps: Option<(usize, Option<RawTraps>, Vec<RawCommunity>)>,
    alertmanager: Option<(usize, Option<RawAlertmanager>)>,
    notifications: BTreeMap<String, (usize, Option<RawNotification>)>,
}

/// What the sections validate into.
#[derive(Default)]
pub(crate) struct Validated {
    pub traps: Option<Arc<TrapsConfig>>,
    pub alertmanager: Option<Arc<AlertmanagerConfig>>,
    pub notifications: Vec<NotificationSpec>,
}

impl Merged {
    /// Adds file `f`'s sections; a second `traps` or `alertmanager` is an error.
    pub fn add(&mut self, rep: &mut Report, f: usize, s: Sections) {
        if let Some(t) = s.traps {
            if let Some((f0, ..)) = &self.traps {
                let first = rep.place(*f0, "traps");
                rep.at(
                    f,
                    "traps",
                    format!("traps already set at {first}; only one file may set it"),
                );
            } else {
                self.traps = Some((f, t, s.communities.unwrap_or_default()));
            }
        }
        if let Some(a) = s.alertmanager {
            if let Some((f0, _)) = &self.alertmanager {
                let first = rep.place(*f0, "alertmanager");
                rep.at(
                    f,
                    "alertmanager",
                    format!("alertmanager already set at {first}; only one file may set it"),
                );
            } else {
                self.alertmanager = Some((f, a));
            }
        }
        for (oid, n) in s.notifications {
            let key = join_key("notifications", &oid);
            if let Some((f0, _)) = self.notifications.get(&oid) {
                let first = rep.place(*f0, &key);
                rep.at(
                    f,
                    &key,
                    format!("notification `{oid}` is already defined at {first}"),
                );
            } else {
                self.notifications.insert(oid, (f, n));
            }
        }
    }

    /// Validates the merged sections; `auths` resolve `traps.users`, `devices` are checked
    /// for shared addresses (a note, not an error).
    pub fn validate(
        self,
        rep: &mut Report,
        auths: &BTreeMap<String, Option<Arc<Auth>>>,
        secrets: Secrets<'_>,
        devices: &[Arc<Device>],
    ) -> Validated {
        let mut out = Validated::default();
        if let Some((f, Some(raw), communities)) = self.traps {
            out.traps = validate_traps(rep, f, &raw, &communities, auths, secrets).map(Arc::new);
            if out.traps.is_some() {
                note_shared_addresses(rep, devices);
            }
        }
        if let Some((f, Some(raw))) = self.alertmanager {
            out.alertmanager = validate_alertmanager(rep, f, &raw).map(Arc::new);
            if out.alertmanager.is_some() && out.traps.is_none() {
                rep.notes.push(
                    "alertmanager is set but traps is not: octopoll only sends alerts for \
                     notifications it receives"
                        .into(),
                );
            }
        }
        for (oid, (f, raw)) in &self.notifications {
            if let Some(raw) = raw {
                if let Some(n) = validate_notification(rep, *f, oid, raw) {
                    out.notifications.push(n);
                }
            }
        }
        out
    }
}

fn validate_traps(
    rep: &mut Report,
    f: usize,
    raw: &RawTraps,
    communities: &[RawCommunity],
    auths: &BTreeMap<String, Option<Arc<Auth>>>,
    secrets: Secrets<'_>,
) -> Option<TrapsConfig> {
    let before = rep.count();
    let listen = match &raw.listen {
        None => {
            rep.at(
                f,
                "traps",
                "missing required key `listen` (e.g. 0.0.0.0:162)",
            );
            None
        }
        Some(t) => match parse_listen(&t.0) {
            Ok(a) => Some(a),
            Err(e) => {
                rep.at(f, "traps.listen", e);
                None
            }
        },
    };

    let mut secrets_out = Vec::new();
    for (i, c) in communities.iter().enumerate() {
        let got = match c {
            RawCommunity::Broken => continue,
            RawCommunity::Text(t) => read_secret(
                rep,
                f,
                "traps",
                &format!("communities[{i}]"),
                Some(t),
                None,
                secrets,
            ),
            RawCommunity::File(p) => read_secret(
                rep,
                f,
                &join_index("traps.communities", i),
                "community",
                None,
                Some(p),
                secrets,
            ),
        };
        if let Ok(Some(s)) = got {
            if s.text.is_empty() && !s.unresolved {
                rep.at(f, &s.key, "community is empty");
            } else {
                secrets_out.push(Secret::new(s.text));
            }
        }
    }

    let mut users: Vec<Arc<Auth>> = Vec::new();
    let mut usernames: HashMap<String, String> = HashMap::new();
    for (i, name) in raw.users.iter().flatten().enumerate() {
        let key = join_index("traps.users", i);
        match auths.get(&name.0) {
            None => {
                let v3: Vec<&str> = auths
                    .iter()
                    .filter(|(_, a)| {
                        matches!(
                            a.as_deref(),
                            Some(Auth {
                                kind: AuthKind::V3(_),
                                ..
                            })
                        )
                    })
                    .map(|(n, _)| n.as_str())
                    .collect();
                let defined = if v3.is_empty() {
                    "no version 3 auth is defined".to_string()
                } else {
                    format!("version 3 auths: {}", v3.join(", "))
                };
                rep.at(f, &key, format!("unknown auth `{}`; {defined}", name.0));
            }
            Some(None) => {} // broken auth, already reported
            Some(Some(a)) => match &a.kind {
                AuthKind::V3(u) => {
                    if let Some(other) = usernames.get(&u.username) {
                        rep.at(
                            f,
                            &key,
                            format!(
                                "auth `{}` has username `{}`, as `{other}` listed before: one \
                                 listener knows each USM user once",
                                a.name, u.username
                            ),
                        );
                    } else {
                        usernames.insert(u.username.clone(), a.name.clone());
                        users.push(a.clone());
                    }
                }
                _ => rep.at(
                    f,
                    &key,
                    format!(
                        "auth `{}` is not SNMPv3: traps.users takes version 3 auths; \
                         v1/v2c communities go in traps.communities",
                        a.name
                    ),
                ),
            },
        }
    }
    if communities.is_empty() && raw.users.as_ref().is_none_or(Vec::is_empty) {
        rep.at(
            f,
            "traps",
            "neither `communities` nor `users` is given: no notification would be accepted",
        );
    }

    let engine_id = raw
        .engine_id
        .as_ref()
        .and_then(|t| match parse_engine_id(&t.0) {
            Ok(id) => Some(id),
            Err(e) => {
                rep.at(f, "traps.engine_id", e);
                None
            }
        });

    let repoll_limit = duration_at_least_1s(
        rep,
        f,
        "traps.repoll_limit",
        raw.repoll_limit.as_ref(),
        DEFAULT_REPOLL_LIMIT,
    );

    if rep.count() > before {
        return None;
    }
    Some(TrapsConfig {
        listen: listen?,
        communities: secrets_out,
        users,
        accept_unknown_sources: raw.accept_unknown_sources.unwrap_or(false),
        engine_id,
        repoll_limit: repoll_limit?,
        origin: (rep.files[f].path.clone(), rep.line(f, "traps.listen")),
    })
}

/// An optional duration of at least 1s at `key`; `default` when absent, `None` when bad
/// (reported).
fn duration_at_least_1s(
    rep: &mut Report,
    f: usize,
    key: &str,
    text: Option<&Text>,
    default: Duration,
) -> Option<Duration> {
    let Some(t) = text else {
        return Some(default);
    };
    let name = key.rsplit('.').next().unwrap_or(key);
    match parse_duration(&t.0) {
        Ok(d) if d >= Duration::from_secs(1) => Some(d),
        Ok(_) => {
            rep.at(f, key, format!("{name} must be at least 1s, got {}", t.0));
            None
        }
        Err(e) => {
            rep.at(f, key, e);
            None
        }
    }
}

/// `IP:PORT`, `[IPv6]:PORT` or `:PORT` (every IPv4 interface). No host names: a listener
/// binds an address of this machine.
pub(crate) fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Some(port) = s.strip_prefix(':') {
        return parse_port(s, port).map(|p| SocketAddr::from(([0, 0, 0, 0], p)));
    }
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("listen `{s}`: expected IP:PORT, [IPv6]:PORT or :PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().map_err(|_| {
        format!("listen `{s}`: `{host}` is not an IP address (a listener binds an address of this host, e.g. 0.0.0.0:162)")
    })?;
    Ok(SocketAddr::new(ip, parse_port(s, port)?))
}

fn parse_port(s: &str, port: &str) -> Result<u16, String> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "listen `{s}`: port must be 0 to 65535, got `{port}`"
        ));
    }
    port.parse()
        .map_err(|_| format!("listen `{s}`: port must be 0 to 65535, got `{port}`"))
}

/// An SNMP engine ID in hex (`0x` prefix and `:` separators allowed), 5 to 32 octets and
/// not all zeros or all 0xff (RFC 3411).
pub(crate) fn parse_engine_id(s: &str) -> Result<Vec<u8>, String> {
    let hex: String = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
        .chars()
        .filter(|c| *c != ':')
        .collect();
    let bad = || format!("engine_id `{s}`: expected hex digits, e.g. 0x80001f8880c0ffee0001");
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if !(5..=32).contains(&bytes.len()) {
        return Err(format!(
            "engine_id `{s}` has {} octets; an engine ID has 5 to 32",
            bytes.len()
        ));
    }
    if bytes.iter().all(|b| *b == 0) || bytes.iter().all(|b| *b == 0xff) {
        return Err(format!(
            "engine_id `{s}`: all-zero and all-0xff IDs are reserved"
        ));
    }
    Ok(bytes)
}

fn validate_alertmanager(
    rep: &mut Report,
    f: usize,
    raw: &RawAlertmanager,
) -> Option<AlertmanagerConfig> {
    let before = rep.count();
    let url = match &raw.url {
        None => {
            rep.at(
                f,
                "alertmanager",
                "missing required key `url` (e.g. http://alertmanager:9093)",
            );
            None
        }
        Some(t) => match check_url(&t.0) {
            Ok(u) => Some(u),
            Err(e) => {
                rep.at(f, "alertmanager.url", e);
                None
            }
        },
    };
    let expiry = duration_at_least_1s(
        rep,
        f,
        "alertmanager.expiry",
        raw.expiry.as_ref(),
        DEFAULT_EXPIRY,
    );
    let queue_size = match raw.queue_size {
        None => Some(DEFAULT_QUEUE_SIZE),
        Some(n) if (1..=1_000_000).contains(&n) => Some(n as usize),
        Some(n) => {
            rep.at(
                f,
                "alertmanager.queue_size",
                format!("queue_size must be from 1 to 1000000, got {n}"),
            );
            None
        }
    };
    if rep.count() > before {
        return None;
    }
    Some(AlertmanagerConfig {
        url: url?,
        expiry: expiry?,
        queue_size: queue_size?,
    })
}

/// `http://host[:port][/path]`, without credentials, query or fragment; the trailing `/`
/// is dropped so `{url}/api/v2/alerts` is well formed.
pub(crate) fn check_url(s: &str) -> Result<String, String> {
    let expected = || format!("url `{s}`: expected http://HOST[:PORT][/PATH]");
    let uri: hyper::Uri = s.parse().map_err(|_| expected())?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(format!(
                "url `{s}`: https is not supported; reach Alertmanager over http (a local \
                 sidecar or proxy can add TLS)"
            ))
        }
        _ => return Err(expected()),
    }
    let Some(authority) = uri.authority() else {
        return Err(expected());
    };
    if authority.as_str().contains('@') {
        return Err("url: credentials in the URL are not supported".into());
    }
    if uri.query().is_some() || s.contains('#') {
        return Err(format!(
            "url `{s}`: no query or fragment, only http://HOST[:PORT][/PATH]"
        ));
    }
    if authority.host().is_empty() {
        return Err(format!("url `{s}`: empty host"));
    }
    if uri.port_u16() == Some(0) {
        return Err(format!("url `{s}`: port must be 1 to 65535"));
    }
    Ok(s.trim_end_matches('/').to_string())
}

fn validate_notification(
    rep: &mut Report,
    f: usize,
    oid_text: &str,
    raw: &RawNotification,
) -> Option<NotificationSpec> {
    let base = join_key("notifications", oid_text);
    let before = rep.count();
    let oid = match oid_text.parse::<Oid>() {
        Ok(o) => {
            let canon = o.to_string();
            if let Some((_, std_name)) = STANDARD.iter().find(|(s, _)| *s == canon) {
                rep.at(
                    f,
                    &base,
                    format!("`{oid_text}` is the standard notification `{std_name}`: octopoll names and handles it itself"),
                );
            }
            Some(o)
        }
        Err(e) => {
            rep.at(f, &base, format!("invalid OID `{oid_text}`: {e}"));
            None
        }
    };
    let name = match &raw.name {
        None => {
            rep.at(f, &base, "missing required key `name`");
            None
        }
        Some(n) if !is_notification_name(&n.0) => {
            rep.at(
                f,
                &join_key(&base, "name"),
                format!(
                    "invalid notification name `{}`: use letters, digits, `_`, `.`, `:` and `-`",
                    n.0
                ),
            );
            None
        }
        Some(n) if STANDARD.iter().any(|(_, s)| *s == n.0) => {
            rep.at(
                f,
                &join_key(&base, "name"),
                format!(
                    "`{}` is the name of a standard notification; choose another",
                    n.0
                ),
            );
            None
        }
        Some(n) => Some(n.0.clone()),
    };
    let mut labels = Vec::new();
    for (label, varbind) in raw.labels.iter().flatten() {
        let key = join_key(&join_key(&base, "labels"), label);
        if let Err(e) = check_label_name(label) {
            rep.at(f, &key, e);
            continue;
        }
        if RESERVED.contains(&label.as_str()) {
            rep.at(
                f,
                &key,
                format!(
                    "label `{label}` is set by octopoll itself; reserved: {}",
                    RESERVED.join(", ")
                ),
            );
            continue;
        }
        match varbind.0.parse::<Oid>() {
            Ok(o) => labels.push((label.clone(), o)),
            Err(e) => rep.at(f, &key, format!("invalid varbind OID `{}`: {e}", varbind.0)),
        }
    }
    let severity = match raw.severity.as_ref().map(|t| t.0.as_str()) {
        None | Some("info") => Some(Severity::Info),
        Some("warning") => Some(Severity::Warning),
        Some("critical") => Some(Severity::Critical),
        Some(other) => {
            rep.at(
                f,
                &join_key(&base, "severity"),
                format!("unknown severity `{other}`, expected critical, warning or info"),
            );
            None
        }
    };
    if rep.count() > before {
        return None;
    }
    Some(NotificationSpec {
        oid: oid?,
        name: name?,
        labels,
        alert: raw.alert.unwrap_or(true),
        severity: severity?,
    })
}

fn is_notification_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
}

/// Devices sharing an IP address: notifications from it go to the first in config order
/// (files in name order, devices in order). Said by `octopoll check`, not an error: one
/// agent can be polled as several devices (ports, contexts).
fn note_shared_addresses(rep: &mut Report, devices: &[Arc<Device>]) {
    let mut by_ip: BTreeMap<IpAddr, Vec<&str>> = BTreeMap::new();
    for d in devices {
        if let Ok(ip) = d.host.parse::<IpAddr>() {
            by_ip.entry(ip).or_default().push(&d.name);
        }
    }
    for (ip, names) in by_ip.into_iter().filter(|(_, n)| n.len() > 1) {
        rep.notes.push(format!(
            "traps: devices {} share address {ip}; its notifications are attributed to {} (the first in config order)",
            names.join(", "),
            names[0]
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::build::build;
    use super::super::secrets::Secrets;
    use super::*;

    const AUTHS: &str = "auths:
  v2: {version: 2c, community: public}
  v3a: {version: 3, username: trapper, security_level: authNoPriv, auth_protocol: SHA, auth_password: authpass123}
  v3b: {version: 3, username: trapper, security_level: authNoPriv, auth_protocol: MD5, auth_password: otherpass123}
";

    fn load(files: &[(&str, &str)]) -> Result<super::super::Config, super::super::ConfigErrors> {
        let env = |name: &str| (name == "TRAP_COMMUNITY").then(|| "s3cret".to_string());
        build(
            files
                .iter()
                .map(|(n, t)| (PathBuf::from(n), t.to_string()))
                .collect(),
            Secrets {
                env: &env,
                resolve: true,
            },
            Vec::new(),
        )
    }

    #[test]
    fn bad_sections_report_file_line_key() {
        // (text after AUTHS, which is 4 lines; expected "file:line: key: message" fragment)
        let cases: &[(&str, &str)] = &[
            ("traps: {communities: [public]}\n", "t.yml:5: traps: missing required key `listen`"),
            ("traps:\n  listen: switch1:162\n  communities: [public]\n", "t.yml:6: traps.listen: listen `switch1:162`: `switch1` is not an IP address"),
            ("traps:\n  listen: 0.0.0.0:99999\n  communities: [public]\n", "t.yml:6: traps.listen: listen `0.0.0.0:99999`: port must be 0 to 65535"),
            ("traps:\n  listen: :1162\n  comunities: [public]\n", "t.yml:7: traps.comunities: unknown field `comunities`"),
            ("traps:\n  listen: :1162\n  users: [v3c]\n", "t.yml:7: traps.users[0]: unknown auth `v3c`; version 3 auths: v3a, v3b"),
            ("traps:\n  listen: :1162\n  users: [v2]\n", "t.yml:7: traps.users[0]: auth `v2` is not SNMPv3"),
            ("traps:\n  listen: :1162\n  users: [v3a, v3b]\n", "t.yml:7: traps.users[1]: auth `v3b` has username `trapper`, as `v3a`"),
            ("traps:\n  listen: :1162\n", "t.yml:5: traps: neither `communities` nor `users` is given"),
            ("traps:\n  listen: :1162\n  communities:\n    - public\n    - ${NOPE}\n", "t.yml:9: traps.communities[1]: environment variable `NOPE` is not set"),
            ("traps:\n  listen: :1162\n  communities:\n    - community_file: /nonexistent/c\n", "t.yml:8: traps.communities[0].community_file: cannot read /nonexistent/c"),
            ("traps:\n  listen: :1162\n  communities:\n    - {file: x}\n", "t.yml:8: traps.communities[0].file: unknown field `file`"),
            ("traps:\n  listen: :1162\n  communities: ['']\n", "t.yml:7: traps.communities[0]: community is empty"),
            ("traps:\n  listen: :1162\n  communities: [public]\n  engine_id: 0x8000zz\n", "t.yml:8: traps.engine_id: engine_id `0x8000zz`: expected hex digits"),
            ("traps:\n  listen: :1162\n  communities: [public]\n  engine_id: '0x80001f88'\n", "t.yml:8: traps.engine_id: engine_id `0x80001f88` has 4 octets"),
            ("traps:\n  listen: :1162\n  communities: [public]\n  repoll_limit: 100ms\n", "t.yml:8: traps.repoll_limit: repoll_limit must be at least 1s"),
            ("traps:\n  listen: :1162\n  communities: [public]\n  accept_unknown_sources: maybe\n", "t.yml:8: traps.accept_unknown_sources: "),
            ("alertmanager: {url: 'https://am:9093'}\n", "t.yml:5: alertmanager.url: url `https://am:9093`: https is not supported"),
            ("alertmanager: {url: 'http://u:p@am:9093'}\n", "t.yml:5: alertmanager.url: url: credentials in the URL are not supported"),
            ("alertmanager: {url: 'am:9093'}\n", "t.yml:5: alertmanager.url: url `am:9093`: expected http://HOST[:PORT][/PATH]"),
            ("alertmanager: {expiry: 1h}\n", "t.yml:5: alertmanager: missing required key `url`"),
            ("alertmanager:\n  url: http://am:9093\n  expiry: soon\n", "t.yml:7: alertmanager.expiry: invalid duration `soon`"),
            ("alertmanager:\n  url: http://am:9093\n  queue_size: 0\n", "t.yml:7: alertmanager.queue_size: queue_size must be from 1 to 1000000, got 0"),
            ("notifications:\n  1.3.6.x: {name: a}\n", "t.yml:6: notifications.1.3.6.x: invalid OID `1.3.6.x`"),
            ("notifications:\n  1.3.6.1.6.3.1.1.5.3: {name: myLinkDown}\n", "t.yml:6: notifications.1.3.6.1.6.3.1.1.5.3: `1.3.6.1.6.3.1.1.5.3` is the standard notification `linkDown`"),
            ("notifications:\n  1.3.6.1.4.1.9.9.41.2.0.1: {labels: {}}\n", "t.yml:6: notifications.1.3.6.1.4.1.9.9.41.2.0.1: missing required key `name`"),
            ("notifications:\n  1.3.6.1.4.1.9.9.41.2.0.1: {name: 'a b'}\n", "t.yml:6: notifications.1.3.6.1.4.1.9.9.41.2.0.1.name: invalid notification name `a b`"),
            ("notifications:\n  1.3.6.1.4.1.9.9.41.2.0.1: {name: coldStart}\n", "`coldStart` is the name of a standard notification"),
            ("notifications:\n  1.3.6.1.4.1.9.9.41.2.0.1:\n    name: syslog\n    labels:\n      trap: 1.3.6.1.4.1.9.9.41.1.2.3.1.2\n", "t.yml:9: notifications.1.3.6.1.4.1.9.9.41.2.0.1.labels.trap: label `trap` is set by octopoll itself"),
            ("notifications:\n  1.3.6.1.4.1.9.9.41.2.0.1:\n    name: syslog\n    labels:\n      ifIndex: 1.3.6.1.2.1.2.2.1.1\n", "t.yml:9: notifications.1.3.6.1.4.1.9.9.41.2.0.1.labels.ifIndex: label `ifIndex` is set by octopoll itself"),
            ("notifications:\n  1.3.6.1.4.1.9.9.41.2.0.1:\n    name: syslog\n    labels:\n      facility: 1.3.6.x\n", "t.yml:9: notifications.1.3.6.1.4.1.9.9.41.2.0.1.labels.facility: invalid varbind OID `1.3.6.x`"),
            ("notifications:\n  1.3.6.1.4.1.9.9.41.2.0.1: {name: syslog, severity: page}\n", "t.yml:6: notifications.1.3.6.1.4.1.9.9.41.2.0.1.severity: unknown severity `page`"),
        ];
        for (text, want) in cases {
            let full = format!("{AUTHS}{text}");
            let errs = match load(&[("t.yml", &full)]) {
                Ok(_) => panic!("no error for:\n{text}"),
                Err(e) => e.0.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            };
            assert_eq!(errs.len(), 1, "{text}: {errs:#?}");
            assert!(
                errs[0].contains(want),
                "{text}:\n got  {}\n want {want}",
                errs[0]
            );
        }
    }

    #[test]
    fn sections_are_set_once_and_notifications_merge() {
        let a = "traps: {listen: ':1162', communities: [public]}\nalertmanager: {url: 'http://am:9093'}\nnotifications:\n  1.3.6.1.4.1.1.0.1: {name: one}\n";
        let b = "traps: {listen: ':1163', communities: [public]}\nalertmanager: {url: 'http://am:9094'}\nnotifications:\n  1.3.6.1.4.1.1.0.1: {name: uno}\n  1.3.6.1.4.1.1.0.2: {name: two}\n";
        let errs: Vec<String> = load(&[("a.yml", a), ("b.yml", b)])
            .unwrap_err()
            .0
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(errs[0].starts_with("b.yml:1: traps: traps already set at a.yml:1"));
        assert!(errs[1].starts_with("b.yml:2: alertmanager: alertmanager already set at a.yml:2"));
        assert!(errs[2].starts_with("b.yml:4: notifications.1.3.6.1.4.1.1.0.1: notification `1.3.6.1.4.1.1.0.1` is already defined at a.yml:4"));

        let b =
            "notifications:\n  1.3.6.1.4.1.1.0.2: {name: two, alert: false, severity: warning}\n";
        let c = load(&[("a.yml", a), ("b.yml", b)]).unwrap();
        let names: Vec<(&str, bool, Severity)> = c
            .notifications
            .iter()
            .map(|n| (n.name.as_str(), n.alert, n.severity))
            .collect();
        assert_eq!(
            names,
            [
                ("one", true, Severity::Info),
                ("two", false, Severity::Warning)
            ]
        );
    }

    #[test]
    fn a_full_listener_validates() {
        let text = format!(
            "{AUTHS}traps:
  listen: '[::1]:1162'
  communities: [public, '${{TRAP_COMMUNITY}}']
  users: [v3a]
  accept_unknown_sources: true
  engine_id: '0x80:00:1f:88:80:01:02:03'
  repoll_limit: 30s
alertmanager: {{url: 'http://am:9093/prefix/', expiry: 2h, queue_size: 50}}
notifications:
  1.3.6.1.4.1.9.9.41.2.0.1:
    name: clogMessageGenerated
    labels: {{facility: 1.3.6.1.4.1.9.9.41.1.2.3.1.2, text: 1.3.6.1.4.1.9.9.41.1.2.3.1.5}}
devices:
  - {{name: a, address: 10.0.0.1, auth: v2}}
  - {{name: b, address: '10.0.0.1:1161', auth: v2}}
"
        );
        let c = load(&[("t.yml", &text)]).unwrap();
        let t = c.traps.as_deref().unwrap();
        assert_eq!(t.listen, "[::1]:1162".parse().unwrap());
        let communities: Vec<&str> = t.communities.iter().map(Secret::expose).collect();
        assert_eq!(communities, ["public", "s3cret"]);
        assert_eq!(t.users[0].name, "v3a");
        assert!(t.accept_unknown_sources);
        assert_eq!(
            t.engine_id.as_deref(),
            Some(&[0x80, 0, 0x1f, 0x88, 0x80, 1, 2, 3][..])
        );
        assert_eq!(t.repoll_limit, Duration::from_secs(30));
        let am = c.alertmanager.as_deref().unwrap();
        assert_eq!(
            (am.url.as_str(), am.expiry, am.queue_size),
            ("http://am:9093/prefix", Duration::from_secs(7200), 50)
        );
        assert_eq!(c.notifications[0].labels[0].0, "facility");
        assert_eq!(
            c.notifications[0].labels[1].1.to_string(),
            "1.3.6.1.4.1.9.9.41.1.2.3.1.5"
        );
        assert!(
            c.notes
                .iter()
                .any(|n| n.contains("devices a, b share address 10.0.0.1")
                    && n.contains("attributed to a")),
            "{:?}",
            c.notes
        );

        let shown = super::super::render_redacted(&c);
        assert!(
            !shown.contains("s3cret") && !shown.contains("authpass123"),
            "{shown}"
        );
        assert!(shown.contains("listen: \"[::1]:1162\""), "{shown}");
        assert!(shown.contains("clogMessageGenerated"), "{shown}");
        assert!(
            shown.contains("v3a:"),
            "the listener's user is listed with the auths:\n{shown}"
        );
    }

    #[test]
    fn listen_addresses() {
        for (text, want) in [
            ("0.0.0.0:162", Some("0.0.0.0:162")),
            (":162", Some("0.0.0.0:162")),
            ("[::]:1162", Some("[::]:1162")),
            ("127.0.0.1:0", Some("127.0.0.1:0")),
            ("::1:162", None),
            ("localhost:162", None),
            ("127.0.0.1", None),
            ("127.0.0.1:", None),
            (":+1", None),
        ] {
            let got = parse_listen(text).ok().map(|a| a.to_string());
            assert_eq!(got.as_deref(), want, "{text}");
        }
    }
}
