//! Defaults and devices: what each device polls, with which credentials and timing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::modules::{decode_oid_list, unanchored, validate_module, RawModule};
use super::raw::{RawDefaults, RawDevice, RawModuleRule, Text};
use super::report::Report;
use super::scalars::{
    check_label_name, check_timing, field_interval, field_range, field_timeout, is_device_name,
    parse_address,
};
use super::yaml::{join_index, join_key, Node};
use super::{Auth, Device, Module, ModuleKind, ModuleRule};
use crate::snmp::Oid;
use crate::table::Flavor;

pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
pub(crate) const DEFAULT_RETRIES: u32 = 2;
pub(crate) const DEFAULT_MAX_REPETITIONS: u32 = 25;
/// Label columns every 10th poll (and at once when they may be stale).
pub(crate) const DEFAULT_REFRESH: u32 = 10;
/// Rows per walked column before a table is called endless: far above the 100,000
/// interfaces of the biggest chassis.
pub(crate) const DEFAULT_MAX_ROWS: u32 = crate::snmp::DEFAULT_MAX_ROWS_PER_COLUMN as u32;
pub(crate) const IF_MIB: &str = "if_mib";

/// What a name in `auths` resolves to; `None` for a broken definition.
pub(crate) type Registry<T> = BTreeMap<String, Option<Arc<T>>>;

/// What a module name resolves to.
pub(crate) enum Entry {
    /// A module.
    Ok(Arc<Module>),
    /// A broken definition (already reported).
    Broken,
    /// A name several module files define; the qualified names to choose from.
    Ambiguous(Vec<String>),
}

/// Module names: built in, the config's `modules`, and module files' modules under their
/// qualified (`stem:name`) and, where unambiguous, plain names.
pub(crate) type Modules = BTreeMap<String, Entry>;

/// Values from `defaults` (or built in), already validated.
pub(crate) struct Defaults {
    pub file: Option<usize>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub max_repetitions: u32,
    pub refresh: u32,
    pub max_rows: u32,
    /// False when a defaults timing value was invalid (reported), so device-level timing
    /// checks against it would only repeat that error.
    pub timing_ok: bool,
    pub auth: DefaultRef<Arc<Auth>>,
    pub modules: DefaultRef<Vec<Arc<Module>>>,
    pub module_rules: DefaultRef<Vec<Arc<ModuleRule>>>,
}

pub(crate) enum DefaultRef<T> {
    /// Not given in defaults.
    Absent,
    /// Given and resolved.
    Ok(T),
    /// Given but broken (already reported).
    Broken,
}

fn defined_list<T>(reg: &BTreeMap<String, T>) -> String {
    const SHOWN: usize = 24;
    if reg.is_empty() {
        return "none are defined".to_string();
    }
    let mut names: Vec<&str> = reg.keys().map(String::as_str).take(SHOWN).collect();
    if reg.len() > SHOWN {
        names.push("…");
    }
    format!("defined: {}", names.join(", "))
}

