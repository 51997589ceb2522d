//! What a device's modules need from it, merged: each OID fetched once per poll.
//!
//! A module's `walk` list (snmp_exporter's) names subtrees, but only the columns its
//! metrics, lookups and address-type sources read are needed: those are walked, side by
//! side in one GETBULK, instead of whole tables one after the other. The output is the same
//! (a metric only ever reads rows under its own OID), the varbinds fewer. Roots under
//! another root and instances under a root are dropped, so modules that share a table
//! share its walk.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use super::model::{Render, TableModule, ValueType};
use crate::snmp::Oid;

/// What one module may see of the fetched data: snmp_exporter's `walk` and `get` lists
/// after its filters took their targets out (rows of a target are then fetched one by one
/// for the indexes the filter keeps).
#[derive(Debug, Clone)]
pub struct Visible {
    /// Subtrees the module walks.
    pub walks: Vec<Oid>,
    /// Instances the module GETs.
    pub gets: HashSet<Oid>,
    /// Filter targets whose kept rows come on top (decided per poll).
    pub targets: Vec<Oid>,
    /// The metrics that can match (positions in the module): one under another metric's
    /// OID never does (snmp_exporter matches the shortest prefix), and of two with the
    /// same OID the last one wins.
    pub live: Vec<usize>,
}

impl Visible {
    /// True when the module would have fetched `oid` itself; `kept(target, arc)` says
    /// whether a filter keeps row `arc` of `target`.
    pub fn sees(&self, oid: &Oid, kept: impl Fn(&Oid, u32) -> bool) -> bool {
        if self.walks.iter().any(|w| oid.starts_with(w)) || self.gets.contains(oid) {
            return true;
        }
        self.targets.iter().any(|t| match oid.suffix_after(t) {
            Some([arc]) => kept(t, *arc),
            _ => false,
        })
    }

    /// True when every OID under `prefix` is visible (the common case: a metric inside a
    /// walked table), so rows need no check each.
    pub fn sees_all(&self, prefix: &Oid) -> bool {
        self.walks.iter().any(|w| prefix.starts_with(w))
    }
}

/// The merged needs of a device's modules.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Subtrees to walk; none under another.
    pub roots: Vec<Oid>,
    /// Per root: only labels are read from it (lookup columns, interface names), so it
    /// may be walked on a slower cadence than the values.
    pub slow: Vec<bool>,
    /// Instances to fetch, outside every root (in request order).
    pub instances: Vec<Oid>,
    /// Per table module (in the device's order): what it may see.
    pub visible: Vec<Visible>,
    /// Filter columns, walked in the first pass (they are also in `roots`).
    pub filter_columns: Vec<Oid>,
}

/// The object one below `oid`'s last arc (`…5` → `…4`): where snmp_exporter looks for the
/// address type of an InetAddress column.
pub fn previous_column(oid: &Oid) -> Option<Oid> {
    let arcs = oid.arcs();
    let (last, head) = arcs.split_last()?;
    let prev = last.checked_sub(1)?;
    let mut v = head.to_vec();
    v.push(prev);
    Some(Oid::from_arcs(v))
}

/// The OIDs whose rows a module's decoding reads, each with whether only labels come from
/// it: metric columns and their address-type columns (values), lookup columns and theirs
/// (labels).
fn read_oids(module: &TableModule) -> Vec<(Oid, bool)> {
    let mut out = Vec::new();
    for m in &module.metrics {
        out.push((m.oid.clone(), false));
        if let ValueType::Text(r) = m.kind {
            if r.is_combined() {
                out.extend(previous_column(&m.oid).map(|o| (o, false)));
            }
        }
        for l in &m.lookups {
            if let Some(oid) = &l.oid {
                out.push((oid.clone(), true));
                if l.kind.is_some_and(Render::is_combined) {
                    out.extend(previous_column(oid).map(|o| (o, true)));
                }
            }
        }
    }
    out
}

