//! Modules in octopoll's own format (`modules:` and a device's `oids`), and the metric
//! validator both formats share (snmp_exporter module files are read in
//! `module_files.rs` and end up in the same [`TableModule`] model).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use regex::Regex;

use super::raw::{RawFilter, RawIndex, RawLookup, RawModuleMap, RawOid, RawRegexExtract, Text};
use super::report::Report;
use super::scalars::{check_metric_name, is_label_name};
use super::yaml::{join_index, join_key, Kind, Node};
use crate::snmp::Oid;
use crate::table::plan::previous_column;
use crate::table::{
    Filter, Flavor, Index, Lookup, Metric, RegexExtract, Render, TableModule, ValueType,
};

/// Metric types of both formats (octopoll's adds `info`).
const VALUE_TYPES: &str = "gauge, counter, info, DisplayString, OctetString, PhysAddress48, \
     IpAddr, InetAddressIPv4, InetAddressIPv6, InetAddress, InetAddressMissingSize, LldpPortId, \
     Float, Double, DateAndTime, ParseDateAndTime, NTPTimeStamp, EnumAsInfo, EnumAsStateSet, Bits";
/// Index (and lookup) types.
const INDEX_TYPES: &str = "gauge, counter, Integer, Integer32, PhysAddress48, OctetString, \
     DisplayString, InetAddressIPv4, InetAddressIPv6, InetAddress, InetAddressMissingSize, \
     LldpPortId, EnumAsInfo";

/// An index or lookup type by its snmp_exporter name.
pub(crate) fn render_type(s: &str) -> Option<Render> {
    Some(match s {
        "gauge" | "counter" | "Integer" | "Integer32" => Render::Integer,
        "PhysAddress48" => Render::PhysAddress48,
        "OctetString" => Render::OctetString,
        "DisplayString" => Render::DisplayString,
        "InetAddressIPv4" => Render::InetAddressIpv4,
        "InetAddressIPv6" => Render::InetAddressIpv6,
        "InetAddress" => Render::InetAddress,
        "InetAddressMissingSize" => Render::InetAddressMissingSize,
        "LldpPortId" => Render::LldpPortId,
        "EnumAsInfo" => Render::EnumAsInfo,
        _ => return None,
    })
}

/// A metric type by its name; `info` only in octopoll's format.
fn value_type(s: &str, flavor: Flavor) -> Option<ValueType> {
    Some(match s {
        "gauge" => ValueType::Gauge,
        "counter" => ValueType::Counter,
        "info" if flavor == Flavor::Octopoll => ValueType::Info,
        "IpAddr" => ValueType::Text(Render::IpAddr),
        "Float" => ValueType::Float,
        "Double" => ValueType::Double,
        "DateAndTime" => ValueType::DateAndTime,
        "ParseDateAndTime" => ValueType::ParseDateAndTime,
        "NTPTimeStamp" => ValueType::NtpTimestamp,
        "EnumAsInfo" => ValueType::EnumAsInfo,
        "EnumAsStateSet" => ValueType::EnumAsStateSet,
        "Bits" => ValueType::Bits,
        other => match render_type(other)? {
            Render::Integer | Render::EnumAsInfo => return None,
            r => ValueType::Text(r),
        },
    })
}

/// The name of a value type, for `/config`.
pub(crate) fn value_type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Gauge => "gauge",
        ValueType::Counter => "counter",
        ValueType::Info => "info",
        ValueType::Float => "Float",
        ValueType::Double => "Double",
        ValueType::DateAndTime => "DateAndTime",
        ValueType::ParseDateAndTime => "ParseDateAndTime",
        ValueType::NtpTimestamp => "NTPTimeStamp",
        ValueType::EnumAsInfo => "EnumAsInfo",
        ValueType::EnumAsStateSet => "EnumAsStateSet",
        ValueType::Bits => "Bits",
        ValueType::Text(r) => render_name(r),
    }
}

