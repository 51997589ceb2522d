//! The effective config for `GET /config`: every device expanded, the notification
//! sections, secrets as `<secret>`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::modules::{render_name, value_type_name};
use super::scalars::fmt_duration;
use super::SecurityLevel;
use super::{Auth, AuthKind, AuthProtocol, Config, Module, ModuleKind, PrivProtocol};
use crate::table::{Flavor, Metric, Render};

#[derive(Serialize)]
struct ConfigView<'a> {
    files: Vec<String>,
    devices: Vec<DeviceView<'a>>,
    auths: BTreeMap<&'a str, AuthView<'a>>,
    modules: BTreeMap<&'a str, ModuleView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traps: Option<TrapsView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alertmanager: Option<AlertmanagerView<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    notifications: BTreeMap<String, NotificationView<'a>>,
}

#[derive(Serialize)]
struct TrapsView<'a> {
    listen: String,
    /// One `<secret>` per community.
    communities: Vec<&'static str>,
    users: Vec<&'a str>,
    accept_unknown_sources: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    engine_id: Option<String>,
    repoll_limit: String,
}

#[derive(Serialize)]
struct AlertmanagerView<'a> {
    url: &'a str,
    expiry: String,
    queue_size: usize,
}

#[derive(Serialize)]
struct NotificationView<'a> {
    name: &'a str,
    labels: BTreeMap<&'a str, String>,
    alert: bool,
    severity: &'static str,
}

#[derive(Serialize)]
struct DeviceView<'a> {
    name: &'a str,
    address: &'a str,
    host: &'a str,
    port: u16,
    interval: String,
    timeout: String,
    retries: u32,
    max_repetitions: u32,
    refresh: u32,
    max_rows: u32,
    auth: &'a str,
    modules: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    module_rules: Vec<String>,
    /// Modules the rules chose at the latest poll.
    #[serde(skip_serializing_if = "Option::is_none")]
    modules_by_rule: Option<Vec<String>>,
    labels: &'a BTreeMap<String, String>,
    origin: &'a str,
}

const REDACTED: &str = "<secret>";

#[derive(Serialize, Default)]
struct AuthView<'a> {
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    community: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    security_level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_password: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priv_protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priv_password: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_name: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ModuleView<'a> {
    BuiltIn(&'static str),
    Oids(Vec<OidView<'a>>),
    Table(TableView<'a>),
}

/// A module with filters, or one from a module file.
#[derive(Serialize)]
struct TableView<'a> {
    origin: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    walk: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    get: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    filters: Vec<String>,
    metrics: Vec<OidView<'a>>,
}

#[derive(Serialize)]
struct OidView<'a> {
    name: &'a str,
    oid: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    walk: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    indexes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lookups: Vec<String>,
}

fn oid_view(m: &Metric, flavor: Flavor) -> OidView<'_> {
    let own = flavor == Flavor::Octopoll;
    OidView {
        name: &m.name,
        oid: m.oid.to_string(),
        kind: value_type_name(m.kind),
        walk: own.then_some(m.walk),
        help: own.then_some(&*m.help),
        indexes: m
            .indexes
            .iter()
            .filter(|i| i.kind != Render::Dotted)
            .map(|i| format!("{}: {}", i.label, render_name(i.kind)))
            .collect(),
        lookups: m
            .lookups
            .iter()
            .map(|l| match &l.oid {
                Some(o) => format!("{} from {o}", l.label),
                None => format!("{} dropped", l.label),
            })
            .collect(),
    }
}

