//! The validated configuration: what the poller, the metrics and the HTTP layer consume.
//!
//! Every value here has been checked; nothing downstream re-validates. Types derive
//! `PartialEq` so a reload can tell an unchanged device from a changed one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use crate::snmp::Oid;
use crate::table::TableModule;

/// A secret string (community, password). Never printed: `Debug` and `Display` show `<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it goes on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// The whole validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The files it was read from, in merge order.
    pub files: Vec<PathBuf>,
    /// The `module_files` it read (watched for changes like the config itself).
    pub module_files: Vec<PathBuf>,
    /// Devices in the order they appear (files in name order when a directory).
    pub devices: Vec<Arc<Device>>,
    /// What `octopoll check` should point out that is not an error (e.g. a module file's
    /// auth that octopoll's own `auths` override).
    pub notes: Vec<String>,
    /// The notification listener (`traps`); `None`: no listener.
    pub traps: Option<Arc<TrapsConfig>>,
    /// Where alerts from notifications go; `None`: nowhere.
    pub alertmanager: Option<Arc<AlertmanagerConfig>>,
    /// Names and labels of notifications beyond the standard ones.
    pub notifications: Vec<NotificationSpec>,
}

/// One device to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Unique name; the `device` label.
    pub name: String,
    /// Host name or IP literal, without brackets.
    pub host: String,
    /// UDP port (161 unless given).
    pub port: u16,
    /// The address as written in the config (shown in `snmp_device_info`).
    pub address: String,
    /// Time between poll starts.
    pub interval: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retransmissions after the first send.
    pub retries: u32,
    /// GETBULK max-repetitions to start with.
    pub max_repetitions: u32,
    /// Label and inventory columns (interface names, lookups) are walked every
    /// `refresh`-th poll, and at once when they may be stale; 1 walks them every poll.
    pub refresh: u32,
    /// Most rows one walked column may return before the walk is called endless.
    pub max_rows: u32,
    /// Credentials.
    pub auth: Arc<Auth>,
    /// What to collect, in the order given.
    pub modules: Vec<Arc<Module>>,
    /// Modules added by what the device says it is; evaluated at every poll.
    pub module_rules: Vec<Arc<ModuleRule>>,
    /// Extra labels for every series of this device (names validated, not reserved).
    pub labels: BTreeMap<String, String>,
    /// Source location of this device's entry: `file:line`.
    pub origin: String,
}

/// SNMP credentials, named in the config's `auths` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth {
    /// The key under `auths`.
    pub name: String,
    /// The protocol-specific part.
    pub kind: AuthKind,
}

/// Protocol version and credentials.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthKind {
    /// SNMPv1 with a community.
    V1 {
        /// Community string.
        community: Secret,
    },
    /// SNMPv2c with a community.
    V2c {
        /// Community string.
        community: Secret,
    },
    /// SNMPv3 USM.
    V3(UsmAuth),
}

/// SNMPv3 USM parameters. Passwords present exactly as the security level needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct UsmAuth {
    /// USM user name.
    pub username: String,
    /// noAuthNoPriv, authNoPriv or authPriv.
    pub security_level: SecurityLevel,
    /// Authentication protocol and password (authNoPriv and authPriv).
    pub auth: Option<(AuthProtocol, Secret)>,
    /// Privacy protocol and password (authPriv).
    pub privacy: Option<(PrivProtocol, Secret)>,
    /// Context name (empty by default).
    pub context_name: String,
}

/// USM security level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityLevel {
    /// No authentication, no privacy.
    NoAuthNoPriv,
    /// Authentication, no privacy.
    AuthNoPriv,
    /// Authentication and privacy.
    AuthPriv,
}

/// USM authentication protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProtocol {
    /// HMAC-MD5-96.
    Md5,
    /// HMAC-SHA-96.
    Sha,
    /// HMAC-SHA-224.
    Sha224,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-384.
    Sha384,
    /// HMAC-SHA-512.
    Sha512,
}

/// USM privacy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivProtocol {
    /// CBC-DES.
    Des,
    /// CFB-AES-128.
    Aes,
    /// CFB-AES-192 (Blumenthal key extension).
    Aes192,
    /// CFB-AES-256 (Blumenthal key extension).
    Aes256,
    /// CFB-AES-192 with the Reeder ("Cisco") key extension: `AES192C`.
    Aes192C,
    /// CFB-AES-256 with the Reeder ("Cisco") key extension: `AES256C`.
    Aes256C,
}

