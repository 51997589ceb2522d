//! One poll of one device: plan what its modules need (each OID once), fetch it, then
//! decode the built-in interfaces and every table module's families.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::config::{Device, Module, ModuleKind};
use crate::metrics::mapping::{self, oids, Interface, InterfaceLabels, SystemInfo};
use crate::snmp::{Oid, SnmpError, Value};
use crate::table::decode::{decode_module, filter_instances, filter_rows, Kept};
use crate::table::fetch::{fetch, get_all, FetchReport, Snmp, WalkSettings};
use crate::table::{Families, Family, Fetched, Flavor, KeptWalks, Plan, TableModule, Warnings};

/// Rows one column may return before octopoll calls the table endless (per column), unless
/// the device sets `max_rows`.
pub const ROW_LIMIT: usize = crate::snmp::DEFAULT_MAX_ROWS_PER_COLUMN;

/// At most one interface in this many lacking 64-bit counters: their 32-bit ones are
/// fetched by GET, not both columns walked. For M such interfaces of N, the GETs take
/// M / 16 requests (two OIDs each, 32 to a request) and the walk about N / 25 (50 rows of
/// the two columns per capped reply): GETs are fewer up to about 60% of the interfaces,
/// and a quarter leaves room for agents that fit less in a reply.
const FEW_32_BIT: usize = 4;

/// What a successful poll read.
#[derive(Debug, Clone, PartialEq)]
pub struct PollData {
    /// The system group (with `if_mib`, or when module rules need the device's identity).
    pub system: Option<SystemInfo>,
    /// Interfaces (with `if_mib`), sorted by ifIndex.
    pub interfaces: Vec<Interface>,
    /// The table modules' series, merged by family, each series once.
    pub families: Vec<Family>,
    /// Modules added by `module_rules` at this poll, by name.
    pub rule_modules: Vec<String>,
    /// SNMP requests this poll sent.
    pub requests: u32,
    /// Varbinds it fetched.
    pub varbinds: usize,
    /// Whether the label columns were walked at this poll, and why.
    pub refresh: Refresh,
    /// Things the agent did wrong that did not fail the poll.
    pub warnings: Vec<String>,
}

/// What a device's polls keep from one to the next.
#[derive(Debug, Default)]
pub struct PollState {
    /// sysObjectID and sysDescr seen at the latest poll (for module rules).
    identity: Option<(Option<Oid>, String)>,
    /// The plan for the latest module set (rebuilt when the set changes).
    plan: Option<CachedPlan>,
    /// Label columns from the latest refresh, and what tells when they may be stale.
    labels: Option<KeptLabels>,
}

#[derive(Debug)]
struct CachedPlan {
    /// The modules, by address, the plan was made for.
    key: Vec<usize>,
    tables: Vec<Arc<TableModule>>,
    plan: Plan,
    if_mib: bool,
    /// The plan's value roots and label roots.
    fast: Vec<Oid>,
    slow: Vec<Oid>,
}

/// Label and inventory columns walked at a refresh, reused by the polls after it until
/// they are due again or may be stale.
#[derive(Debug)]
struct KeptLabels {
    /// The plan they were walked for.
    key: Vec<usize>,
    /// The label columns, for table modules' lookups (none without table modules).
    data: KeptWalks,
    /// Polls since the refresh.
    age: u32,
    /// sysUpTime at the latest poll: going back means the device rebooted.
    uptime: Option<u32>,
    /// ifNumber.0 and ifTableLastChange.0 at the refresh.
    markers: Vec<Option<Value>>,
    /// ifIndexes the kept interface columns know, sorted.
    if_indexes: Vec<u32>,
    /// The interfaces of the refresh, labels only: kept polls label their values from
    /// these instead of decoding the kept columns again.
    interfaces: Arc<Vec<InterfaceLabels>>,
    /// Rows lookups did not find at the refresh (legitimately absent, e.g. a CPU whose
    /// entity index is 0): a miss among them is not a sign of staleness.
    misses: HashSet<Oid>,
}

/// Why the kept labels were walked again at this poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Kept labels were used (no refresh).
    Kept,
    /// None kept yet, or the device's modules changed.
    First,
    /// The refresh cadence came round.
    Due,
    /// sysUpTime went back.
    Reboot,
    /// ifNumber or ifTableLastChange changed.
    TableChanged,
    /// A value column has an ifIndex the kept labels do not know.
    NewIndex,
    /// A lookup missed a row it had not missed at the refresh.
    NewLookupMiss,
}