fn auth_view(a: &Auth) -> AuthView<'_> {
    // Secrets are never read here: the view only says that one is set.
    match &a.kind {
        AuthKind::V1 { .. } => AuthView {
            version: "1",
            community: Some(REDACTED),
            ..AuthView::default()
        },
        AuthKind::V2c { .. } => AuthView {
            version: "2c",
            community: Some(REDACTED),
            ..AuthView::default()
        },
        AuthKind::V3(u) => AuthView {
            version: "3",
            username: Some(&u.username),
            security_level: Some(match u.security_level {
                SecurityLevel::NoAuthNoPriv => "noAuthNoPriv",
                SecurityLevel::AuthNoPriv => "authNoPriv",
                SecurityLevel::AuthPriv => "authPriv",
            }),
            auth_protocol: u.auth.as_ref().map(|(p, _)| match p {
                AuthProtocol::Md5 => "MD5",
                AuthProtocol::Sha => "SHA",
                AuthProtocol::Sha224 => "SHA224",
                AuthProtocol::Sha256 => "SHA256",
                AuthProtocol::Sha384 => "SHA384",
                AuthProtocol::Sha512 => "SHA512",
            }),
            auth_password: u.auth.as_ref().map(|_| REDACTED),
            priv_protocol: u.privacy.as_ref().map(|(p, _)| match p {
                PrivProtocol::Des => "DES",
                PrivProtocol::Aes => "AES",
                PrivProtocol::Aes192 => "AES192",
                PrivProtocol::Aes256 => "AES256",
                PrivProtocol::Aes192C => "AES192C",
                PrivProtocol::Aes256C => "AES256C",
            }),
            priv_password: u.privacy.as_ref().map(|_| REDACTED),
            context_name: (!u.context_name.is_empty()).then_some(u.context_name.as_str()),
            community: None,
        },
    }
}

fn module_view(m: &Module) -> ModuleView<'_> {
    match &m.kind {
        ModuleKind::IfMib => {
            ModuleView::BuiltIn("built in: ifTable, ifXTable and the system group")
        }
        ModuleKind::Table(t) if t.flavor == Flavor::Octopoll && t.filters.is_empty() => {
            ModuleView::Oids(t.metrics.iter().map(|x| oid_view(x, t.flavor)).collect())
        }
        ModuleKind::Table(t) => {
            let file = t.flavor == Flavor::SnmpExporter;
            ModuleView::Table(TableView {
                origin: &m.origin,
                walk: if file {
                    t.walk.iter().map(|o| o.to_string()).collect()
                } else {
                    Vec::new()
                },
                get: if file {
                    t.get.iter().map(|o| o.to_string()).collect()
                } else {
                    Vec::new()
                },
                filters: t
                    .filters
                    .iter()
                    .map(|f| {
                        let targets: Vec<String> =
                            f.targets.iter().map(|o| o.to_string()).collect();
                        let values: Vec<&str> = f.values.iter().map(|r| r.as_str()).collect();
                        format!(
                            "{} matches {} for {}",
                            f.oid,
                            values.join(" | "),
                            targets.join(", ")
                        )
                    })
                    .collect(),
                metrics: t.metrics.iter().map(|x| oid_view(x, t.flavor)).collect(),
            })
        }
    }
}

/// The effective config as YAML, for the `/config` endpoint: every device fully expanded
/// (defaults applied), the auths and modules the devices use, and every secret shown as
/// `<secret>`.
pub fn render_redacted(config: &Config) -> String {
    render_redacted_with(config, &|_| None)
}

