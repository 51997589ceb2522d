//! Fetched varbinds into sample families, metric by metric, with snmp_exporter's rules:
//! indexes into labels, lookups (chained through the value of the previous lookup), enum,
//! state-set and bits expansion, string values as labels, regex extracts, scale and
//! offset. Everything is settled here, at poll time: label values are escaped and every
//! value is a finite or infinite float the encoder cannot reject.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::fetched::Fetched;
use super::model::{FamilyType, Flavor, Metric, Render, TableModule, ValueType};
use super::plan::{previous_column, Visible};
use super::render::{self, combined_subtype, decode_index, value_text};
use crate::metrics::mapping::escape_label;
use crate::snmp::{Oid, Value};

/// Label names and escaped values, sorted by name; shared by the samples of one row.
pub type Labels = Arc<[(Arc<str>, String)]>;

/// One sample: labels sorted by name (values escaped for the text format) and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Label name and escaped value, sorted by name.
    pub labels: Labels,
    /// The value.
    pub value: f64,
}

/// Samples of one metric family.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The family name (OpenMetrics adds `_total` to a counter's samples).
    pub name: Arc<str>,
    /// HELP text.
    pub help: Arc<str>,
    /// Exposition type.
    pub kind: FamilyType,
    /// The samples, in the order found.
    pub samples: Vec<Sample>,
}

/// The families of one poll, merged by name across modules.
#[derive(Debug, Default)]
pub struct Families {
    list: Vec<Family>,
    index: HashMap<Arc<str>, usize>,
    /// Families fed by more than one metric (or by a metric without index labels), which
    /// may hold the same series twice.
    mixed: Vec<bool>,
    /// Address of the metric that first fed each family (only compared).
    first_source: Vec<usize>,
    /// The family the last sample went to.
    last: Option<usize>,
}

impl Families {
    fn family(&mut self, name: &str, help: &Arc<str>, kind: FamilyType, src: &Metric) -> usize {
        let src_ptr = src as *const Metric as usize;
        // Rows of one metric come one after another: try the family of the last sample
        // before hashing the name.
        let hit = self
            .last
            .filter(|&i| *self.list[i].name == *name)
            .or_else(|| self.index.get(name).copied());
        if let Some(i) = hit {
            if self.first_source[i] != src_ptr {
                self.mixed[i] = true;
            }
            self.last = Some(i);
            return i;
        }
        let name: Arc<str> = if *name == *src.name {
            src.name.clone()
        } else {
            Arc::from(name)
        };
        self.list.push(Family {
            name: name.clone(),
            help: help.clone(),
            kind,
            samples: Vec::new(),
        });
        self.mixed.push(src.indexes.is_empty());
        self.first_source.push(src_ptr);
        self.index.insert(name, self.list.len() - 1);
        self.last = Some(self.list.len() - 1);
        self.list.len() - 1
    }

    /// The families, each series once (the first one found wins), dropping series that
    /// `taken(family, labels)` says the built-in module already exposes.
    pub fn finish(self, taken: impl Fn(&str, &[(Arc<str>, String)]) -> bool) -> Vec<Family> {
        let mut out = self.list;
        for (f, mixed) in out.iter_mut().zip(self.mixed) {
            f.samples.retain(|s| !taken(&f.name, &s.labels));
            if mixed && f.samples.len() > 1 {
                let mut seen = std::collections::HashSet::with_capacity(f.samples.len());
                f.samples.retain(|s| seen.insert(s.labels.clone()));
            }
        }
        out.retain(|f| !f.samples.is_empty());
        out
    }
}

/// Problems found while decoding, counted per metric and kind so a big table gives one
/// line, not one per row; and the rows lookups did not find.
#[derive(Debug, Default)]
pub struct Warnings {
    counts: BTreeMap<(String, &'static str), usize>,
    /// Rows a lookup asked for that the fetched columns do not have (a label kept from an
    /// earlier poll may be stale when a new one appears here).
    pub misses: std::collections::HashSet<Oid>,
}

impl Warnings {
    fn add(&mut self, metric: &str, what: &'static str) {
        *self.counts.entry((metric.to_string(), what)).or_default() += 1;
    }