/// The device's modules: listed ones, then those its rules add for `identity`.
fn modules_for(
    device: &Device,
    identity: Option<&(Option<Oid>, String)>,
) -> (Vec<Arc<Module>>, Vec<String>) {
    let mut out = device.modules.clone();
    let mut ruled = Vec::new();
    if let Some((oid, descr)) = identity {
        for rule in &device.module_rules {
            if rule.matches(oid.as_ref(), descr) {
                for m in &rule.modules {
                    if !out.iter().any(|x| Arc::ptr_eq(x, m) || x.name == m.name) {
                        ruled.push(m.name.clone());
                        out.push(m.clone());
                    }
                }
            }
        }
    }
    (out, ruled)
}

impl PollState {
    fn plan_for(&mut self, modules: &[Arc<Module>], identity_needed: bool) -> &CachedPlan {
        let key: Vec<usize> = modules.iter().map(|m| Arc::as_ptr(m) as usize).collect();
        if self.plan.as_ref().is_none_or(|p| p.key != key) {
            let mut tables = Vec::new();
            let mut if_mib = false;
            for m in modules {
                match &m.kind {
                    ModuleKind::IfMib => if_mib = true,
                    ModuleKind::Table(t) => tables.push(t.clone()),
                }
            }
            let roots: Vec<(Oid, bool)> = if if_mib {
                oids::if_columns()
                    .iter()
                    .cloned()
                    .zip(oids::IF_LABEL_COLUMNS)
                    .collect()
            } else {
                Vec::new()
            };
            // sysUpTime always (a reboot invalidates kept labels); the rest of the system
            // group with if_mib or module rules; ifNumber and ifTableLastChange with if_mib.
            let mut instances: Vec<Oid> = Vec::new();
            if if_mib || identity_needed {
                instances.extend_from_slice(oids::system());
            } else {
                instances.push(oids::system()[2].clone());
            }
            if if_mib {
                instances.extend_from_slice(oids::if_change_markers());
            }
            let plan = Plan::new(&tables, &roots, &instances);
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            for (r, is_slow) in plan.roots.iter().zip(&plan.slow) {
                if *is_slow {
                    slow.push(r.clone());
                } else {
                    fast.push(r.clone());
                }
            }
            self.plan = Some(CachedPlan {
                key,
                tables,
                plan,
                if_mib,
                fast,
                slow,
            });
        }
        self.plan.as_ref().expect("just set")
    }
}

/// The identity module rules look at: sysObjectID and sysDescr as the agent sent them.
fn identity(fetched: &Fetched) -> (Option<Oid>, String) {
    let sys = oids::system();
    let oid = match fetched.get(&sys[1]) {
        Some(Value::ObjectId(o)) => Some(o.clone()),
        _ => None,
    };
    let descr = fetched
        .get(&sys[0])
        .map(|v| v.to_label())
        .unwrap_or_default();
    (oid, descr)
}

fn uptime(fetched: &Fetched) -> Option<u32> {
    match fetched.get(&oids::system()[2]) {
        Some(Value::TimeTicks(t)) => Some(*t),
        _ => None,
    }
}

fn markers(fetched: &Fetched) -> Vec<Option<Value>> {
    oids::if_change_markers()
        .iter()
        .map(|o| fetched.get(o).cloned())
        .collect()
}

/// Adds the ifIndexes of the interface rows under `columns` (the last arc of each row) to
/// `out`, kept sorted and without repeats (a sorted vector: a hash set's SipHash was a
/// tenth of a poll's instructions, eight columns of every interface every poll). The
/// columns of one table mostly have the same rows: those are found in order, and only
/// new ones cost a sort.
fn if_indexes<'a>(rows: impl Iterator<Item = (&'a Oid, &'a Value)>, out: &mut Vec<u32>) {
    let known = out.len();
    let mut at = 0;
    for i in rows.filter_map(|(oid, _)| oid.arcs().last().copied()) {
        // Rows come in ifIndex order: look from where the last one was found.
        match out[at..known].iter().position(|&k| k >= i) {
            Some(p) if out[at + p] == i => at += p,
            _ => out.push(i),
        }
    }
    if out.len() > known {
        out.sort_unstable();
        out.dedup();
    }
}

/// The ifIndexes of this poll's interface value columns, sorted.
fn value_if_indexes(fetched: &Fetched) -> Vec<u32> {
    let mut seen = Vec::new();
    for (root, label) in oids::if_columns().iter().zip(oids::IF_LABEL_COLUMNS) {
        if !label {
            if_indexes(fetched.this_poll_under(root), &mut seen);
        }
    }
    seen
}