/// The name of an index or string type, for `/config`.
pub(crate) fn render_name(r: Render) -> &'static str {
    match r {
        Render::Integer => "gauge",
        Render::PhysAddress48 => "PhysAddress48",
        Render::OctetString => "OctetString",
        Render::DisplayString => "DisplayString",
        Render::InetAddressIpv4 => "InetAddressIPv4",
        Render::InetAddressIpv6 => "InetAddressIPv6",
        Render::InetAddress => "InetAddress",
        Render::InetAddressMissingSize => "InetAddressMissingSize",
        Render::LldpPortId => "LldpPortId",
        Render::EnumAsInfo => "EnumAsInfo",
        Render::IpAddr => "IpAddr",
        Render::Dotted => "dotted",
    }
}

fn parse_oid(rep: &mut Report, f: usize, key: &str, t: &Text) -> Option<Oid> {
    match t.0.parse::<Oid>() {
        Ok(o) => Some(o),
        Err(e) => {
            rep.at(f, key, format!("invalid OID `{}`: {e}", t.0));
            None
        }
    }
}

fn label(rep: &mut Report, f: usize, key: &str, t: &Text) -> Option<Arc<str>> {
    if !is_label_name(&t.0) {
        rep.at(
            f,
            key,
            format!(
                "invalid label name `{}`: use letters, digits and `_`, not starting with a digit",
                t.0
            ),
        );
        return None;
    }
    if t.0 == "device" || t.0.starts_with("__") {
        rep.at(
            f,
            key,
            format!(
                "label `{}` is reserved (octopoll sets `device`; Prometheus reserves `__`)",
                t.0
            ),
        );
        return None;
    }
    Some(Arc::from(t.0.as_str()))
}

fn enums(raw: &Option<BTreeMap<i64, Text>>) -> BTreeMap<i64, String> {
    raw.iter()
        .flatten()
        .map(|(k, v)| (*k, v.0.clone()))
        .collect()
}

/// A regex anchored as snmp_exporter anchors its config regexps (`^(?:…)$`).
fn anchored(rep: &mut Report, f: usize, key: &str, s: &str) -> Option<Regex> {
    match Regex::new(&format!("^(?:{s})$")) {
        Ok(r) => Some(r),
        Err(e) => {
            rep.at(f, key, format!("invalid regex `{s}`: {e}"));
            None
        }
    }
}

/// An unanchored regex (filters and sysDescr rules match anywhere, as snmp_exporter's).
pub(crate) fn unanchored(rep: &mut Report, f: usize, key: &str, s: &str) -> Option<Regex> {
    match Regex::new(s) {
        Ok(r) => Some(r),
        Err(e) => {
            rep.at(f, key, format!("invalid regex `{s}`: {e}"));
            None
        }
    }
}

fn validate_index(rep: &mut Report, f: usize, path: &str, raw: &RawIndex) -> Option<Index> {
    let before = rep.count();
    let name = match &raw.labelname {
        Some(t) => label(rep, f, &join_key(path, "labelname"), t),
        None => {
            rep.at(f, path, "missing required key `labelname`");
            None
        }
    };
    let kind = match &raw.kind {
        Some(t) => match render_type(&t.0) {
            Some(r) => Some(r),
            None => {
                rep.at(
                    f,
                    &join_key(path, "type"),
                    format!(
                        "unknown index type `{}`, expected one of {INDEX_TYPES}",
                        t.0
                    ),
                );
                None
            }
        },
        None => {
            rep.at(f, path, "missing required key `type`");
            None
        }
    };
    let fixed_size = match raw.fixed_size {
        Some(n) if !(0..=128).contains(&n) => {
            rep.at(
                f,
                &join_key(path, "fixed_size"),
                format!("fixed_size must be from 0 to 128 (arcs in an OID), got {n}"),
            );
            0
        }
        Some(n) => n as usize,
        None => 0,
    };
    (rep.count() == before).then(|| Index {
        label: name.expect("checked"),
        kind: kind.expect("checked"),
        fixed_size,
        implied: raw.implied.unwrap_or(false),
        enum_values: enums(&raw.enum_values),
    })
}

