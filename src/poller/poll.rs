//! One poll of one device: plan what its modules need (each OID once), fetch it, then
//! decode the built-in interfaces and every table module's families.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{Device, Module, ModuleKind};
use crate::metrics::mapping::{self, oids, Interface, SystemInfo};
use crate::snmp::{Oid, SnmpError};
use crate::table::decode::{decode_module, filter_instances, filter_rows, Kept};
use crate::table::fetch::{fetch, get_all, FetchReport, Snmp, WalkSettings};
use crate::table::{Families, Family, Fetched, Flavor, Plan, TableModule, Warnings};

/// Most varbinds one walk may return before octopoll calls the table endless.
pub const ROW_LIMIT: usize = 200_000;

/// What a successful poll read.
#[derive(Debug, Clone, Default, PartialEq)]
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
}

#[derive(Debug)]
struct CachedPlan {
    /// The modules, by address, the plan was made for.
    key: Vec<usize>,
    tables: Vec<Arc<TableModule>>,
    plan: Plan,
    if_mib: bool,
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
            let roots: &[Oid] = if if_mib { oids::if_columns() } else { &[] };
            let system: &[Oid] = if if_mib || identity_needed {
                oids::system()
            } else {
                &[]
            };
            let plan = Plan::new(&tables, roots, system);
            self.plan = Some(CachedPlan {
                key,
                tables,
                plan,
                if_mib,
            });
        }
        self.plan.as_ref().expect("just set")
    }
}

/// The identity module rules look at: sysObjectID and sysDescr as the agent sent them.
fn identity(fetched: &Fetched) -> (Option<Oid>, String) {
    let sys = oids::system();
    let oid = match fetched.get(&sys[1]) {
        Some(crate::snmp::Value::ObjectId(o)) => Some(o.clone()),
        _ => None,
    };
    let descr = fetched
        .get(&sys[0])
        .map(|v| v.to_label())
        .unwrap_or_default();
    (oid, descr)
}

/// Polls `device` once through `session`.
pub async fn poll<S: Snmp>(
    session: &S,
    device: &Device,
    state: &mut PollState,
) -> Result<PollData, SnmpError> {
    let settings = WalkSettings {
        max_repetitions: device.max_repetitions,
        row_limit: ROW_LIMIT,
    };
    let rules = !device.module_rules.is_empty();
    let mut fetched = Fetched::default();
    let mut report = FetchReport::default();

    let (mut modules, mut ruled) = modules_for(device, state.identity.as_ref());
    {
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
    if rules {
        // The rules may choose other modules than last time (first poll, device replaced):
        // fetch what those need now, in the same poll.
        let seen = identity(&fetched);
        if state.identity.as_ref() != Some(&seen) {
            state.identity = Some(seen);
            let (m, r) = modules_for(device, state.identity.as_ref());
            modules = m;
            ruled = r;
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
    let p = state.plan_for(&modules, rules);

    // Filters: the kept rows of their targets, fetched one by one.
    let kept: Vec<Kept> = p.tables.iter().map(|t| filter_rows(t, &fetched)).collect();
    let wanted: Vec<Oid> = kept.iter().flat_map(filter_instances).collect();
    if !wanted.is_empty() {
        get_all(session, &wanted, &mut fetched, &mut report).await?;
    }

    let mut data = PollData::default();
    if p.if_mib || rules {
        data.system = Some(SystemInfo::from_fetched(&fetched));
    }
    if p.if_mib {
        let mut ifaces = mapping::interfaces_from(&fetched);
        if ifaces.iter().any(Interface::lacks_hc) {
            fetch(
                session,
                oids::if_counters32(),
                &[],
                settings,
                &mut fetched,
                &mut report,
            )
            .await?;
            mapping::apply_counters32(&mut ifaces, &fetched);
        }
        data.interfaces = ifaces;
    }

    let mut families = Families::default();
    let mut warnings = Warnings::default();
    for ((t, vis), kept) in p.tables.iter().zip(&p.plan.visible).zip(&kept) {
        decode_module(t, vis, kept, &fetched, &mut families, &mut warnings);
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
    data.warnings = report.warnings;
    data.warnings.extend(warnings.lines());
    data.rule_modules = ruled;
    data.requests = report.requests;
    data.varbinds = fetched.len();
    Ok(data)
}

/// Tells whether the built-in module already exposes a series (`sysUpTime`, and the
/// interface gauges under the same labels), so a module that reads the same objects does
/// not expose it a second time.
fn builtin_series(data: &PollData) -> impl Fn(&str, &[(Arc<str>, String)]) -> bool + '_ {
    let by_index: HashMap<&str, &Interface> = data
        .interfaces
        .iter()
        .map(|i| (i.labels[0].as_str(), i))
        .collect();
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
                    iface.labels[1] == *name
                        && iface.labels[2] == *descr
                        && iface.labels[3] == *alias
                })
            }
            _ => false,
        },
        _ => false,
    }
}