/// A named set of things to collect.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    /// The name devices use: the key under `modules`, `if_mib`, `device:<name>` for a
    /// device's own `oids`, or `<file stem>:<module>` for a module from a module file.
    pub name: String,
    /// What the module collects.
    pub kind: ModuleKind,
    /// Where it is defined: `file:line`, or `built in`.
    pub origin: String,
}

/// What a module collects.
#[derive(Debug, Clone, PartialEq)]
pub enum ModuleKind {
    /// Built in: ifTable + ifXTable and the system group, decoded into typed interfaces
    /// (32-bit fallback, events, the device page). Its columns are
    /// [`crate::table::builtin::if_mib`], planned and fetched like every table module.
    IfMib,
    /// A table module (octopoll's own YAML or an snmp_exporter module file).
    Table(Arc<TableModule>),
}

/// Modules added to a device by what it says it is (sysObjectID and sysDescr).
#[derive(Debug, Clone)]
pub struct ModuleRule {
    /// sysObjectID must lie under this OID (arc by arc: `1.3.6.1.4.1.9` takes
    /// `1.3.6.1.4.1.9.1.516`, not `1.3.6.1.4.1.99`).
    pub sys_object_id: Option<Oid>,
    /// sysDescr must match (unanchored).
    pub sys_descr: Option<Regex>,
    /// The modules added, in order.
    pub modules: Vec<Arc<Module>>,
    /// `file:line` of the rule.
    pub origin: String,
}

impl PartialEq for ModuleRule {
    fn eq(&self, o: &Self) -> bool {
        self.sys_object_id == o.sys_object_id
            && self.sys_descr.as_ref().map(Regex::as_str) == o.sys_descr.as_ref().map(Regex::as_str)
            && self.modules == o.modules
            && self.origin == o.origin
    }
}

impl ModuleRule {
    /// True when a device with this identity gets the rule's modules.
    pub fn matches(&self, sys_object_id: Option<&Oid>, sys_descr: &str) -> bool {
        let oid_ok = match (&self.sys_object_id, sys_object_id) {
            (None, _) => true,
            (Some(prefix), Some(oid)) => oid.starts_with(prefix),
            (Some(_), None) => false,
        };
        oid_ok
            && self
                .sys_descr
                .as_ref()
                .is_none_or(|r| r.is_match(sys_descr))
    }
}

/// The notification listener (`traps`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrapsConfig {
    /// Address to bind (UDP).
    pub listen: std::net::SocketAddr,
    /// v1/v2c communities accepted (none: v1/v2c notifications are dropped).
    pub communities: Vec<Secret>,
    /// SNMPv3 users accepted, each at its auth's security level or above.
    pub users: Vec<Arc<Auth>>,
    /// Accept notifications from addresses of no configured device, under their address.
    pub accept_unknown_sources: bool,
    /// This receiver's SNMPv3 engine ID (informs); `None`: a new random one per start.
    pub engine_id: Option<Vec<u8>>,
    /// At most one re-poll of a device per this long after link and restart notifications.
    pub repoll_limit: Duration,
    /// Where `traps.listen` is written (file, line), for errors found when binding.
    pub origin: (PathBuf, Option<usize>),
}

/// Alertmanager, for alerts from notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertmanagerConfig {
    /// Base URL (`http://host:port`, optional path prefix, no trailing `/`).
    pub url: String,
    /// How long a one-shot alert (coldStart, authenticationFailure, ...) stays active.
    pub expiry: Duration,
    /// Alerts kept while Alertmanager is unreachable; beyond, the oldest are dropped.
    pub queue_size: usize,
}

/// A notification named by the config (`notifications`).
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationSpec {
    /// snmpTrapOID (for SNMPv1 traps, the RFC 3584 form `enterprise.0.specific`).
    pub oid: Oid,
    /// The `trap` label and the name in logs.
    pub name: String,
    /// Label name and the varbind OID (prefix) whose value it takes.
    pub labels: Vec<(String, Oid)>,
    /// Send it to Alertmanager (as a one-shot alert).
    pub alert: bool,
    /// The alert's `severity` label.
    pub severity: Severity,
}

/// An alert's `severity` label (as `prometheus/alertmanager.yml` routes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Pages.
    Critical,
    /// For the team.
    Warning,
    /// For the record.
    Info,
}

impl Severity {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}