/// Validates lookups; `known` holds the index labels (and grows with each lookup's label,
/// so a chained lookup may use an earlier one). `drop`: labels octopoll's
/// `drop_source_indexes` asks to remove after the lookups.
fn validate_lookup(
    rep: &mut Report,
    f: usize,
    path: &str,
    raw: &RawLookup,
    known: &mut Vec<Arc<str>>,
    drop: &mut Vec<Arc<str>>,
) -> Option<Lookup> {
    let before = rep.count();
    let name = match &raw.labelname {
        Some(t) => label(rep, f, &join_key(path, "labelname"), t),
        None => {
            rep.at(f, path, "missing required key `labelname`");
            None
        }
    };
    let mut labels = Vec::new();
    for (i, l) in raw.labels.iter().flatten().enumerate() {
        let key = join_index(&join_key(path, "labels"), i);
        if !known.iter().any(|k| **k == *l.0) {
            rep.at(
                f,
                &key,
                format!(
                    "`{}` is not an index label or an earlier lookup of this metric; known: {}",
                    l.0,
                    known.iter().map(|k| &**k).collect::<Vec<_>>().join(", ")
                ),
            );
        } else {
            labels.push(Arc::from(l.0.as_str()));
        }
    }
    let oid = raw
        .oid
        .as_ref()
        .and_then(|t| parse_oid(rep, f, &join_key(path, "oid"), t));
    let kind = match &raw.kind {
        Some(t) => match render_type(&t.0) {
            Some(r) => Some(r),
            None => {
                rep.at(
                    f,
                    &join_key(path, "type"),
                    format!(
                        "unknown lookup type `{}`, expected one of {INDEX_TYPES}",
                        t.0
                    ),
                );
                None
            }
        },
        None => None,
    };
    let deleting = raw.labels.as_ref().is_some_and(Vec::is_empty);
    if !deleting && raw.oid.is_none() {
        rep.at(
            f,
            path,
            "missing required key `oid` (only a lookup with `labels: []`, which removes a \
             label, has none)",
        );
    }
    if raw.labels.is_none() {
        rep.at(
            f,
            path,
            "missing required key `labels` (the index labels to look up by)",
        );
    }
    if rep.count() > before {
        return None;
    }
    let name = name.expect("checked");
    if raw.drop_source_indexes == Some(true) {
        drop.extend(labels.iter().cloned());
    }
    if !known.contains(&name) {
        known.push(name.clone());
    }
    Some(Lookup {
        labels,
        label: name,
        oid,
        kind,
        enum_values: enums(&raw.enum_values),
        display_hint: raw.display_hint.as_ref().map(|t| t.0.clone()),
    })
}

fn validate_extracts(
    rep: &mut Report,
    f: usize,
    path: &str,
    raw: &BTreeMap<String, Vec<RawRegexExtract>>,
) -> Vec<(String, Vec<RegexExtract>)> {
    let mut out = Vec::new();
    for (suffix, list) in raw {
        let key = join_key(path, suffix);
        if !suffix.is_empty()
            && !suffix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            rep.at(
                f,
                &key,
                format!("regex extract name `{suffix}` must be letters, digits and `_` (it ends the metric name)"),
            );
            continue;
        }
        let mut candidates = Vec::new();
        for (i, c) in list.iter().enumerate() {
            let ck = join_index(&key, i);
            let Some(regex) = &c.regex else {
                rep.at(f, &ck, "missing required key `regex`");
                continue;
            };
            if let Some(regex) = anchored(rep, f, &join_key(&ck, "regex"), &regex.0) {
                candidates.push(RegexExtract {
                    regex,
                    value: c
                        .value
                        .as_ref()
                        .map_or_else(|| "$1".to_string(), |v| v.0.clone()),
                });
            }
        }
        out.push((suffix.clone(), candidates));
    }
    out
}

