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
pub const TOP_KEYS: &[&str] = &["defaults", "auths", "modules", "devices"];

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
    pub auth: Option<Text>,
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

/// One OID spec, in a module or a device's `oids`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOid {
    pub name: Option<Text>,
    pub oid: Option<Text>,
    #[serde(rename = "type")]
    pub kind: Option<Text>,
    pub walk: Option<bool>,
    pub help: Option<Text>,
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
    pub modules: Option<Vec<Text>>,
    pub labels: Option<BTreeMap<String, Text>>,
    /// Decoded on its own from the device's node (each entry reported at its line).
    pub oids: Option<serde::de::IgnoredAny>,
}