/// [`render_redacted`], showing for each device the modules its rules chose at the latest
/// poll (`chosen(device)`).
pub fn render_redacted_with(
    config: &Config,
    chosen: &dyn Fn(&str) -> Option<Vec<String>>,
) -> String {
    let mut view = ConfigView {
        files: config
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        devices: Vec::with_capacity(config.devices.len()),
        auths: BTreeMap::new(),
        modules: BTreeMap::new(),
        traps: config.traps.as_deref().map(|t| TrapsView {
            listen: t.listen.to_string(),
            communities: t.communities.iter().map(|_| REDACTED).collect(),
            users: t.users.iter().map(|a| a.name.as_str()).collect(),
            accept_unknown_sources: t.accept_unknown_sources,
            engine_id: t
                .engine_id
                .as_ref()
                .map(|id| id.iter().map(|b| format!("{b:02x}")).collect()),
            repoll_limit: fmt_duration(t.repoll_limit),
        }),
        alertmanager: config.alertmanager.as_deref().map(|a| AlertmanagerView {
            url: &a.url,
            expiry: fmt_duration(a.expiry),
            queue_size: a.queue_size,
        }),
        notifications: config
            .notifications
            .iter()
            .map(|n| {
                let view = NotificationView {
                    name: &n.name,
                    labels: n
                        .labels
                        .iter()
                        .map(|(l, o)| (l.as_str(), o.to_string()))
                        .collect(),
                    alert: n.alert,
                    severity: n.severity.as_str(),
                };
                (n.oid.to_string(), view)
            })
            .collect(),
    };
    // The listener's users are auths too: shown (redacted) with the devices' ones.
    for a in config.traps.iter().flat_map(|t| &t.users) {
        view.auths
            .entry(a.name.as_str())
            .or_insert_with(|| auth_view(a));
    }
    for d in &config.devices {
        view.auths
            .entry(d.auth.name.as_str())
            .or_insert_with(|| auth_view(&d.auth));
        let ruled = d.module_rules.iter().flat_map(|r| r.modules.iter());
        for m in d.modules.iter().chain(ruled) {
            view.modules
                .entry(m.name.as_str())
                .or_insert_with(|| module_view(m));
        }
        view.devices.push(DeviceView {
            name: &d.name,
            address: &d.address,
            host: &d.host,
            port: d.port,
            interval: fmt_duration(d.interval),
            timeout: fmt_duration(d.timeout),
            retries: d.retries,
            max_repetitions: d.max_repetitions,
            refresh: d.refresh,
            max_rows: d.max_rows,
            auth: &d.auth.name,
            modules: d.modules.iter().map(|m| m.name.as_str()).collect(),
            module_rules: d
                .module_rules
                .iter()
                .map(|r| {
                    let mut when = Vec::new();
                    if let Some(o) = &r.sys_object_id {
                        when.push(format!("sysObjectID under {o}"));
                    }
                    if let Some(re) = &r.sys_descr {
                        when.push(format!("sysDescr matches {}", re.as_str()));
                    }
                    let mods: Vec<&str> = r.modules.iter().map(|m| m.name.as_str()).collect();
                    format!("{}: {} ({})", when.join(" and "), mods.join(", "), r.origin)
                })
                .collect(),
            modules_by_rule: chosen(&d.name),
            labels: &d.labels,
            origin: &d.origin,
        });
    }
    match serde_json::to_value(&view) {
        Ok(v) => to_yaml(&v),
        Err(e) => format!("# cannot render config: {e}\n"),
    }
}

/// A JSON value as a YAML document (yaml-rust2's emitter quotes what needs quoting).
fn to_yaml(v: &serde_json::Value) -> String {
    fn conv(v: &serde_json::Value) -> yaml_rust2::Yaml {
        use yaml_rust2::Yaml;
        match v {
            serde_json::Value::Null => Yaml::Null,
            serde_json::Value::Bool(b) => Yaml::Boolean(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Yaml::Integer(i),
                None => Yaml::Real(n.to_string()),
            },
            serde_json::Value::String(s) => Yaml::String(s.clone()),
            serde_json::Value::Array(a) => Yaml::Array(a.iter().map(conv).collect()),
            serde_json::Value::Object(o) => Yaml::Hash(
                o.iter()
                    .map(|(k, v)| (Yaml::String(k.clone()), conv(v)))
                    .collect(),
            ),
        }
    }
    let mut out = String::new();
    let mut emitter = yaml_rust2::YamlEmitter::new(&mut out);
    if let Err(e) = emitter.dump(&conv(v)) {
        return format!("# cannot render config: {e}\n");
    }
    out.push('\n');
    out
}