/// Validates one metric of either format.
pub(crate) fn validate_metric(
    rep: &mut Report,
    f: usize,
    path: &str,
    raw: &RawOid,
    flavor: Flavor,
) -> Option<Metric> {
    let before = rep.count();
    let kind = match &raw.kind {
        None => {
            rep.at(
                f,
                path,
                format!("missing required key `type` ({VALUE_TYPES})"),
            );
            None
        }
        Some(t) => match value_type(&t.0, flavor) {
            Some(k) => Some(k),
            None => {
                rep.at(
                    f,
                    &join_key(path, "type"),
                    format!("unknown type `{}`, expected one of {VALUE_TYPES}", t.0),
                );
                None
            }
        },
    };
    let name = match &raw.name {
        None => {
            rep.at(f, path, "missing required key `name`");
            None
        }
        Some(n) => match check_metric_name(&n.0, kind, flavor) {
            Ok(()) => Some(n.0.clone()),
            Err(e) => {
                rep.at(f, &join_key(path, "name"), e);
                None
            }
        },
    };
    let oid = match &raw.oid {
        None => {
            rep.at(f, path, "missing required key `oid`");
            None
        }
        Some(o) => parse_oid(rep, f, &join_key(path, "oid"), o),
    };
    if flavor == Flavor::SnmpExporter {
        // octopoll's own keys, which snmp_exporter's format does not have.
        if raw.walk.is_some() {
            rep.at(
                f,
                &join_key(path, "walk"),
                "`walk` is octopoll's key; in an snmp_exporter file the module's `walk` and \
                 `get` lists say what is fetched",
            );
        }
        for (i, l) in raw.lookups.iter().flatten().enumerate() {
            if l.drop_source_indexes.is_some() {
                rep.at(
                    f,
                    &join_key(
                        &join_index(&join_key(path, "lookups"), i),
                        "drop_source_indexes",
                    ),
                    "`drop_source_indexes` is a generator option; a generated file drops a \
                     label with a lookup of no `labels`",
                );
            }
        }
    }
    let walk = flavor == Flavor::SnmpExporter || raw.walk.unwrap_or(false);
    let mut indexes = Vec::new();
    let mut seen = HashSet::new();
    for (i, ri) in raw.indexes.iter().flatten().enumerate() {
        let p = join_index(&join_key(path, "indexes"), i);
        if let Some(idx) = validate_index(rep, f, &p, ri) {
            if !seen.insert(idx.label.clone()) {
                rep.at(
                    f,
                    &join_key(&p, "labelname"),
                    format!("index label `{}` given twice", idx.label),
                );
            }
            indexes.push(idx);
        }
    }
    if flavor == Flavor::Octopoll {
        if !walk && raw.indexes.is_some() {
            rep.at(
                f,
                &join_key(path, "indexes"),
                "`indexes` need `walk: true` (a scalar has no index)",
            );
        }
        if walk && raw.indexes.is_none() {
            // octopoll's original form: the dotted suffix in an `index` label.
            indexes.push(Index {
                label: Arc::from("index"),
                kind: Render::Dotted,
                fixed_size: 0,
                implied: false,
                enum_values: BTreeMap::new(),
            });
        }
    }
    let mut known: Vec<Arc<str>> = indexes.iter().map(|i| i.label.clone()).collect();
    let mut drop = Vec::new();
    let mut lookups = Vec::new();
    for (i, rl) in raw.lookups.iter().flatten().enumerate() {
        let p = join_index(&join_key(path, "lookups"), i);
        if flavor == Flavor::Octopoll && !walk {
            rep.at(
                f,
                &p,
                "lookups need `walk: true` (a scalar has no index to look up)",
            );
            break;
        }
        if let Some(l) = validate_lookup(rep, f, &p, rl, &mut known, &mut drop) {
            lookups.push(l);
        }
    }
    // `drop_source_indexes` is snmp_exporter's generator option; its generated form is a
    // lookup with no labels, which removes the label: the same here.
    for label in drop {
        if !lookups
            .iter()
            .any(|l| l.labels.is_empty() && l.label == label)
        {
            lookups.push(Lookup {
                labels: Vec::new(),
                label,
                oid: None,
                kind: None,
                enum_values: BTreeMap::new(),
                display_hint: None,
            });
        }
    }
    match (kind, &raw.datetime_pattern) {
        (Some(ValueType::ParseDateAndTime), None) => rep.at(
            f,
            path,
            "type ParseDateAndTime needs `datetime_pattern` (e.g. '%b %d %Y')",
        ),
        (Some(k), Some(_)) if k != ValueType::ParseDateAndTime => rep.at(
            f,
            &join_key(path, "datetime_pattern"),
            "`datetime_pattern` is for type ParseDateAndTime only",
        ),
        _ => {}
    }
    for (key, v) in [("scale", raw.scale), ("offset", raw.offset)] {
        if v.is_some_and(|v| !v.is_finite()) {
            rep.at(
                f,
                &join_key(path, key),
                format!("{key} must be a finite number"),
            );
        }
    }
    let regex_extracts = raw
        .regex_extracts
        .as_ref()
        .map(|r| validate_extracts(rep, f, &join_key(path, "regex_extracts"), r))
        .unwrap_or_default();
    if rep.count() > before {
        return None;
    }
    let name: Arc<str> = Arc::from(name?);
    let oid = oid?;
    let help = raw
        .help
        .as_ref()
        .map(|h| h.0.clone())
        .unwrap_or_else(|| format!("SNMP OID {oid}"));
    Some(Metric {
        name,
        oid,
        kind: kind?,
        help: Arc::from(help),
        walk,
        indexes,
        lookups,
        enum_values: enums(&raw.enum_values),
        // snmp_exporter treats a scale of 0 as "no scale".
        scale: raw.scale.filter(|s| *s != 0.0),
        offset: raw.offset.unwrap_or(0.0),
        regex_extracts,
        datetime_pattern: raw.datetime_pattern.as_ref().map(|t| t.0.clone()),
        display_hint: raw.display_hint.as_ref().map(|t| t.0.clone()),
    })
}

