//! The validated configuration: what the poller, the metrics and the HTTP layer consume.
//!
//! Every value here has been checked; nothing downstream re-validates. Types derive
//! `PartialEq` so a reload can tell an unchanged device from a changed one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::snmp::Oid;

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
    /// Devices in the order they appear (files in name order when a directory).
    pub devices: Vec<Arc<Device>>,
    /// What `octopoll check` should point out that is not an error (e.g. a module file's
    /// auth that octopoll's own `auths` override).
    pub notes: Vec<String>,
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
    /// Credentials.
    pub auth: Arc<Auth>,
    /// What to collect, in the order given.
    pub modules: Vec<Arc<Module>>,
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
    /// The key under `modules`, or `if_mib` for the built-in one.
    pub name: String,
    /// What the module collects.
    pub kind: ModuleKind,
}

/// What a module collects.
#[derive(Debug, Clone, PartialEq)]
pub enum ModuleKind {
    /// Built in: ifTable + ifXTable and the system group.
    IfMib,
    /// User OIDs.
    Oids(Vec<OidSpec>),
}

/// One user OID: a scalar fetched with GET, or a column walked (`walk: true`).
#[derive(Debug, Clone, PartialEq)]
pub struct OidSpec {
    /// Metric name (validated: `[a-zA-Z_:][a-zA-Z0-9_:]*`, no `_total` for counters).
    pub name: String,
    /// The OID; for a scalar the full instance (`...4.0`), for a walk the column.
    pub oid: Oid,
    /// How the value is exposed.
    pub kind: OidKind,
    /// Walk the subtree (one series per row, with an `index` label) instead of a GET.
    pub walk: bool,
    /// Help text.
    pub help: String,
}

/// How a user OID's value is exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidKind {
    /// A gauge with the numeric value.
    Gauge,
    /// A counter (`_total` appended to the name).
    Counter,
    /// An info metric: value 1 with the string in a `value` label.
    Info,
}