    /// One line per metric and problem.
    pub fn lines(&self) -> Vec<String> {
        self.counts
            .iter()
            .map(|((m, what), n)| format!("{m}: {n} row(s) {what}"))
            .collect()
    }
}

/// Which rows each filter target keeps: target column → kept last arcs (intersection of
/// every filter on it), per module.
pub type Kept = HashMap<Oid, std::collections::BTreeSet<u32>>;

/// Computes the rows the filters of `module` keep from the fetched filter columns.
pub fn filter_rows(module: &TableModule, fetched: &Fetched) -> Kept {
    let mut kept: Kept = HashMap::new();
    for f in &module.filters {
        let mut allowed = std::collections::BTreeSet::new();
        for (oid, value) in fetched.under(&f.oid) {
            // snmp_exporter compares the value as a DisplayString and keeps the last arc.
            let text = value_text(value, Some(Render::DisplayString), None);
            if f.values.iter().any(|r| r.is_match(&text)) {
                if let Some(&last) = oid.arcs().last() {
                    allowed.insert(last);
                }
            }
        }
        for t in &f.targets {
            match kept.get_mut(t) {
                Some(prev) => prev.retain(|a| allowed.contains(a)),
                None => {
                    kept.insert(t.clone(), allowed.clone());
                }
            }
        }
    }
    kept
}

/// The instances of the filter targets to fetch: `target.arc` for each kept arc.
pub fn filter_instances(kept: &Kept) -> Vec<Oid> {
    let mut out = Vec::new();
    for (t, arcs) in kept {
        out.extend(arcs.iter().map(|a| t.join(&[*a])));
    }
    out.sort();
    out
}

/// Decodes one module's metrics from `fetched` into `out`.
pub fn decode_module(
    module: &TableModule,
    visible: &Visible,
    kept: &Kept,
    fetched: &Fetched,
    out: &mut Families,
    warnings: &mut Warnings,
) {
    let keep = |t: &Oid, arc: u32| kept.get(t).is_some_and(|s| s.contains(&arc));
    let sees = |oid: &Oid| visible.sees(oid, keep);
    let sees_all = |oid: &Oid| visible.sees_all(oid);
    let ctx = Ctx {
        fetched,
        flavor: module.flavor,
        sees: &sees,
        sees_all: &sees_all,
        columns: RefCell::default(),
    };
    let live: Vec<&Metric> = visible.live.iter().map(|&i| &*module.metrics[i]).collect();
    // Columns of one table with the same indexes and lookups label a row alike: decode
    // the index and look the lookups up once per row, not once per column.
    let group: Vec<usize> = live
        .iter()
        .enumerate()
        .map(|(i, m)| {
            live[..i]
                .iter()
                .position(|r| r.indexes == m.indexes && r.lookups == m.lookups)
                .unwrap_or(i)
        })
        .collect();
    let mut shared: HashMap<usize, HashMap<&[u32], RowLabels>> = HashMap::new();
    for (i, m) in live.iter().enumerate() {
        let g = group[i];
        let mut cache =
            (group.iter().filter(|&&x| x == g).count() > 1).then(|| shared.entry(g).or_default());
        let all = visible.sees_all(&m.oid);
        for (oid, value) in fetched.under(&m.oid) {
            if !all && !sees(oid) {
                continue;
            }
            let Some(suffix) = oid.suffix_after(&m.oid) else {
                continue;
            };
            ctx.row(m, suffix, value, cache.as_deref_mut(), out, warnings);
        }
    }
}

/// The labels of one row before the metric's own (sorted, escaped), and whether an index
/// was short.
#[derive(Clone)]
struct RowLabels {
    labels: Labels,
    short: bool,
}

struct Ctx<'a> {
    fetched: &'a Fetched,
    flavor: Flavor,
    sees: &'a dyn Fn(&Oid) -> bool,
    sees_all: &'a dyn Fn(&Oid) -> bool,
    /// Lookup columns resolved to their rows (`None`: looked up OID by OID).
    columns: RefCell<HashMap<Oid, Option<Rows<'a>>>>,
}