/// Resolves a list of module names; errors at `path[k]`. `None` if anything is wrong.
fn resolve_modules(
    rep: &mut Report,
    f: usize,
    path: &str,
    names: &[Text],
    reg: &Modules,
) -> Option<Vec<Arc<Module>>> {
    let mut out = Vec::with_capacity(names.len());
    let mut ok = true;
    for (k, n) in names.iter().enumerate() {
        let key = join_index(path, k);
        if names[..k].contains(n) {
            rep.at(f, &key, format!("module `{}` is listed twice", n.0));
            ok = false;
            continue;
        }
        match reg.get(&n.0) {
            Some(Entry::Ok(m)) => out.push(m.clone()),
            Some(Entry::Broken) => ok = false, // broken definition, already reported
            Some(Entry::Ambiguous(choices)) => {
                rep.at(
                    f,
                    &key,
                    format!(
                        "module `{}` is defined by several module files; name one of {}",
                        n.0,
                        choices.join(", ")
                    ),
                );
                ok = false;
            }
            None => {
                rep.at(
                    f,
                    &key,
                    format!("unknown module `{}`; {}", n.0, defined_list(reg)),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Validates `module_rules` at `path`.
fn resolve_rules(
    rep: &mut Report,
    f: usize,
    path: &str,
    raws: &[RawModuleRule],
    reg: &Modules,
) -> Option<Vec<Arc<ModuleRule>>> {
    let before = rep.count();
    let mut out = Vec::with_capacity(raws.len());
    for (i, raw) in raws.iter().enumerate() {
        let p = join_index(path, i);
        let oid = raw.sys_object_id.as_ref().and_then(|t| {
            // `1.3.6.1.4.1.9.` (as often written, with a dot) and `1.3.6.1.4.1.9` are the
            // same prefix: matched arc by arc.
            let text = t.0.strip_suffix('.').unwrap_or(&t.0);
            match text.parse::<Oid>() {
                Ok(o) => Some(o),
                Err(e) => {
                    rep.at(
                        f,
                        &join_key(&p, "sys_object_id"),
                        format!("invalid sysObjectID prefix `{}`: {e}", t.0),
                    );
                    None
                }
            }
        });
        let descr = raw
            .sys_descr
            .as_ref()
            .and_then(|t| unanchored(rep, f, &join_key(&p, "sys_descr"), &t.0));
        if raw.sys_object_id.is_none() && raw.sys_descr.is_none() {
            rep.at(
                f,
                &p,
                "a module rule needs `sys_object_id` (a prefix) or `sys_descr` (a regex), or both",
            );
        }
        let modules = match &raw.modules {
            Some(names) if !names.is_empty() => {
                resolve_modules(rep, f, &join_key(&p, "modules"), names, reg)
            }
            _ => {
                rep.at(f, &p, "a module rule needs `modules` (the modules it adds)");
                None
            }
        };
        if let Some(modules) = modules {
            out.push(Arc::new(ModuleRule {
                sys_object_id: oid,
                sys_descr: descr,
                modules,
                origin: rep.place(f, &p),
            }));
        }
    }
    (rep.count() == before).then_some(out)
}

fn resolve_auth(
    rep: &mut Report,
    f: usize,
    key: &str,
    name: &str,
    reg: &Registry<Auth>,
) -> Option<Arc<Auth>> {
    match reg.get(name) {
        Some(a) => a.clone(),
        None => {
            rep.at(
                f,
                key,
                format!("unknown auth `{name}`; {}", defined_list(reg)),
            );
            None
        }
    }
}

pub(crate) fn validate_defaults(
    rep: &mut Report,
    raw: Option<(usize, Option<RawDefaults>)>,
    auths: &Registry<Auth>,
    modules: &Modules,
) -> Defaults {
    let if_mib = match modules.get(IF_MIB) {
        Some(Entry::Ok(m)) => vec![m.clone()],
        _ => Vec::new(),
    };
    let mut d = Defaults {
        file: None,
        interval: DEFAULT_INTERVAL,
        timeout: DEFAULT_TIMEOUT,
        retries: DEFAULT_RETRIES,
        max_repetitions: DEFAULT_MAX_REPETITIONS,
        refresh: DEFAULT_REFRESH,
        max_rows: DEFAULT_MAX_ROWS,
        timing_ok: true,
        auth: DefaultRef::Absent,
        modules: DefaultRef::Ok(if_mib),
        module_rules: DefaultRef::Ok(Vec::new()),
    };
    let Some((f, raw)) = raw else { return d };
    d.file = Some(f);
    let Some(raw) = raw else {
        // Broken section (reported): devices relying on it would only repeat errors.
        d.timing_ok = false;
        d.auth = DefaultRef::Broken;
        d.modules = DefaultRef::Broken;
        d.module_rules = DefaultRef::Broken;
        return d;
    };
    let before = rep.count();
    if let Some(t) = &raw.interval {
        d.interval = field_interval(rep, f, "defaults.interval", t).unwrap_or(d.interval);
    }
    if let Some(t) = &raw.timeout {
        d.timeout = field_timeout(rep, f, "defaults.timeout", t).unwrap_or(d.timeout);
    }
    if let Some(r) = raw.retries {
        d.retries = field_range(rep, f, "defaults.retries", r, 0, 10).unwrap_or(d.retries);
    }
    if let Some(m) = raw.max_repetitions {
        d.max_repetitions = field_range(rep, f, "defaults.max_repetitions", m, 1, 1000)
            .unwrap_or(d.max_repetitions);
    }
    if let Some(r) = raw.refresh {
        d.refresh = field_range(rep, f, "defaults.refresh", r, 1, 10_000).unwrap_or(d.refresh);
    }
    if let Some(r) = raw.max_rows {
        d.max_rows = field_range(rep, f, "defaults.max_rows", r, 1, u32::MAX).unwrap_or(d.max_rows);
    }
    d.timing_ok = rep.count() == before;
    if d.timing_ok {
        let key = if raw.timeout.is_some() {
            "defaults.timeout"
        } else if raw.retries.is_some() {
            "defaults.retries"
        } else {
            "defaults.interval"
        };
        let before = rep.count();
        check_timing(rep, f, key, d.interval, d.timeout, d.retries);
        d.timing_ok = rep.count() == before;
    }
    if let Some(a) = &raw.auth {
        d.auth = match resolve_auth(rep, f, "defaults.auth", &a.0, auths) {
            Some(a) => DefaultRef::Ok(a),
            None => DefaultRef::Broken,
        };
    }
    if let Some(names) = &raw.modules {
        d.modules = match resolve_modules(rep, f, "defaults.modules", names, modules) {
            Some(m) => DefaultRef::Ok(m),
            None => DefaultRef::Broken,
        };
    }
    if let Some(rules) = &raw.module_rules {
        d.module_rules = match resolve_rules(rep, f, "defaults.module_rules", rules, modules) {
            Some(r) => DefaultRef::Ok(r),
            None => DefaultRef::Broken,
        };
    }
    d
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn validate_device(
    rep: &mut Report,
    f: usize,
    i: usize,
    raw: &RawDevice,
    node: &Node,
    defaults: &Defaults,
    auths: &Registry<Auth>,
    modules: &Modules,
    seen_names: &mut HashMap<String, (usize, String)>,
) -> Option<Device> {
    let p = join_index("devices", i);
    let key = |k: &str| join_key(&p, k);
    let before = rep.count();

    let name = match &raw.name {
        None => {
            rep.at(f, &p, "missing required key `name`");
            None
        }
        Some(n) if !is_device_name(&n.0) => {
            rep.at(
                f,
                &key("name"),
                format!(
                    "invalid device name `{}`: use letters, digits, `_`, `.`, `:` and `-`",
                    n.0
                ),
            );
            None
        }
        Some(n) => {
            if let Some((f0, p0)) = seen_names.get(&n.0) {
                let first = rep.place(*f0, p0);
                rep.at(
                    f,
                    &key("name"),
                    format!("device `{}` is already defined at {first}", n.0),
                );
            } else {
                seen_names.insert(n.0.clone(), (f, p.clone()));
            }
            Some(n.0.clone())
        }
    };

    let address = match &raw.address {
        None => {
            rep.at(f, &p, "missing required key `address`");
            None
        }
        Some(a) => match parse_address(&a.0) {
            Ok((host, port)) => Some((a.0.clone(), host, port)),
            Err(e) => {
                rep.at(f, &key("address"), e);
                None
            }
        },
    };

    // Timing: each field on its own, then the combination if the device changed any of it.
    let t_before = rep.count();
    let interval = match &raw.interval {
        Some(t) => field_interval(rep, f, &key("interval"), t),
        None => Some(defaults.interval),
    };
    let timeout = match &raw.timeout {
        Some(t) => field_timeout(rep, f, &key("timeout"), t),
        None => Some(defaults.timeout),
    };
    let retries = match raw.retries {
        Some(r) => field_range(rep, f, &key("retries"), r, 0, 10),
        None => Some(defaults.retries),
    };
    let max_repetitions = match raw.max_repetitions {
        Some(m) => field_range(rep, f, &key("max_repetitions"), m, 1, 1000),
        None => Some(defaults.max_repetitions),
    };
    let refresh = match raw.refresh {
        Some(r) => field_range(rep, f, &key("refresh"), r, 1, 10_000),
        None => Some(defaults.refresh),
    };
    let max_rows = match raw.max_rows {
        Some(r) => field_range(rep, f, &key("max_rows"), r, 1, u32::MAX),
        None => Some(defaults.max_rows),
    };
    let overrides_timing = raw.interval.is_some() || raw.timeout.is_some() || raw.retries.is_some();
    if rep.count() == t_before && overrides_timing && defaults.timing_ok {
        if let (Some(iv), Some(to), Some(re)) = (interval, timeout, retries) {
            let k = if raw.timeout.is_some() {
                key("timeout")
            } else if raw.retries.is_some() {
                key("retries")
            } else {
                key("interval")
            };
            check_timing(rep, f, &k, iv, to, re);
        }
    }

    let auth = match (&raw.auth, &defaults.auth) {
        (Some(a), _) => resolve_auth(rep, f, &key("auth"), &a.0, auths),
        (None, DefaultRef::Ok(a)) => Some(a.clone()),
        (None, DefaultRef::Broken) => None,
        (None, DefaultRef::Absent) => {
            rep.at(f, &p, "no auth: set `auth` on the device or in `defaults`");
            None
        }
    };

    let mut mods = match (&raw.modules, &defaults.modules) {
        (Some(names), _) => resolve_modules(rep, f, &key("modules"), names, modules),
        (None, DefaultRef::Ok(m)) => Some(m.clone()),
        (None, _) => None,
    };
    // A device's own rules replace the defaults' (`module_rules: []` turns them off).
    let rules = match (&raw.module_rules, &defaults.module_rules) {
        (Some(r), _) => resolve_rules(rep, f, &key("module_rules"), r, modules),
        (None, DefaultRef::Ok(r)) => Some(r.clone()),
        (None, _) => None,
    };

    let mut labels = BTreeMap::new();
    for (k, v) in raw.labels.iter().flatten() {
        match check_label_name(k) {
            Ok(()) => {
                labels.insert(k.clone(), v.0.clone());
            }
            Err(e) => rep.at(f, &join_key(&key("labels"), k), e),
        }
    }

    // The device's own OIDs, as a module after the named ones.
    let mut own_paths = Vec::new();
    if let Some(items) = node.get("oids").filter(|_| raw.oids.is_some()) {
        let path = key("oids");
        let module = decode_oid_list(rep, f, &path, items).and_then(|oids| {
            let raw = RawModule {
                oids,
                oids_path: path.clone(),
                filters: Vec::new(),
            };
            validate_module(rep, f, &path, &raw)
        });
        match (module, &name, &mut mods) {
            (Some(module), Some(n), Some(m)) => {
                own_paths = (0..module.metrics.len())
                    .map(|j| join_key(&join_index(&path, j), "name"))
                    .collect();
                m.push(Arc::new(Module {
                    name: format!("device:{n}"),
                    kind: ModuleKind::Table(Arc::new(module)),
                    origin: rep.place(f, &path),
                }));
            }
            (Some(_), ..) => {}
            (None, ..) => mods = None,
        }
    }

    if let Some(m) = &mods {
        if m.is_empty() && rules.as_ref().is_none_or(Vec::is_empty) {
            rep.at(f, &p, "nothing to poll: no modules and no oids");
        }
        check_metric_collisions(rep, f, &key("modules"), m, &own_paths);
        let ruled = rules.iter().flatten().flat_map(|r| r.modules.iter());
        check_label_clashes(rep, f, &key("labels"), &labels, m.iter().chain(ruled));
    }

    if rep.count() > before {
        return None;
    }
    let (address, host, port) = address?;
    let origin = rep.place(f, &p);
    Some(Device {
        name: name?,
        host,
        port,
        address,
        interval: interval?,
        timeout: timeout?,
        retries: retries?,
        max_repetitions: max_repetitions?,
        refresh: refresh?,
        max_rows: max_rows?,
        auth: auth?,
        modules: mods?,
        module_rules: rules?,
        labels,
        origin,
    })
}

/// Two of octopoll's own modules of one device exporting the same metric name (module
/// files may overlap: the same series from two of them is exposed once). Duplicates within
/// one module were reported with that module. `own_paths` are the key paths of the
/// device's own OIDs (the last module), where a collision is best reported.
fn check_metric_collisions(
    rep: &mut Report,
    f: usize,
    modules_key: &str,
    mods: &[Arc<Module>],
    own_paths: &[String],
) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (mi, m) in mods.iter().enumerate() {
        let ModuleKind::Table(t) = &m.kind else {
            continue;
        };
        if t.flavor != Flavor::Octopoll {
            continue;
        }
        let own = mi + 1 == mods.len() && !own_paths.is_empty();
        for (j, s) in t.metrics.iter().enumerate() {
            match seen.get(&*s.name) {
                Some(first) if *first != m.name => {
                    let k = if own {
                        own_paths[j].clone()
                    } else {
                        modules_key.to_string()
                    };
                    rep.at(
                        f,
                        &k,
                        format!(
                            "metric `{}` is defined by both module `{first}` and `{}`",
                            s.name, m.name
                        ),
                    );
                }
                Some(_) => {}
                None => {
                    seen.insert(&s.name, &m.name);
                }
            }
        }
    }
}

/// A device label that a module's series also carry would make them invalid.
fn check_label_clashes<'m>(
    rep: &mut Report,
    f: usize,
    labels_key: &str,
    labels: &BTreeMap<String, String>,
    mods: impl Iterator<Item = &'m Arc<Module>>,
) {
    if labels.is_empty() {
        return;
    }
    let mut reported = std::collections::HashSet::new();
    for m in mods {
        let ModuleKind::Table(t) = &m.kind else {
            continue;
        };
        for metric in &t.metrics {
            for l in metric.label_names(t.flavor) {
                if labels.contains_key(&*l) && reported.insert(l.clone()) {
                    rep.at(
                        f,
                        &join_key(labels_key, &l),
                        format!(
                            "label `{l}` is also set by module `{}` (metric `{}`); rename the \
                             device label",
                            m.name, metric.name
                        ),
                    );
                }
            }
        }
    }
}