/// Validates a module's dynamic filters.
pub(crate) fn validate_filters(
    rep: &mut Report,
    f: usize,
    path: &str,
    raws: &[RawFilter],
) -> Option<Vec<Filter>> {
    let before = rep.count();
    let mut out = Vec::new();
    for (i, raw) in raws.iter().enumerate() {
        let p = join_index(path, i);
        let oid = match &raw.oid {
            Some(t) => parse_oid(rep, f, &join_key(&p, "oid"), t),
            None => {
                rep.at(f, &p, "missing required key `oid` (the column to match)");
                None
            }
        };
        let targets: Vec<Oid> = raw
            .targets
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(j, t)| parse_oid(rep, f, &join_index(&join_key(&p, "targets"), j), t))
            .collect();
        if raw.targets.as_ref().is_none_or(Vec::is_empty) {
            rep.at(f, &p, "a filter needs `targets` (the columns it restricts)");
        }
        let values: Vec<Regex> = raw
            .values
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(j, v)| unanchored(rep, f, &join_index(&join_key(&p, "values"), j), &v.0))
            .collect();
        if raw.values.as_ref().is_none_or(Vec::is_empty) {
            rep.at(
                f,
                &p,
                "a filter needs `values` (patterns a row's value must match)",
            );
        }
        if let Some(oid) = oid {
            out.push(Filter {
                oid,
                targets,
                values,
            });
        }
    }
    (rep.count() == before).then_some(out)
}