/// The rows of one column, in OID order.
type Rows<'a> = &'a [(Oid, Value)];

impl<'a> Ctx<'a> {
    fn lookup(&self, oid: &Oid) -> Option<&'a Value> {
        if (self.sees)(oid) {
            self.fetched.get(oid)
        } else {
            None
        }
    }

    /// The value of `column` at `row`, as [`Ctx::lookup`] of the joined OID would find it.
    fn lookup_row(&self, column: &Oid, row: &[u32]) -> Option<&'a Value> {
        let rows = *self
            .columns
            .borrow_mut()
            .entry(column.clone())
            .or_insert_with(|| {
                (self.sees_all)(column)
                    .then(|| self.fetched.column(column))
                    .flatten()
            });
        let Some(rows) = rows else {
            return self.lookup(&column.join(row));
        };
        let n = column.arcs().len();
        rows.binary_search_by(|(o, _)| o.arcs()[n..].cmp(row))
            .ok()
            .map(|i| &rows[i].1)
    }

    /// Labels from the indexes and lookups of one row (unsorted, unescaped).
    fn labels(&self, m: &Metric, suffix: &[u32], misses: &mut HashSet<Oid>) -> RowLabels {
        let mut short = false;
        let mut labels: Vec<(Arc<str>, String)> = Vec::with_capacity(m.indexes.len() + 3);
        let mut arcs_of: Vec<(Arc<str>, Option<Vec<u32>>)> = Vec::with_capacity(4);
        let mut rest = suffix;
        for idx in &m.indexes {
            let d = decode_index(
                rest,
                idx.kind,
                idx.fixed_size,
                idx.implied,
                &idx.enum_values,
            );
            short |= d.short;
            set(&mut labels, &idx.label, d.text);
            set(&mut arcs_of, &idx.label, Some(d.used));
            rest = d.rest;
        }
        for l in &m.lookups {
            if l.labels.is_empty() {
                labels.retain(|(k, _)| *k != l.label);
                continue;
            }
            let Some(column) = &l.oid else { continue };
            let mut row: Vec<u32> = Vec::new();
            let mut complete = true;
            for name in &l.labels {
                match arcs_of.iter().find(|(k, _)| k == name) {
                    Some((_, Some(a))) => row.extend_from_slice(a),
                    _ => complete = false,
                }
            }
            let found = complete.then(|| self.lookup_row(column, &row)).flatten();
            let Some(value) = found else {
                if complete {
                    misses.insert(column.join(&row));
                }
                set(&mut labels, &l.label, String::new());
                continue;
            };
            let mut kind = l.kind;
            if let Some(k) = kind.filter(|k| k.is_combined()) {
                let prev = previous_column(column).map(|p| p.join(&row));
                if let Some(pv) = prev.as_ref().and_then(|p| self.lookup(p)) {
                    if let Some(sub) = combined_subtype(k, render::integer(pv)) {
                        kind = Some(sub);
                    }
                }
            }
            let text = if kind == Some(Render::EnumAsInfo) && !l.enum_values.is_empty() {
                let v = render::integer(value);
                l.enum_values
                    .get(&v)
                    .cloned()
                    .unwrap_or_else(|| v.to_string())
            } else {
                value_text(value, kind, l.display_hint.as_deref())
            };
            set(&mut labels, &l.label, text);
            // A chained lookup indexes the next table by this value.
            let v = render::integer(value);
            set(
                &mut arcs_of,
                &l.label,
                u32::try_from(v).ok().map(|a| vec![a]),
            );
        }
        RowLabels {
            labels: finish_labels(labels).into(),
            short,
        }
    }

    fn row<'s>(
        &self,
        m: &Metric,
        suffix: &'s [u32],
        value: &Value,
        cache: Option<&mut HashMap<&'s [u32], RowLabels>>,
        out: &mut Families,
        warnings: &mut Warnings,
    ) {
        if self.flavor == Flavor::Octopoll
            && (value.is_exception() || matches!(value, Value::Null | Value::Unknown))
        {
            return;
        }
        let RowLabels { labels, short } = match cache {
            Some(c) => c
                .entry(suffix)
                .or_insert_with(|| self.labels(m, suffix, &mut warnings.misses))
                .clone(),
            None => self.labels(m, suffix, &mut warnings.misses),
        };
        if short {
            warnings.add(
                &m.name,
                "with an index shorter than its type (read as zeros)",
            );
        }
        let wrap = self.flavor == Flavor::SnmpExporter;
        let mut v = render::exporter_number(value, wrap);
        let scaled = |x: f64| m.scale.map_or(x, |s| x * s) + m.offset;
        let emit = |out: &mut Families,
                    name: &str,
                    help: &Arc<str>,
                    kind: FamilyType,
                    labels: Labels,
                    value: f64| {
            let i = out.family(name, help, kind, m);
            out.list[i].samples.push(Sample { labels, value });
        };
        let named = |labels: &[(Arc<str>, String)]| labels.iter().any(|(k, _)| *k == m.name);
        match m.kind {
            ValueType::Gauge if self.flavor == Flavor::Octopoll => match octopoll_gauge(value) {
                Some(x) => v = x,
                None => return warnings.add(&m.name, "without a numeric value"),
            },
            ValueType::Counter if self.flavor == Flavor::Octopoll => match value.as_u64() {
                Some(x) => {
                    let x = scaled(x as f64);
                    return emit(out, &m.name, &m.help, FamilyType::Counter, labels, x);
                }
                None => return warnings.add(&m.name, "without a counter value"),
            },
            ValueType::Info => {
                let l = with_label(&labels, Arc::from("value"), value.to_label());
                return emit(out, &m.name, &m.help, FamilyType::Info, l, 1.0);
            }
            ValueType::Counter => {
                let x = scaled(v);
                return emit(out, &m.name, &m.help, FamilyType::Unknown, labels, x);
            }
            ValueType::Gauge | ValueType::Float | ValueType::Double => {}
            ValueType::DateAndTime | ValueType::NtpTimestamp => {
                let Value::OctetString(b) = value else {
                    return warnings.add(&m.name, "whose value is not an OCTET STRING");
                };
                let parsed = if m.kind == ValueType::DateAndTime {
                    render::date_and_time(b)
                } else {
                    render::ntp_timestamp(b)
                };
                match parsed {
                    Ok(x) => v = x,
                    Err(_) => return warnings.add(&m.name, "with an unreadable date"),
                }
            }
            ValueType::ParseDateAndTime => {
                let text = value_text(value, Some(Render::DisplayString), None);
                let pattern = m.datetime_pattern.as_deref().unwrap_or("");
                match render::parse_date(&text, pattern) {
                    Ok(x) => v = x,
                    Err(_) => return warnings.add(&m.name, "with a date not matching the pattern"),
                }
            }
            ValueType::EnumAsInfo => {
                if named(&labels) {
                    return; // the enum is an index of its own table: already a label
                }
                let state = enum_name(m, v as i64);
                let l = with_label(&labels, m.name.clone(), state);
                let help: Arc<str> = Arc::from(format!("{} (EnumAsInfo)", m.help));
                let name = format!("{}_info", m.name);
                return emit(out, &name, &help, FamilyType::Gauge, l, 1.0);
            }
            ValueType::EnumAsStateSet => {
                let current = v as i64;
                let help: Arc<str> = Arc::from(format!("{} (EnumAsStateSet)", m.help));
                let l = with_label(&labels, m.name.clone(), enum_name(m, current));
                emit(out, &m.name, &help, FamilyType::Gauge, l, 1.0);
                for (k, name) in &m.enum_values {
                    if *k != current {
                        let l = with_label(&labels, m.name.clone(), name.clone());
                        emit(out, &m.name, &help, FamilyType::Gauge, l, 0.0);
                    }
                }
                return;
            }
            ValueType::Bits => {
                let Value::OctetString(bytes) = value else {
                    return warnings.add(&m.name, "whose BITS value is not an OCTET STRING");
                };
                let help: Arc<str> = Arc::from(format!("{} (Bits)", m.help));
                for (k, name) in &m.enum_values {
                    let set = usize::try_from(*k).is_ok_and(|k| {
                        k < bytes.len() * 8 && bytes[k / 8] & (0x80 >> (k % 8)) != 0
                    });
                    let l = with_label(&labels, m.name.clone(), name.clone());
                    emit(
                        out,
                        &m.name,
                        &help,
                        FamilyType::Gauge,
                        l,
                        f64::from(u8::from(set)),
                    );
                }
                return;
            }
            ValueType::Text(kind) => {
                let mut kind = kind;
                if kind.is_combined() {
                    let prev = previous_column(&m.oid).map(|p| p.join(suffix));
                    kind = match prev.as_ref().and_then(|p| self.lookup(p)) {
                        Some(pv) => combined_subtype(kind, render::integer(pv))
                            .unwrap_or(Render::OctetString),
                        None => Render::OctetString,
                    };
                }
                let text = value_text(value, Some(kind), m.display_hint.as_deref());
                if !m.regex_extracts.is_empty() {
                    return self.regex_extracts(m, &text, labels, out, warnings);
                }
                v = 1.0;
                if !named(&labels) {
                    let l = with_label(&labels, m.name.clone(), text);
                    return emit(out, &m.name, &m.help, FamilyType::Gauge, l, scaled(v));
                }
            }
        }
        let x = scaled(v);
        emit(out, &m.name, &m.help, FamilyType::Gauge, labels, x);
    }

    fn regex_extracts(
        &self,
        m: &Metric,
        text: &str,
        labels: Labels,
        out: &mut Families,
        warnings: &mut Warnings,
    ) {
        let help: Arc<str> = Arc::from(format!("{} (regex extracted)", m.help));
        for (suffix, candidates) in &m.regex_extracts {
            for c in candidates {
                let Some(caps) = c.regex.captures(text) else {
                    continue;
                };
                let mut expanded = String::new();
                caps.expand(&c.value, &mut expanded);
                let Ok(x) = expanded.trim().parse::<f64>() else {
                    warnings.add(&m.name, "whose regex extract is not a number");
                    continue;
                };
                let x = m.scale.map_or(x, |s| x * s) + m.offset;
                let name = format!("{}{suffix}", m.name);
                let i = out.family(&name, &help, FamilyType::Gauge, m);
                out.list[i].samples.push(Sample {
                    labels: labels.clone(),
                    value: x,
                });
                break;
            }
        }
    }
}