/// True when every element of sorted `a` is in sorted `b`.
fn sorted_subset(a: &[u32], b: &[u32]) -> bool {
    let mut rest = b;
    a.iter().all(|x| match rest.binary_search(x) {
        Ok(i) => {
            rest = &rest[i..];
            true
        }
        Err(_) => false,
    })
}

/// Whether labels kept from an earlier poll may be wrong now, judged from this poll's
/// values: the device rebooted (sysUpTime went back), its interface table changed
/// (ifNumber, ifTableLastChange), or a value column has an ifIndex they do not know.
fn stale(kept: &KeptLabels, fetched: &Fetched, if_mib: bool, values: &[u32]) -> Option<Refresh> {
    if let (Some(before), Some(now)) = (kept.uptime, uptime(fetched)) {
        // TimeTicks wrap after 497 days: a wrap lands near zero from near the top.
        if now < before && before - now < u32::MAX / 2 {
            return Some(Refresh::Reboot);
        }
    }
    if !if_mib {
        return None;
    }
    if markers(fetched) != kept.markers {
        return Some(Refresh::TableChanged);
    }
    (!sorted_subset(values, &kept.if_indexes)).then_some(Refresh::NewIndex)
}

/// Polls `device` once through `session`.
pub async fn poll<S: Snmp>(
    session: &S,
    device: &Device,
    state: &mut PollState,
) -> Result<PollData, SnmpError> {
    let settings = WalkSettings {
        max_repetitions: device.max_repetitions,
        row_limit: device.max_rows as usize,
    };
    let rules = !device.module_rules.is_empty();
    let mut fetched = Fetched::default();
    let mut report = FetchReport::default();

    let (mut modules, mut ruled) = modules_for(device, state.identity.as_ref());
    // Labels are walked with the values when due; otherwise the kept ones are used.
    let mut refresh = {
        let key = state.plan_for(&modules, rules).key.clone();
        match &state.labels {
            Some(k) if k.key != key => Refresh::First,
            Some(k) if k.age + 1 >= device.refresh => Refresh::Due,
            Some(_) => Refresh::Kept,
            None => Refresh::First,
        }
    };
    {
        let p = state.plan_for(&modules, rules);
        let roots = if refresh == Refresh::Kept {
            &p.fast
        } else {
            &p.plan.roots
        };
        fetch(
            session,
            roots,
            &p.plan.instances,
            settings,
            &mut fetched,
            &mut report,
        )
        .await?;
    }
    if rules {
        // The rules may choose other modules than last time (first poll, device replaced):
        // fetch what those need now, in the same poll, labels included.
        let seen = identity(&fetched);
        if state.identity.as_ref() != Some(&seen) {
            state.identity = Some(seen);
            let (m, r) = modules_for(device, state.identity.as_ref());
            if m.len() != modules.len() || r != ruled {
                modules = m;
                ruled = r;
                refresh = Refresh::First;
                let p = state.plan_for(&modules, rules);
                fetch(
                    session,
                    &p.plan.roots,
                    &p.plan.instances,
                    settings,
                    &mut fetched,
                    &mut report,
                )
                .await?;
            }
        }
    }
    let if_mib = state.plan_for(&modules, rules).if_mib;
    let values = value_if_indexes(&fetched);
    if refresh == Refresh::Kept {
        let tables = !state.plan_for(&modules, rules).tables.is_empty();
        let kept = state.labels.as_ref().expect("kept labels");
        match stale(kept, &fetched, if_mib, &values) {
            Some(why) => {
                refresh = why;
                let p = state.plan_for(&modules, rules);
                fetch(session, &p.slow, &[], settings, &mut fetched, &mut report).await?;
            }
            // The kept columns as rows, for the table modules' lookups; the built-in
            // interfaces take their labels from what the refresh decoded.
            None if tables => fetched.set_base(Some(Arc::new(kept.data.expand()))),
            None => {}
        }
    }

    let (mut data, misses) = loop {
        // An interface the kept labels name but no value column has is gone: kept polls
        // show the interfaces of their value columns.
        let labelled = match (&state.labels, refresh) {
            (Some(k), Refresh::Kept) => Some(k.interfaces.clone()),
            _ => None,
        };
        let (data, misses) = decode(
            session,
            state,
            &modules,
            rules,
            settings,
            labelled.as_deref().map(Vec::as_slice),
            &mut fetched,
            &mut report,
        )
        .await?;
        if refresh == Refresh::Kept {
            let kept = state.labels.as_ref().expect("kept labels");
            if !misses.is_subset(&kept.misses) {
                // A lookup missed a row it had not: maybe new rows whose labels are not
                // kept yet. Walk the labels now and decode again (once: no longer Kept).
                refresh = Refresh::NewLookupMiss;
                fetched.set_base(None);
                let p = state.plan_for(&modules, rules);
                fetch(session, &p.slow, &[], settings, &mut fetched, &mut report).await?;
                continue;
            }
        }
        break (data, misses);
    };

    // Keep what was walked for the polls to come, or age what is kept.
    data.varbinds = fetched.len();
    let now_uptime = uptime(&fetched);
    if refresh == Refresh::Kept {
        let kept = state.labels.as_mut().expect("kept labels");
        kept.age += 1;
        kept.uptime = now_uptime.or(kept.uptime);
    } else {
        let p = state.plan_for(&modules, rules);
        let key = p.key.clone();
        // The ifIndexes the kept labels know: this refresh's interfaces.
        let mut known = values;
        for (root, label) in oids::if_columns().iter().zip(oids::IF_LABEL_COLUMNS) {
            if label && p.if_mib {
                if_indexes(fetched.this_poll_under(root), &mut known);
            }
        }
        let marks = markers(&fetched);
        let slow = p.slow.clone();
        // The columns themselves only for table modules' lookups: the built-in
        // interfaces keep what this refresh decoded of them.
        let data_kept = if p.tables.is_empty() {
            KeptWalks::default()
        } else {
            KeptWalks::keep(fetched.take_walks(&slow))
        };
        state.labels = (!slow.is_empty()).then(|| KeptLabels {
            key,
            data: data_kept,
            age: 0,
            uptime: now_uptime,
            markers: marks,
            if_indexes: known,
            interfaces: Arc::new(data.interfaces.iter().map(InterfaceLabels::of).collect()),
            misses,
        });
    }
    data.rule_modules = ruled;
    data.refresh = refresh;
    data.requests = report.requests;
    data.warnings = std::mem::take(&mut report.warnings);
    Ok(data)
}

