//! Raw serde types: the YAML as written, before validation.
//!
//! Every field is optional and every scalar that needs checking (durations, versions,
//! protocols) is kept as text, so that deserialisation only fails for unknown keys and
//! plainly wrong types; everything else is checked by the validators (`auths.rs`, `modules.rs`, `devices.rs`), where all errors are
//! collected instead of stopping at the first.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// Keys allowed at the top of a file.
pub const TOP_KEYS: &[&str] = &[
    "module_files",
    "defaults",
    "auths",
    "modules",
    "devices",
    "traps",
    "alertmanager",
    "notifications",
];

/// A scalar read as text whatever YAML typed it as (`version: 3`, `community: 12345`,
/// `rack: 12`), so that numbers and booleans where strings are expected are not errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_string(V)
    }
}

/// The `defaults` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub interval: Option<Text>,
    pub timeout: Option<Text>,
    pub retries: Option<i64>,
    pub max_repetitions: Option<i64>,
    pub refresh: Option<i64>,
    pub max_rows: Option<i64>,
    pub auth: Option<Text>,
    pub modules: Option<Vec<Text>>,
    pub module_rules: Option<Vec<RawModuleRule>>,
}

/// One of `module_rules`: modules added when the device says what it is.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModuleRule {
    pub sys_object_id: Option<Text>,
    pub sys_descr: Option<Text>,
    pub modules: Option<Vec<Text>>,
}

/// One entry of `auths`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    pub version: Option<Text>,
    pub community: Option<Text>,
    pub community_file: Option<Text>,
    pub username: Option<Text>,
    pub security_level: Option<Text>,
    pub auth_protocol: Option<Text>,
    pub auth_password: Option<Text>,
    pub auth_password_file: Option<Text>,
    pub priv_protocol: Option<Text>,
    pub priv_password: Option<Text>,
    pub priv_password_file: Option<Text>,
    pub context_name: Option<Text>,
}

/// One metric, in a module or a device's `oids` (octopoll's format).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOid {
    pub name: Option<Text>,
    pub oid: Option<Text>,
    #[serde(rename = "type")]
    pub kind: Option<Text>,
    pub walk: Option<bool>,
    pub help: Option<Text>,
    pub indexes: Option<Vec<RawIndex>>,
    pub lookups: Option<Vec<RawLookup>>,
    pub enum_values: Option<BTreeMap<i64, Text>>,
    pub scale: Option<f64>,
    pub offset: Option<f64>,
    pub regex_extracts: Option<BTreeMap<String, Vec<RawRegexExtract>>>,
    pub datetime_pattern: Option<Text>,
    pub display_hint: Option<Text>,
}

/// A module written as a mapping: its metrics and its dynamic filters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModuleMap {
    /// Decoded on its own (each entry reported at its line).
    pub oids: Option<serde::de::IgnoredAny>,
    pub filters: Option<Vec<RawFilter>>,
}

/// One index of a walked metric.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndex {
    pub labelname: Option<Text>,
    #[serde(rename = "type")]
    pub kind: Option<Text>,
    pub fixed_size: Option<i64>,
    pub implied: Option<bool>,
    pub enum_values: Option<BTreeMap<i64, Text>>,
}

/// One lookup (octopoll's format also takes `drop_source_indexes`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLookup {
    pub labels: Option<Vec<Text>>,
    pub labelname: Option<Text>,
    pub oid: Option<Text>,
    #[serde(rename = "type")]
    pub kind: Option<Text>,
    pub enum_values: Option<BTreeMap<i64, Text>>,
    pub display_hint: Option<Text>,
    pub drop_source_indexes: Option<bool>,
}

/// One regex extract candidate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegexExtract {
    pub value: Option<Text>,
    pub regex: Option<Text>,
}

/// One dynamic filter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilter {
    pub oid: Option<Text>,
    pub targets: Option<Vec<Text>>,
    pub values: Option<Vec<Text>>,
}

// === snmp_exporter's generated snmp.yml ===

/// A module of an snmp_exporter file (0.23 and later; the older format adds `version` and
/// `auth`, which octopoll reads and ignores: its own `auths` decide credentials).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExporterModule {
    pub walk: Option<Vec<Text>>,
    pub get: Option<Vec<Text>>,
    /// Decoded on its own (each entry reported at its line).
    pub metrics: Option<serde::de::IgnoredAny>,
    pub max_repetitions: Option<i64>,
    pub retries: Option<i64>,
    pub timeout: Option<Text>,
    pub use_unconnected_udp_socket: Option<bool>,
    pub allow_nonincreasing_oids: Option<bool>,
    pub filters: Option<Vec<RawFilter>>,
    /// Older format only.
    pub version: Option<i64>,
    /// Older format only.
    pub auth: Option<serde::de::IgnoredAny>,
}

/// One entry of `devices`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    pub name: Option<Text>,
    pub address: Option<Text>,
    pub auth: Option<Text>,
    pub interval: Option<Text>,
    pub timeout: Option<Text>,
    pub retries: Option<i64>,
    pub max_repetitions: Option<i64>,
    pub refresh: Option<i64>,
    pub max_rows: Option<i64>,
    pub modules: Option<Vec<Text>>,
    pub module_rules: Option<Vec<RawModuleRule>>,
    pub labels: Option<BTreeMap<String, Text>>,
    /// Decoded on its own from the device's node (each entry reported at its line).
    pub oids: Option<serde::de::IgnoredAny>,
}

/// The `traps` section: the notification listener (validated in `traps.rs`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraps {
    pub listen: Option<Text>,
    /// Decoded on its own from the node: each entry is a string or `{community_file: PATH}`.
    pub communities: Option<serde::de::IgnoredAny>,
    pub users: Option<Vec<Text>>,
    pub accept_unknown_sources: Option<bool>,
    pub engine_id: Option<Text>,
    pub repoll_limit: Option<Text>,
}

/// An entry of `traps.communities` in its mapping form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCommunityFile {
    pub community_file: Option<Text>,
}

/// The `alertmanager` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlertmanager {
    pub url: Option<Text>,
    pub expiry: Option<Text>,
    pub queue_size: Option<i64>,
}

/// One entry of `notifications` (keyed by OID).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotification {
    pub name: Option<Text>,
    /// Label name -> varbind OID (prefix) whose value the label takes.
    pub labels: Option<BTreeMap<String, Text>>,
    pub alert: Option<bool>,
    pub severity: Option<Text>,
}
