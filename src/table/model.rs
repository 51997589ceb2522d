//! The module model: what a table module asks for and how each varbind becomes a sample.
//! The config produces it from octopoll's own YAML and from snmp_exporter's `snmp.yml`; the
//! engine reads it. The semantics are snmp_exporter's generated modules' (its
//! `collector.go`), so one engine serves both.

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;

use crate::snmp::Oid;

/// Where a module comes from, which decides the few places its series differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// octopoll's own YAML: counters are OpenMetrics counters (`NAME_total`), a walked
    /// metric without `indexes` gets an `index` label (the dotted suffix), Counter64 values
    /// are exact, and a gauge also takes a number written as a string.
    Octopoll,
    /// An snmp_exporter module file: series exactly as snmp_exporter's, so dashboards and
    /// rules written for it keep working. Counters are exposed under the MIB name
    /// (OpenMetrics type `unknown`, so Prometheus stores `ifHCInOctets`, not
    /// `ifHCInOctets_total`), and Counter64 values wrap at 2^53 as snmp_exporter's default
    /// `--snmp.wrap-large-counters` does.
    SnmpExporter,
}

/// A module of metrics over SNMP tables and scalars.
#[derive(Debug, Clone)]
pub struct TableModule {
    /// Naming and value rules.
    pub flavor: Flavor,
    /// snmp_exporter's `walk`: subtrees whose varbinds the metrics may use. Empty for
    /// octopoll's own modules, whose metrics say what to fetch (`walk: true` or not).
    pub walk: Vec<Oid>,
    /// snmp_exporter's `get`: instances to fetch with GET.
    pub get: Vec<Oid>,
    /// The metrics.
    pub metrics: Vec<Arc<Metric>>,
    /// Dynamic filters: rows of the targets are kept only where the filter column matches.
    pub filters: Vec<Filter>,
}

impl PartialEq for TableModule {
    fn eq(&self, other: &Self) -> bool {
        self.flavor == other.flavor
            && self.walk == other.walk
            && self.get == other.get
            && self.metrics == other.metrics
            && self.filters == other.filters
    }
}

/// One metric: an OID (a column or a scalar) and how its varbinds become samples.
#[derive(Debug, Clone)]
pub struct Metric {
    /// The metric name (before any `_info` or regex-extract suffix).
    pub name: Arc<str>,
    /// The object: a column (walked) or, for octopoll's scalars, the instance.
    pub oid: Oid,
    /// How the value is exposed.
    pub kind: ValueType,
    /// HELP text.
    pub help: Arc<str>,
    /// octopoll's own modules: walk the column (else GET the instance). snmp_exporter
    /// modules fetch through the module's `walk`/`get` lists and ignore this.
    pub walk: bool,
    /// How the OID suffix becomes labels, in order.
    pub indexes: Vec<Index>,
    /// Labels taken from other columns, in order.
    pub lookups: Vec<Lookup>,
    /// Enum names for EnumAsInfo, EnumAsStateSet and Bits (bit number → name).
    pub enum_values: BTreeMap<i64, String>,
    /// Multiplier; `None` keeps the value.
    pub scale: Option<f64>,
    /// Added after the scale.
    pub offset: f64,
    /// Extra gauges parsed out of a string value: (name suffix, candidates in order).
    pub regex_extracts: Vec<(String, Vec<RegexExtract>)>,
    /// strftime-style pattern for ParseDateAndTime.
    pub datetime_pattern: Option<String>,
    /// RFC 2579 DISPLAY-HINT applied to OctetString values.
    pub display_hint: Option<String>,
}

impl PartialEq for Metric {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
            && self.oid == o.oid
            && self.kind == o.kind
            && self.help == o.help
            && self.walk == o.walk
            && self.indexes == o.indexes
            && self.lookups == o.lookups
            && self.enum_values == o.enum_values
            && self.scale == o.scale
            && self.offset == o.offset
            && self.regex_extracts == o.regex_extracts
            && self.datetime_pattern == o.datetime_pattern
            && self.display_hint == o.display_hint
    }
}

/// How a metric's value is exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// The number.
    Gauge,
    /// A counter (see [`Flavor`] for its name).
    Counter,
    /// octopoll's original `info`: value 1, the text in a `value` label.
    Info,
    /// A string as a label named like the metric, value 1 (DisplayString, OctetString,
    /// PhysAddress48, IpAddr, InetAddress…).
    Text(Render),
    /// Opaque-wrapped float.
    Float,
    /// Opaque-wrapped double.
    Double,
    /// RFC 2579 DateAndTime as Unix seconds.
    DateAndTime,
    /// A string date parsed with `datetime_pattern`, as Unix seconds.
    ParseDateAndTime,
    /// An NTP timestamp as Unix seconds.
    NtpTimestamp,
    /// `NAME_info{NAME="<enum name>"} 1`.
    EnumAsInfo,
    /// `NAME{NAME="<state>"}` 1 for the current state, 0 for the others.
    EnumAsStateSet,
    /// `NAME{NAME="<bit name>"}` 1 or 0 per named bit.
    Bits,
}