/// A list of metrics in octopoll's format (a module, or a device's `oids`); `None` if any
/// entry is broken.
pub(crate) fn decode_oid_list(
    rep: &mut Report,
    file: usize,
    path: &str,
    node: &Node,
) -> Option<Vec<RawOid>> {
    let items = rep.list(file, path, node, "OIDs")?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (j, item) in items.iter().enumerate() {
        match rep.decode(file, &join_index(path, j), item) {
            Some(o) => out.push(o),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A module of octopoll's format as written: a list of metrics, or a mapping with `oids`
/// and `filters`. The second value is the key path of the metric list.
pub(crate) struct RawModule {
    pub oids: Vec<RawOid>,
    pub oids_path: String,
    pub filters: Vec<RawFilter>,
}

/// Decodes a module of octopoll's format; `None` if broken (reported).
pub(crate) fn decode_module(
    rep: &mut Report,
    file: usize,
    path: &str,
    node: &Node,
) -> Option<RawModule> {
    match &node.kind {
        Kind::Map(_) => {
            let map: RawModuleMap = rep.decode(file, path, node)?;
            let oids_path = join_key(path, "oids");
            let oids = match node.get("oids").filter(|_| map.oids.is_some()) {
                Some(n) => decode_oid_list(rep, file, &oids_path, n)?,
                None => {
                    rep.at(
                        file,
                        path,
                        "missing required key `oids` (the module's metrics)",
                    );
                    return None;
                }
            };
            Some(RawModule {
                oids,
                oids_path,
                filters: map.filters.unwrap_or_default(),
            })
        }
        _ => Some(RawModule {
            oids: decode_oid_list(rep, file, path, node)?,
            oids_path: path.to_string(),
            filters: Vec::new(),
        }),
    }
}

/// Validates a module of octopoll's format (metrics, duplicates, filters) into a table
/// module whose `walk`/`get` lists are derived from its metrics.
pub(crate) fn validate_module(
    rep: &mut Report,
    f: usize,
    path: &str,
    raw: &RawModule,
) -> Option<TableModule> {
    let before = rep.count();
    let mut metrics = Vec::with_capacity(raw.oids.len());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (j, r) in raw.oids.iter().enumerate() {
        let p = join_index(&raw.oids_path, j);
        if let Some(m) = validate_metric(rep, f, &p, r, Flavor::Octopoll) {
            if let Some(first) = seen.get(&*m.name) {
                let place = rep.place(f, &join_index(&raw.oids_path, *first));
                rep.at(
                    f,
                    &join_key(&p, "name"),
                    format!("metric `{}` is already defined at {place}", m.name),
                );
            } else {
                seen.insert(m.name.to_string(), j);
            }
            metrics.push(Arc::new(m));
        }
    }
    let filters = validate_filters(rep, f, &join_key(path, "filters"), &raw.filters);
    if rep.count() > before {
        return None;
    }
    if metrics.is_empty() {
        rep.at(f, path, "a module needs at least one OID");
        return None;
    }
    Some(octopoll_table(metrics, filters.unwrap_or_default()))
}

/// A table module of octopoll's format: what to walk and get follows from each metric
/// (`walk: true` columns, their lookup columns and address-type columns; scalars by GET).
pub(crate) fn octopoll_table(metrics: Vec<Arc<Metric>>, filters: Vec<Filter>) -> TableModule {
    let mut walk = Vec::new();
    let mut get = Vec::new();
    for m in &metrics {
        if m.walk {
            walk.push(m.oid.clone());
            if matches!(m.kind, ValueType::Text(r) if r.is_combined()) {
                walk.extend(previous_column(&m.oid));
            }
        } else {
            get.push(m.oid.clone());
        }
        for l in &m.lookups {
            if let Some(o) = &l.oid {
                walk.push(o.clone());
                if l.kind.is_some_and(Render::is_combined) {
                    walk.extend(previous_column(o));
                }
            }
        }
    }
    walk.sort();
    walk.dedup();
    TableModule {
        flavor: Flavor::Octopoll,
        walk,
        get,
        metrics,
        filters,
    }
}