/// Filters' rows, the built-in interfaces (with their 32-bit fallback) and every table
/// module's families, from what is fetched; also the lookups' misses. On a poll of kept
/// labels, `labelled` holds the interfaces of the refresh, whose labels the built-in
/// interfaces take.
// The poll's parts, each needed here and none worth a struct of its own.
#[allow(clippy::too_many_arguments)]
async fn decode<S: Snmp>(
    session: &S,
    state: &mut PollState,
    modules: &[Arc<Module>],
    rules: bool,
    settings: WalkSettings,
    labelled: Option<&[InterfaceLabels]>,
    fetched: &mut Fetched,
    report: &mut FetchReport,
) -> Result<(PollData, HashSet<Oid>), SnmpError> {
    let p = state.plan_for(modules, rules);
    // Filters: the kept rows of their targets, fetched one by one.
    let kept: Vec<Kept> = p.tables.iter().map(|t| filter_rows(t, fetched)).collect();
    let mut wanted: Vec<Oid> = kept.iter().flat_map(filter_instances).collect();
    wanted.retain(|o| !fetched.has(o));
    if !wanted.is_empty() {
        get_all(session, &wanted, fetched, report).await?;
    }
    let mut data = PollData::default();
    if p.if_mib || rules {
        data.system = Some(SystemInfo::from_fetched(fetched));
    }
    if p.if_mib {
        let mut ifaces = match labelled {
            Some(l) => mapping::interfaces_with_labels(fetched, l),
            None => mapping::interfaces_from(fetched),
        };
        let lacking: Vec<u32> = ifaces
            .iter()
            .filter(|i| i.lacks_hc())
            .map(|i| i.index)
            .collect();
        if !lacking.is_empty() {
            if lacking.len() * FEW_32_BIT <= ifaces.len() {
                // A few interfaces without 64-bit counters (a switch's management or stack
                // ports): their two counters by GET, not both whole columns walked.
                let wanted: Vec<Oid> = lacking
                    .iter()
                    .flat_map(|&i| oids::if_counters32().iter().map(move |c| c.join(&[i])))
                    .collect();
                get_all(session, &wanted, fetched, report).await?;
            } else {
                fetch(
                    session,
                    oids::if_counters32(),
                    &[],
                    settings,
                    fetched,
                    report,
                )
                .await?;
            }
            mapping::apply_counters32(&mut ifaces, fetched);
        }
        data.interfaces = ifaces;
    }
    let mut families = Families::default();
    let mut warnings = Warnings::default();
    for ((t, vis), kept) in p.tables.iter().zip(&p.plan.visible).zip(&kept) {
        decode_module(t, vis, kept, fetched, &mut families, &mut warnings);
        if t.flavor == Flavor::Octopoll {
            for m in t.metrics.iter().filter(|m| !m.walk) {
                if fetched.get(&m.oid).is_none() {
                    report
                        .warnings
                        .push(format!("{} ({}): not returned by the agent", m.name, m.oid));
                }
            }
        }
    }
    data.families = families.finish(builtin_series(&data));
    report.warnings.extend(warnings.lines());
    Ok((data, warnings.misses))
}