/// Sets `key` in a small association list, replacing an earlier value.
fn set<V>(list: &mut Vec<(Arc<str>, V)>, key: &Arc<str>, value: V) {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => list.push((key.clone(), value)),
    }
}

fn enum_name(m: &Metric, v: i64) -> String {
    m.enum_values
        .get(&v)
        .cloned()
        .unwrap_or_else(|| v.to_string())
}

/// Sorted by name, values escaped for the text format.
/// Finished labels and one more: escaped, after those sorting before or equal to it.
fn with_label(labels: &Labels, key: Arc<str>, value: String) -> Labels {
    let value = if value.contains(['\\', '"', '\n']) {
        escape_label(&value)
    } else {
        value
    };
    let at = labels.partition_point(|(k, _)| *k <= key);
    let mut out = Vec::with_capacity(labels.len() + 1);
    out.extend_from_slice(&labels[..at]);
    out.push((key, value));
    out.extend_from_slice(&labels[at..]);
    out.into()
}

fn finish_labels(mut labels: Vec<(Arc<str>, String)>) -> Vec<(Arc<str>, String)> {
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, v) in labels.iter_mut() {
        if v.contains(['\\', '"', '\n']) {
            *v = escape_label(v);
        }
    }
    labels
}

/// octopoll's gauges: numbers as they are, and strings that hold a number ("23.5").
fn octopoll_gauge(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| match v {
        Value::OctetString(b) => std::str::from_utf8(b)
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite()),
        Value::Opaque(b) => render::opaque_float(b),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::model::{Index, Lookup, RegexExtract};
    use crate::table::plan::Plan;

    fn o(s: &str) -> Oid {
        s.parse().unwrap()
    }

    fn idx(label: &str, kind: Render) -> Index {
        Index {
            label: label.into(),
            kind,
            fixed_size: 0,
            implied: false,
            enum_values: BTreeMap::new(),
        }
    }

    fn metric(name: &str, oid: &str, kind: ValueType) -> Metric {
        Metric {
            name: name.into(),
            oid: o(oid),
            kind,
            help: "h".into(),
            walk: true,
            indexes: vec![idx("i", Render::Integer)],
            lookups: Vec::new(),
            enum_values: BTreeMap::new(),
            scale: None,
            offset: 0.0,
            regex_extracts: Vec::new(),
            datetime_pattern: None,
            display_hint: None,
        }
    }

    /// Decodes `metrics` as one module over `rows` (all walked under 1.3.6.1.9).
    fn decode(
        flavor: Flavor,
        metrics: Vec<Metric>,
        rows: &[(&str, Value)],
    ) -> (Vec<Family>, Vec<String>) {
        let module = Arc::new(TableModule {
            flavor,
            walk: vec![o("1.3.6.1.9")],
            get: Vec::new(),
            metrics: metrics.into_iter().map(Arc::new).collect(),
            filters: Vec::new(),
        });
        let mut fetched = Fetched::default();
        fetched.insert_walk(
            o("1.3.6.1.9"),
            rows.iter().map(|(k, v)| (o(k), v.clone())).collect(),
        );
        let plan = Plan::new(std::slice::from_ref(&module), &[], &[]);
        let mut fams = Families::default();
        let mut warnings = Warnings::default();
        decode_module(
            &module,
            &plan.visible[0],
            &Kept::new(),
            &fetched,
            &mut fams,
            &mut warnings,
        );
        (fams.finish(|_, _| false), warnings.lines())
    }

    fn series(f: &Family) -> Vec<String> {
        f.samples
            .iter()
            .map(|s| {
                let l: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{}{{{}}} {}", f.name, l.join(","), s.value)
            })
            .collect()
    }

    #[test]
    fn octopoll_flavour_keeps_its_rules() {
        let mut dotted = metric("walked", "1.3.6.1.9.1", ValueType::Gauge);
        dotted.indexes = vec![idx("index", Render::Dotted)];
        let (fams, warnings) = decode(
            Flavor::Octopoll,
            vec![
                dotted,
                metric("c", "1.3.6.1.9.2", ValueType::Counter),
                metric("info", "1.3.6.1.9.3", ValueType::Info),
            ],
            &[
                ("1.3.6.1.9.1.4.2", Value::OctetString(b" 23.5".to_vec())),
                ("1.3.6.1.9.1.5.1", Value::OctetString(b"n/a".to_vec())),
                ("1.3.6.1.9.2.1", Value::Counter64(u64::MAX)),
                ("1.3.6.1.9.2.2", Value::Integer(-1)),
                ("1.3.6.1.9.3.1", Value::OctetString(b"v\"1\0".to_vec())),
            ],
        );
        assert_eq!(series(&fams[0]), ["walked{index=4.2} 23.5"]);
        assert_eq!(fams[1].kind, FamilyType::Counter);
        // Counter64 stays exact (no 2^53 wrap) in octopoll's own modules.
        assert_eq!(fams[1].samples[0].value, u64::MAX as f64);
        assert_eq!(fams[1].samples.len(), 1, "a negative counter is skipped");
        assert_eq!(fams[2].kind, FamilyType::Info);
        assert_eq!(series(&fams[2]), ["info{i=1,value=v\\\"1} 1"]);
        assert_eq!(
            warnings,
            [
                "c: 1 row(s) without a counter value",
                "walked: 1 row(s) without a numeric value"
            ]
        );
    }

    #[test]
    fn columns_sharing_indexes_label_alike_and_count_their_own_warnings() {
        // Two columns with the same index and lookup share one decoding per row; a third
        // with another index decodes its own. Each still counts its short indexes.
        let name = Lookup {
            labels: vec!["addr".into()],
            label: "name".into(),
            oid: Some(o("1.3.6.1.9.1.2")),
            kind: Some(Render::DisplayString),
            enum_values: BTreeMap::new(),
            display_hint: None,
        };
        let mut a = metric("a", "1.3.6.1.9.1.3", ValueType::Gauge);
        a.indexes = vec![idx("addr", Render::InetAddressIpv4)];
        a.lookups = vec![name.clone()];
        let mut b = metric("b", "1.3.6.1.9.1.4", ValueType::Text(Render::DisplayString));
        b.indexes = a.indexes.clone();
        b.lookups = vec![name];
        let c = metric("c", "1.3.6.1.9.1.5", ValueType::Gauge);
        let (fams, warnings) = decode(
            Flavor::SnmpExporter,
            vec![a, b, c],
            &[
                (
                    "1.3.6.1.9.1.2.10.0.0.1",
                    Value::OctetString(b"x\"y".to_vec()),
                ),
                ("1.3.6.1.9.1.3.10.0", Value::Gauge32(6)),
                ("1.3.6.1.9.1.3.10.0.0.1", Value::Gauge32(5)),
                ("1.3.6.1.9.1.4.10.0", Value::OctetString(b"b\\".to_vec())),
                ("1.3.6.1.9.1.4.10.0.0.1", Value::OctetString(b"up".to_vec())),
                ("1.3.6.1.9.1.5.10", Value::Gauge32(7)),
            ],
        );
        assert_eq!(
            series(&fams[0]),
            ["a{addr=10.0.0.0,name=} 6", "a{addr=10.0.0.1,name=x\\\"y} 5"]
        );
        assert_eq!(
            series(&fams[1]),
            [
                "b{addr=10.0.0.0,b=b\\\\,name=} 1",
                "b{addr=10.0.0.1,b=up,name=x\\\"y} 1"
            ]
        );
        assert_eq!(series(&fams[2]), ["c{i=10} 7"]);
        assert_eq!(
            warnings,
            [
                "a: 1 row(s) with an index shorter than its type (read as zeros)",
                "b: 1 row(s) with an index shorter than its type (read as zeros)"
            ]
        );
    }

    #[test]
    fn lookups_chained_missing_and_dropped() {
        let mut m = metric("cpu", "1.3.6.1.9.1.8", ValueType::Gauge);
        m.lookups = vec![
            Lookup {
                labels: vec!["i".into()],
                label: "phys".into(),
                oid: Some(o("1.3.6.1.9.1.2")),
                kind: Some(Render::Integer),
                enum_values: BTreeMap::new(),
                display_hint: None,
            },
            Lookup {
                labels: vec!["phys".into()],
                label: "name".into(),
                oid: Some(o("1.3.6.1.9.2.7")),
                kind: Some(Render::DisplayString),
                enum_values: BTreeMap::new(),
                display_hint: None,
            },
            Lookup {
                labels: Vec::new(),
                label: "i".into(),
                oid: None,
                kind: None,
                enum_values: BTreeMap::new(),
                display_hint: None,
            },
        ];
        let (fams, _) = decode(
            Flavor::SnmpExporter,
            vec![m],
            &[
                ("1.3.6.1.9.1.2.1", Value::Integer(3001)),
                ("1.3.6.1.9.1.2.2", Value::Integer(9)),
                ("1.3.6.1.9.1.8.1", Value::Gauge32(25)),
                ("1.3.6.1.9.1.8.2", Value::Gauge32(7)),
                (
                    "1.3.6.1.9.2.7.3001",
                    Value::OctetString(b"Switch 3".to_vec()),
                ),
            ],
        );
        assert_eq!(
            series(&fams[0]),
            ["cpu{name=Switch 3,phys=3001} 25", "cpu{name=,phys=9} 7"]
        );
    }

    #[test]
    fn types_like_snmp_exporter() {
        let mut state = metric("st", "1.3.6.1.9.1", ValueType::EnumAsStateSet);
        state.enum_values = [(1, "up".to_string()), (2, "down".to_string())].into();
        let mut info = metric("kind", "1.3.6.1.9.2", ValueType::EnumAsInfo);
        info.enum_values = [(6, "ethernet".to_string())].into();
        let mut bits = metric("alarm", "1.3.6.1.9.3", ValueType::Bits);
        bits.enum_values = [(0, "power".to_string()), (9, "far".to_string())].into();
        let mut text = metric(
            "load",
            "1.3.6.1.9.4",
            ValueType::Text(Render::DisplayString),
        );
        text.regex_extracts = vec![(
            "Percent".to_string(),
            vec![RegexExtract {
                regex: regex::Regex::new("^(?:([0-9.]+)%)$").unwrap(),
                value: "$1".into(),
            }],
        )];
        text.scale = Some(0.01);
        let mut named = metric("kind2", "1.3.6.1.9.5", ValueType::EnumAsInfo);
        named.indexes = vec![idx("kind2", Render::EnumAsInfo)];
        let (fams, _) = decode(
            Flavor::SnmpExporter,
            vec![
                state,
                info,
                bits,
                text,
                named,
                metric("big", "1.3.6.1.9.6", ValueType::Counter),
            ],
            &[
                ("1.3.6.1.9.1.1", Value::Integer(2)),
                ("1.3.6.1.9.2.1", Value::Integer(6)),
                ("1.3.6.1.9.2.2", Value::Integer(99)),
                ("1.3.6.1.9.3.1", Value::OctetString(vec![0x80, 0x40])),
                ("1.3.6.1.9.4.1", Value::OctetString(b"42%".to_vec())),
                ("1.3.6.1.9.4.2", Value::OctetString(b"n/a".to_vec())),
                ("1.3.6.1.9.5.1", Value::Integer(1)),
                ("1.3.6.1.9.6.1", Value::Counter64((1 << 53) + 3)),
            ],
        );
        let all: Vec<String> = fams.iter().flat_map(series).collect();
        assert_eq!(
            all,
            [
                "st{i=1,st=down} 1",
                "st{i=1,st=up} 0",
                "kind_info{i=1,kind=ethernet} 1",
                "kind_info{i=2,kind=99} 1",
                "alarm{alarm=power,i=1} 1",
                "alarm{alarm=far,i=1} 1",
                "loadPercent{i=1} 0.42",
                // An EnumAsInfo that is its own table's index: no series (today's code).
                // Counter64 wrapped at 2^53, snmp_exporter's default.
                "big{i=1} 3",
            ]
        );
        assert_eq!(fams.last().unwrap().kind, FamilyType::Unknown);
    }

    #[test]
    fn malformed_suffixes_warn_and_pad() {
        let mut m = metric("mac", "1.3.6.1.9.1", ValueType::Gauge);
        m.indexes = vec![idx("addr", Render::PhysAddress48)];
        let (fams, warnings) = decode(
            Flavor::SnmpExporter,
            vec![m],
            &[("1.3.6.1.9.1.1.2", Value::Integer(5))],
        );
        assert_eq!(series(&fams[0]), ["mac{addr=01:02:00:00:00:00} 5"]);
        assert_eq!(
            warnings,
            ["mac: 1 row(s) with an index shorter than its type (read as zeros)"]
        );
    }

    #[test]
    fn one_series_per_label_set() {
        // A walked column without indexes: every row has the same (empty) labels.
        let mut m = metric("flat", "1.3.6.1.9.1", ValueType::Gauge);
        m.indexes.clear();
        let (fams, _) = decode(
            Flavor::SnmpExporter,
            vec![m],
            &[
                ("1.3.6.1.9.1.1", Value::Integer(1)),
                ("1.3.6.1.9.1.2", Value::Integer(2)),
            ],
        );
        assert_eq!(series(&fams[0]), ["flat{} 1"]);
    }
}