/// Drops OIDs under another one of the set; sorted. A root is a label root when every
/// OID that led to it is.
fn minimize(mut roots: Vec<(Oid, bool)>) -> (Vec<Oid>, Vec<bool>) {
    roots.sort();
    let mut out: Vec<Oid> = Vec::with_capacity(roots.len());
    let mut slow: Vec<bool> = Vec::with_capacity(roots.len());
    for (r, is_slow) in roots {
        // Sorted: a prefix comes right before everything under it.
        if let Some(p) = out.last() {
            if r.starts_with(p) {
                let last = slow.last_mut().expect("same length");
                *last &= is_slow;
                continue;
            }
        }
        out.push(r);
        slow.push(is_slow);
    }
    (out, slow)
}

impl Plan {
    /// Merges `extra_roots` (with whether each is a label column) and `extra_instances`
    /// (the built-in module's columns and system group) with what `modules` need.
    pub fn new(
        modules: &[Arc<TableModule>],
        extra_roots: &[(Oid, bool)],
        extra_instances: &[Oid],
    ) -> Plan {
        let mut roots: Vec<(Oid, bool)> = extra_roots.to_vec();
        let mut instances: Vec<Oid> = extra_instances.to_vec();
        let mut visible = Vec::with_capacity(modules.len());
        let mut filter_columns = Vec::new();
        for m in modules {
            let targets: Vec<Oid> = m
                .filters
                .iter()
                .flat_map(|f| f.targets.iter().cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            // snmp_exporter takes a target out of `walk` only where it is listed exactly,
            // and drops every `get` under it.
            let walks: Vec<Oid> = m
                .walk
                .iter()
                .filter(|w| !targets.contains(w))
                .cloned()
                .collect();
            let gets: HashSet<Oid> = m
                .get
                .iter()
                .filter(|g| !targets.iter().any(|t| g.starts_with(t)))
                .cloned()
                .collect();
            for (oid, slow) in read_oids(m) {
                for w in &walks {
                    if oid.starts_with(w) {
                        roots.push((oid.clone(), slow));
                    } else if w.starts_with(&oid) {
                        roots.push((w.clone(), slow));
                    }
                }
            }
            for g in &m.get {
                if gets.contains(g) && m.metrics.iter().any(|x| g.starts_with(&x.oid)) {
                    instances.push(g.clone());
                }
            }
            for f in &m.filters {
                // Evaluated at every poll, so walked at every poll.
                roots.push((f.oid.clone(), false));
                filter_columns.push(f.oid.clone());
            }
            let live = (0..m.metrics.len())
                .filter(|&i| {
                    let oid = &m.metrics[i].oid;
                    !m.metrics.iter().enumerate().any(|(j, o)| {
                        (o.oid != *oid && oid.starts_with(&o.oid)) || (o.oid == *oid && j > i)
                    })
                })
                .collect();
            visible.push(Visible {
                walks,
                gets,
                targets,
                live,
            });
        }
        let (roots, slow) = minimize(roots);
        let mut seen = HashSet::new();
        instances.retain(|i| !roots.iter().any(|r| i.starts_with(r)) && seen.insert(i.clone()));
        Plan {
            roots,
            slow,
            instances,
            visible,
            filter_columns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::model::{Flavor, Lookup, Metric};
    use std::collections::BTreeMap;

    fn o(s: &str) -> Oid {
        s.parse().unwrap()
    }

    fn metric(name: &str, oid: &str, kind: ValueType, lookups: Vec<Lookup>) -> Arc<Metric> {
        Arc::new(Metric {
            name: name.into(),
            oid: o(oid),
            kind,
            help: "".into(),
            walk: true,
            indexes: Vec::new(),
            lookups,
            enum_values: BTreeMap::new(),
            scale: None,
            offset: 0.0,
            regex_extracts: Vec::new(),
            datetime_pattern: None,
            display_hint: None,
        })
    }

    fn module(walk: &[&str], get: &[&str], metrics: Vec<Arc<Metric>>) -> Arc<TableModule> {
        Arc::new(TableModule {
            flavor: Flavor::SnmpExporter,
            walk: walk.iter().map(|w| o(w)).collect(),
            get: get.iter().map(|g| o(g)).collect(),
            metrics,
            filters: Vec::new(),
        })
    }

    #[test]
    fn walks_only_the_columns_metrics_read_and_shares_them() {
        let descr = Lookup {
            labels: vec!["ifIndex".into()],
            label: "ifDescr".into(),
            oid: Some(o("1.3.6.1.2.1.2.2.1.2")),
            kind: Some(Render::DisplayString),
            enum_values: BTreeMap::new(),
            display_hint: None,
        };
        let a = module(
            &["1.3.6.1.2.1.2", "1.3.6.1.2.1.31.1.1"],
            &[],
            vec![
                metric(
                    "ifInErrors",
                    "1.3.6.1.2.1.2.2.1.14",
                    ValueType::Counter,
                    vec![descr.clone()],
                ),
                metric("ifNumber", "1.3.6.1.2.1.2.1", ValueType::Gauge, vec![]),
            ],
        );
        // A second module reading a column of the same table, and a scalar.
        let b = module(
            &["1.3.6.1.2.1.2.2.1.14"],
            &["1.3.6.1.2.1.1.3.0"],
            vec![
                metric("errs", "1.3.6.1.2.1.2.2.1.14", ValueType::Gauge, vec![]),
                metric("up", "1.3.6.1.2.1.1.3", ValueType::Gauge, vec![]),
            ],
        );
        let addr = module(
            &["1.3.6.1.2.1.4.34"],
            &[],
            vec![metric(
                "ipAddressAddr",
                "1.3.6.1.2.1.4.34.1.2",
                ValueType::Text(Render::InetAddress),
                vec![],
            )],
        );
        let p = Plan::new(&[a, b, addr], &[(o("1.3.6.1.2.1.2.2.1.2"), true)], &[]);
        assert_eq!(
            p.roots,
            vec![
                o("1.3.6.1.2.1.2.1"),
                o("1.3.6.1.2.1.2.2.1.2"),
                o("1.3.6.1.2.1.2.2.1.14"),
                o("1.3.6.1.2.1.4.34.1.1"),
                o("1.3.6.1.2.1.4.34.1.2"),
            ]
        );
        assert_eq!(p.instances, vec![o("1.3.6.1.2.1.1.3.0")]);
        // ifDescr is only a lookup (a label) here: a slow root. The rest carry values.
        assert_eq!(p.slow, vec![false, true, false, false, false]);
        assert!(p.visible[0].sees_all(&o("1.3.6.1.2.1.2.2.1.14")));
        assert!(!p.visible[1].sees(&o("1.3.6.1.2.1.2.2.1.2.1"), |_, _| true));
    }

    #[test]
    fn filter_targets_leave_the_walk_and_come_back_by_index() {
        let mut m = (*module(
            &["1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8"],
            &[],
            vec![metric(
                "ifDescr",
                "1.3.6.1.2.1.2.2.1.2",
                ValueType::Gauge,
                vec![],
            )],
        ))
        .clone();
        m.filters.push(crate::table::model::Filter {
            oid: o("1.3.6.1.2.1.2.2.1.8"),
            targets: vec![o("1.3.6.1.2.1.2.2.1.2")],
            values: vec![regex::Regex::new("1").unwrap()],
        });
        let p = Plan::new(&[Arc::new(m)], &[], &[]);
        assert_eq!(p.roots, vec![o("1.3.6.1.2.1.2.2.1.8")]);
        let v = &p.visible[0];
        let keep3 = |_: &Oid, arc: u32| arc == 3;
        assert!(v.sees(&o("1.3.6.1.2.1.2.2.1.2.3"), keep3));
        assert!(!v.sees(&o("1.3.6.1.2.1.2.2.1.2.4"), keep3));
        assert!(!v.sees_all(&o("1.3.6.1.2.1.2.2.1.2")));
    }
}