impl Default for PollData {
    fn default() -> Self {
        PollData {
            system: None,
            interfaces: Vec::new(),
            families: Vec::new(),
            rule_modules: Vec::new(),
            requests: 0,
            varbinds: 0,
            refresh: Refresh::First,
            warnings: Vec::new(),
        }
    }
}

/// Tells whether the built-in module already exposes a series (`sysUpTime`, and the
/// interface gauges under the same labels), so a module that reads the same objects does
/// not expose it a second time.
fn builtin_series(data: &PollData) -> impl Fn(&str, &[(Arc<str>, String)]) -> bool + '_ {
    let by_index: HashMap<&str, &Interface> =
        data.interfaces.iter().map(|i| (&*i.labels[0], i)).collect();
    let uptime = data.system.as_ref().is_some_and(|s| s.sys_uptime.is_some());
    move |name, labels| match name {
        "sysUpTime" => uptime && labels.is_empty(),
        "ifOperStatus" | "ifAdminStatus" | "ifHighSpeed" => match labels {
            [(a, alias), (d, descr), (i, index), (n, name)]
                if &**a == "ifAlias"
                    && &**d == "ifDescr"
                    && &**i == "ifIndex"
                    && &**n == "ifName" =>
            {
                by_index.get(index.as_str()).is_some_and(|iface| {
                    *iface.labels[1] == **name
                        && *iface.labels[2] == **descr
                        && *iface.labels[3] == **alias
                })
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    //! The label cadence against an in-memory agent whose tables change between polls:
    //! kept labels are used only while nothing says they may be stale, and every series
    //! carries the right label on the very poll that first sees a change.

    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    #[test]
    fn if_indexes_are_kept_sorted_once_each_and_subsets_judged() {
        let col = |root: &str, idx: &[u32]| -> Vec<(Oid, Value)> {
            idx.iter()
                .map(|i| (format!("{root}.{i}").parse().unwrap(), Value::Integer(1)))
                .collect()
        };
        let mut out = Vec::new();
        let a = col("1.3.6.1.2.1.2.2.1.8", &[1, 2, 5, 9]);
        if_indexes(a.iter().map(|(o, v)| (o, v)), &mut out);
        assert_eq!(out, [1, 2, 5, 9]);
        // The same rows again, a column with one more and one out of order.
        if_indexes(a.iter().map(|(o, v)| (o, v)), &mut out);
        let b = col("1.3.6.1.2.1.2.2.1.7", &[3, 1, 10]);
        if_indexes(b.iter().map(|(o, v)| (o, v)), &mut out);
        assert_eq!(out, [1, 2, 3, 5, 9, 10]);
        let c = col("1.3.6.1.2.1.2.2.1.7", &[11, 12]);
        if_indexes(c.iter().map(|(o, v)| (o, v)), &mut out);
        assert_eq!(out, [1, 2, 3, 5, 9, 10, 11, 12]);
        assert!(sorted_subset(&[], &out));
        assert!(sorted_subset(&[1, 9, 12], &out));
        assert!(!sorted_subset(&[1, 4], &out));
        assert!(!sorted_subset(&[13], &out));
        assert!(!sorted_subset(&[1], &[]));
    }

    /// An agent over a sorted MIB that records the columns each request asks for, and the
    /// instances each GET asks for.
    #[derive(Default)]
    struct Agent {
        mib: Mutex<BTreeMap<Oid, Value>>,
        asked: Mutex<Vec<Oid>>,
        got: Mutex<Vec<Oid>>,
    }

    fn o(s: &str) -> Oid {
        s.parse().unwrap()
    }

    impl Agent {
        fn set(&self, oid: &str, v: Value) {
            self.mib.lock().unwrap().insert(o(oid), v);
        }
        /// One switch: `names[i]` is the interface with ifIndex `first + i`.
        fn interfaces(&self, first: u32, names: &[&str], uptime: u32, last_change: u32) {
            let mut mib = self.mib.lock().unwrap();
            mib.retain(|k, _| {
                !k.starts_with(&o("1.3.6.1.2.1.2")) && !k.starts_with(&o("1.3.6.1.2.1.31"))
            });
            drop(mib);
            self.set("1.3.6.1.2.1.1.3.0", Value::TimeTicks(uptime));
            self.set("1.3.6.1.2.1.2.1.0", Value::Integer(names.len() as i64));
            self.set("1.3.6.1.2.1.31.1.5.0", Value::TimeTicks(last_change));
            for (i, n) in names.iter().enumerate() {
                let idx = first + i as u32;
                let col = |c: &str| format!("{c}.{idx}");
                self.set(&col("1.3.6.1.2.1.2.2.1.1"), Value::Integer(i64::from(idx)));
                self.set(
                    &col("1.3.6.1.2.1.2.2.1.2"),
                    Value::OctetString(n.as_bytes().to_vec()),
                );
                self.set(&col("1.3.6.1.2.1.2.2.1.8"), Value::Integer(1));
                self.set(
                    &col("1.3.6.1.2.1.31.1.1.1.1"),
                    Value::OctetString(n.as_bytes().to_vec()),
                );
                self.set(
                    &col("1.3.6.1.2.1.31.1.1.1.6"),
                    Value::Counter64(u64::from(idx) * 1000),
                );
                self.set(
                    &col("1.3.6.1.2.1.31.1.1.1.10"),
                    Value::Counter64(u64::from(idx)),
                );
            }
        }
        fn next(&self, oid: &Oid) -> (Oid, Value) {
            self.mib
                .lock()
                .unwrap()
                .range::<Oid, _>((std::ops::Bound::Excluded(oid), std::ops::Bound::Unbounded))
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap_or((oid.clone(), Value::EndOfMibView))
        }
        /// Whether the latest poll asked for a column under `prefix`.
        fn asked_for(&self, prefix: &str) -> bool {
            let p = o(prefix);
            self.asked.lock().unwrap().iter().any(|a| a.starts_with(&p))
        }
    }

    impl crate::snmp::Requester for Agent {
        fn is_v1(&self) -> bool {
            false
        }
        async fn get_bulk(
            &self,
            oids: &[Oid],
            nr: u32,
            reps: u32,
        ) -> Result<Vec<(Oid, Value)>, SnmpError> {
            self.asked
                .lock()
                .unwrap()
                .extend(oids.iter().skip(nr as usize).cloned());
            let mut out: Vec<(Oid, Value)> =
                oids[..nr as usize].iter().map(|x| self.next(x)).collect();
            let mut cursors: Vec<Oid> = oids[nr as usize..].to_vec();
            for _ in 0..reps {
                for c in cursors.iter_mut() {
                    let (k, v) = self.next(c);
                    *c = k.clone();
                    out.push((k, v));
                }
            }
            Ok(out)
        }
        async fn get_next(&self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
            Ok(oids.iter().map(|x| self.next(x)).collect())
        }
    }

    impl Snmp for Agent {
        async fn get(&self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
            self.got.lock().unwrap().extend(oids.iter().cloned());
            let mib = self.mib.lock().unwrap();
            Ok(oids
                .iter()
                .map(|x| {
                    (
                        x.clone(),
                        mib.get(x).cloned().unwrap_or(Value::NoSuchInstance),
                    )
                })
                .collect())
        }
    }

    fn device(extra: &str) -> Arc<Device> {
        let text = format!(
            "auths: {{v2: {{version: 2c, community: public}}}}\n\
             defaults: {{auth: v2, refresh: 3}}\n{extra}\
             devices:\n  - {{name: d, address: 127.0.0.1}}\n"
        );
        let c = crate::config::load_str(&text, std::path::Path::new("t.yml")).unwrap();
        c.devices[0].clone()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// ifIndex → ifName of the poll's interfaces.
    fn names(d: &PollData) -> Vec<(u32, String)> {
        d.interfaces
            .iter()
            .map(|i| (i.index, i.labels[1].to_string()))
            .collect()
    }

    fn poll_once(agent: &Agent, dev: &Device, state: &mut PollState) -> PollData {
        agent.asked.lock().unwrap().clear();
        agent.got.lock().unwrap().clear();
        block_on(poll(agent, dev, state)).unwrap()
    }

    const IF_NAME: &str = "1.3.6.1.2.1.31.1.1.1.1";

    #[test]
    fn a_few_interfaces_without_64_bit_counters_get_theirs_by_get_many_by_a_walk() {
        let names: Vec<String> = (1..=8).map(|i| format!("Gi0/{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let (in32, out32) = ("1.3.6.1.2.1.2.2.1.10", "1.3.6.1.2.1.2.2.1.16");
        // `without` of the 8 interfaces (ifIndex 1..) have 32-bit octet counters only.
        let agent_with = |without: &[u32]| {
            let agent = Agent::default();
            agent.interfaces(1, &names, 1000, 5);
            for i in 1..=8u32 {
                agent.set(&format!("{in32}.{i}"), Value::Counter32(i * 10));
                agent.set(&format!("{out32}.{i}"), Value::Counter32(i * 20));
            }
            for i in without {
                let mut mib = agent.mib.lock().unwrap();
                mib.remove(&o(&format!("1.3.6.1.2.1.31.1.1.1.6.{i}")));
                mib.remove(&o(&format!("1.3.6.1.2.1.31.1.1.1.10.{i}")));
            }
            agent
        };
        let dev = device("");
        // (ifIndex, ifHCInOctets, ifInOctets, ifOutOctets) of each interface.
        type Counters = (u32, Option<u64>, Option<u64>, Option<u64>);
        let counters = |d: &PollData| -> Vec<Counters> {
            d.interfaces
                .iter()
                .map(|i| (i.index, i.hc_in, i.in32, i.out32))
                .collect()
        };
        // Two of eight: their four instances by one GET, neither column walked.
        let agent = agent_with(&[3, 7]);
        let mut st = PollState::default();
        for n in 1..=3 {
            let d = poll_once(&agent, &dev, &mut st);
            assert!(
                !agent.asked_for(in32) && !agent.asked_for(out32),
                "poll {n}"
            );
            let got = agent.got.lock().unwrap().clone();
            let want: Vec<Oid> = ["10.3", "16.3", "10.7", "16.7"]
                .iter()
                .map(|c| o(&format!("1.3.6.1.2.1.2.2.1.{c}")))
                .collect();
            assert_eq!(got, want, "poll {n}");
            for (idx, hc, i32_, o32) in counters(&d) {
                if idx == 3 || idx == 7 {
                    assert_eq!(
                        (hc, i32_, o32),
                        (None, Some(u64::from(idx) * 10), Some(u64::from(idx) * 20))
                    );
                } else {
                    assert_eq!((hc, i32_, o32), (Some(u64::from(idx) * 1000), None, None));
                }
            }
        }
        // Three of eight (more than one in four): both columns walked, no GET.
        let agent = agent_with(&[2, 4, 6]);
        let mut st = PollState::default();
        let d = poll_once(&agent, &dev, &mut st);
        assert!(agent.asked_for(in32) && agent.asked_for(out32));
        assert!(agent.got.lock().unwrap().is_empty());
        let lacking: Vec<_> = counters(&d).into_iter().filter(|c| c.1.is_none()).collect();
        assert_eq!(
            lacking,
            [2u32, 4, 6].map(|i| (i, None, Some(u64::from(i) * 10), Some(u64::from(i) * 20)))
        );
    }

    #[test]
    fn labels_are_walked_on_their_cadence() {
        let agent = Agent::default();
        agent.interfaces(1, &["Gi0/1", "Gi0/2"], 1000, 5);
        let dev = device("");
        let mut st = PollState::default();
        let first = poll_once(&agent, &dev, &mut st);
        assert_eq!(first.refresh, Refresh::First);
        assert!(agent.asked_for(IF_NAME));
        let full = first.varbinds;
        for n in 2..=3 {
            let d = poll_once(&agent, &dev, &mut st);
            assert_eq!(d.refresh, Refresh::Kept, "poll {n}");
            assert!(!agent.asked_for(IF_NAME), "poll {n} walked the names again");
            assert_eq!(names(&d), names(&first), "poll {n}");
            assert!(
                d.varbinds < full,
                "poll {n}: {} of {full} varbinds",
                d.varbinds
            );
            // Values are fresh at every poll.
            assert_eq!(d.interfaces[1].hc_in, Some(2000));
        }
        let d = poll_once(&agent, &dev, &mut st);
        assert_eq!(
            d.refresh,
            Refresh::Due,
            "refresh: 3 walks the labels every third poll"
        );
        assert!(agent.asked_for(IF_NAME));
    }

    #[test]
    fn a_change_is_seen_on_the_poll_that_first_shows_it() {
        let agent = Agent::default();
        agent.interfaces(1, &["Gi0/1", "Gi0/2"], 1000, 5);
        let dev = device("");
        let mut st = PollState::default();
        poll_once(&agent, &dev, &mut st);

        // Renumbered in place (a line card swapped), ifTableLastChange moved.
        agent.interfaces(1, &["Gi0/2", "Gi0/1"], 2000, 1900);
        let d = poll_once(&agent, &dev, &mut st);
        assert_eq!(d.refresh, Refresh::TableChanged);
        assert_eq!(names(&d), [(1, "Gi0/2".into()), (2, "Gi0/1".into())]);

        // New ifIndexes, markers unchanged (an agent that does not keep them): the values
        // name interfaces the kept labels do not know.
        agent.interfaces(1001, &["Gi0/2", "Gi0/1"], 3000, 1900);
        let d = poll_once(&agent, &dev, &mut st);
        assert_eq!(d.refresh, Refresh::NewIndex);
        assert_eq!(names(&d), [(1001, "Gi0/2".into()), (1002, "Gi0/1".into())]);

        // A reboot (sysUpTime went back) walks the labels again even if nothing else says so.
        agent.set(
            "1.3.6.1.2.1.31.1.1.1.1.1001",
            Value::OctetString(b"renamed".to_vec()),
        );
        agent.set("1.3.6.1.2.1.1.3.0", Value::TimeTicks(10));
        let d = poll_once(&agent, &dev, &mut st);
        assert_eq!(d.refresh, Refresh::Reboot);
        assert_eq!(names(&d)[0], (1001, "renamed".into()));

        // An interface gone from the values is not shown from the kept labels.
        agent.set("1.3.6.1.2.1.1.3.0", Value::TimeTicks(20));
        for col in [
            "1.3.6.1.2.1.2.2.1.8",
            "1.3.6.1.2.1.31.1.1.1.6",
            "1.3.6.1.2.1.31.1.1.1.10",
        ] {
            agent.mib.lock().unwrap().remove(&o(&format!("{col}.1002")));
        }
        let d = poll_once(&agent, &dev, &mut st);
        assert_eq!(d.refresh, Refresh::Kept);
        assert_eq!(names(&d), [(1001, "renamed".into())]);
    }

    #[test]
    fn a_module_lookup_missing_a_new_row_walks_the_labels_again() {
        let agent = Agent::default();
        agent.set("1.3.6.1.2.1.1.3.0", Value::TimeTicks(100));
        agent.set("1.3.6.1.4.1.9.1.1.5.1", Value::Integer(50));
        agent.set(
            "1.3.6.1.4.1.9.1.1.9.1",
            Value::OctetString(b"fan 1".to_vec()),
        );
        let c = crate::config::load_str(
            "auths: {v2: {version: 2c, community: public}}\ndefaults: {auth: v2, refresh: 3}\n\
             modules:\n  fans:\n    - {name: fanRpm, oid: 1.3.6.1.4.1.9.1.1.5, type: gauge, walk: true,\n\
             \x20      indexes: [{labelname: fan, type: gauge}],\n\
             \x20      lookups: [{labels: [fan], labelname: fanName, oid: 1.3.6.1.4.1.9.1.1.9, type: DisplayString}]}\n\
             devices:\n  - {name: d, address: h, modules: [fans]}\n",
            std::path::Path::new("t.yml"),
        )
        .unwrap();
        let dev = c.devices[0].clone();
        let mut st = PollState::default();
        let label = |d: &PollData| -> Vec<String> {
            d.families[0]
                .samples
                .iter()
                .map(|s| {
                    s.labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect()
        };
        assert_eq!(
            label(&poll_once(&agent, &dev, &mut st)),
            ["fan=1,fanName=fan 1"]
        );
        assert_eq!(poll_once(&agent, &dev, &mut st).refresh, Refresh::Kept);
        // A new fan: its name is not among the kept labels.
        agent.set("1.3.6.1.4.1.9.1.1.5.2", Value::Integer(60));
        agent.set(
            "1.3.6.1.4.1.9.1.1.9.2",
            Value::OctetString(b"fan 2".to_vec()),
        );
        let d = poll_once(&agent, &dev, &mut st);
        assert_eq!(d.refresh, Refresh::NewLookupMiss);
        assert_eq!(label(&d), ["fan=1,fanName=fan 1", "fan=2,fanName=fan 2"]);
    }
}