/// How arcs (an index) or bytes (a value) become text: snmp_exporter's index and string
/// types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// One arc, in decimal (`gauge`, `counter`, `Integer`, `Integer32`).
    Integer,
    /// Six arcs as `00:1A:2B:3C:4D:5E`.
    PhysAddress48,
    /// Length-prefixed (or fixed, or implied) bytes as `0x…` hex.
    OctetString,
    /// Length-prefixed (or fixed, or implied) bytes as text.
    DisplayString,
    /// Four arcs, dotted.
    InetAddressIpv4,
    /// Sixteen arcs as eight hex groups.
    InetAddressIpv6,
    /// Address type, length, address (the type decides IPv4 or IPv6).
    InetAddress,
    /// Address type, then the address without its length.
    InetAddressMissingSize,
    /// LLDP port ID subtype, length, ID.
    LldpPortId,
    /// One arc, named by `enum_values`.
    EnumAsInfo,
    /// snmp_exporter's `IpAddr` value type (IpAddress on the wire).
    IpAddr,
    /// octopoll: the whole suffix, dotted (a walked metric without `indexes`).
    Dotted,
}

impl Render {
    /// True for the types whose real type comes from a type arc or column
    /// (InetAddress, InetAddressMissingSize, LldpPortId).
    pub fn is_combined(self) -> bool {
        matches!(
            self,
            Render::InetAddress | Render::InetAddressMissingSize | Render::LldpPortId
        )
    }
}

/// One index of a table row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The label it becomes.
    pub label: Arc<str>,
    /// How its arcs read.
    pub kind: Render,
    /// Fixed length of a string index (0: length-prefixed).
    pub fixed_size: usize,
    /// The string takes every arc left (IMPLIED).
    pub implied: bool,
    /// Names for EnumAsInfo.
    pub enum_values: BTreeMap<i64, String>,
}

/// A label looked up in another column at the row's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The index labels whose arcs form the row to look up, in order. Empty: the lookup
    /// deletes `label` instead (snmp_exporter's form of dropping a source index).
    pub labels: Vec<Arc<str>>,
    /// The label it sets.
    pub label: Arc<str>,
    /// The column to look in.
    pub oid: Option<Oid>,
    /// How the value reads.
    pub kind: Option<Render>,
    /// Names for an EnumAsInfo lookup.
    pub enum_values: BTreeMap<i64, String>,
    /// RFC 2579 DISPLAY-HINT for an OctetString lookup.
    pub display_hint: Option<String>,
}

/// One regex extract candidate: the first that matches and parses as a number wins.
#[derive(Debug, Clone)]
pub struct RegexExtract {
    /// Anchored (`^(?:…)$`) as snmp_exporter anchors it.
    pub regex: Regex,
    /// Template with `$1`-style references.
    pub value: String,
}

impl PartialEq for RegexExtract {
    fn eq(&self, o: &Self) -> bool {
        self.regex.as_str() == o.regex.as_str() && self.value == o.value
    }
}

/// A dynamic filter: walk `oid`, keep the last arcs of the rows whose value matches one of
/// `values`, and take only those rows of each target.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The column to match.
    pub oid: Oid,
    /// The columns to restrict.
    pub targets: Vec<Oid>,
    /// Unanchored patterns, as snmp_exporter matches them.
    pub values: Vec<Regex>,
}

impl PartialEq for Filter {
    fn eq(&self, o: &Self) -> bool {
        self.oid == o.oid
            && self.targets == o.targets
            && self.values.len() == o.values.len()
            && self
                .values
                .iter()
                .zip(&o.values)
                .all(|(a, b)| a.as_str() == b.as_str())
    }
}

/// The exposition type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FamilyType {
    /// OpenMetrics gauge.
    Gauge,
    /// OpenMetrics counter: samples are `NAME_total`.
    Counter,
    /// OpenMetrics unknown: samples are `NAME` (snmp_exporter's counters).
    Unknown,
    /// OpenMetrics info: samples are `NAME_info`, value 1.
    Info,
}

impl FamilyType {
    /// How the type reads in messages.
    pub fn describe(self) -> &'static str {
        match self {
            FamilyType::Gauge => "a gauge",
            FamilyType::Counter => "an OpenMetrics counter (`_total`)",
            FamilyType::Unknown => "an snmp_exporter-style counter (no `_total`)",
            FamilyType::Info => "an info metric",
        }
    }
}

impl Metric {
    /// The families this metric produces: (name, type).
    pub fn families(&self, flavor: Flavor) -> Vec<(String, FamilyType)> {
        let name = self.name.to_string();
        let mut out = match self.kind {
            ValueType::Counter if flavor == Flavor::Octopoll => vec![(name, FamilyType::Counter)],
            ValueType::Counter => vec![(name, FamilyType::Unknown)],
            ValueType::Info => vec![(name, FamilyType::Info)],
            ValueType::EnumAsInfo => vec![(format!("{name}_info"), FamilyType::Gauge)],
            ValueType::Text(_) if !self.regex_extracts.is_empty() => Vec::new(),
            _ => vec![(name, FamilyType::Gauge)],
        };
        if matches!(self.kind, ValueType::Text(_)) {
            out.extend(
                self.regex_extracts
                    .iter()
                    .map(|(suffix, _)| (format!("{}{suffix}", self.name), FamilyType::Gauge)),
            );
        }
        out
    }

    /// The label names this metric's samples can carry (besides the device's).
    pub fn label_names(&self, flavor: Flavor) -> Vec<Arc<str>> {
        let mut out: Vec<Arc<str>> = self.indexes.iter().map(|i| i.label.clone()).collect();
        for l in &self.lookups {
            if !out.contains(&l.label) {
                out.push(l.label.clone());
            }
        }
        let named = matches!(
            self.kind,
            ValueType::Text(_)
                | ValueType::EnumAsInfo
                | ValueType::EnumAsStateSet
                | ValueType::Bits
        );
        if named && !out.contains(&self.name) {
            out.push(self.name.clone());
        }
        if self.kind == ValueType::Info && flavor == Flavor::Octopoll {
            out.push(Arc::from("value"));
        }
        out
    }
}
