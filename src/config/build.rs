//! The load itself, in three phases: each file is parsed into raw types (key by key, so one
//! bad key does not hide the others), the files are merged (devices concatenate,
//! `auths`/`modules` merge by name, one `defaults`), then everything is validated. Every
//! error found is returned, each with file, line and key path.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use super::auths::validate_auth;
use super::devices::{validate_defaults, validate_device, Entry, Modules, Registry, IF_MIB};
use super::files::relative_to;
use super::module_files::{self, file_stem};
use super::modules::{decode_module, validate_module, RawModule};
use super::raw::{RawAuth, RawDefaults, RawDevice, Text, TOP_KEYS};
use super::report::{allowed_list, Report};
use super::scalars::is_module_name;
use super::secrets::Secrets;
use super::traps;
use super::yaml::{self, join_index, join_key, Node};
use super::{Config, ConfigError, ConfigErrors, Device, Module, ModuleKind};
use crate::table::{builtin, FamilyType};

/// One file's sections as raw types.
#[derive(Default)]
struct Parsed {
    /// `Some(None)`: the section is there but broken (already reported).
    defaults: Option<Option<RawDefaults>>,
    /// `None` values: broken entries, already reported; kept so references to them do not
    /// add "unknown auth" noise.
    auths: Vec<(String, Option<RawAuth>)>,
    modules: Vec<(String, Option<RawModule>)>,
    /// `module_files` entries: (position in the list, path as written).
    module_files: Vec<(usize, Text)>,
    /// (index in the file's list, raw device, path of its node).
    devices: Vec<(usize, RawDevice)>,
    /// `traps`, `alertmanager`, `notifications` (see `traps.rs`).
    traps: traps::Sections,
}

/// Parses one file's text and records its root for line look-ups.
fn parse_file(rep: &mut Report, path: PathBuf, text: &str) -> (usize, Parsed) {
    let mut parsed = Parsed::default();
    let doc = match yaml::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let f = rep.add_file(path, None);
            rep.errors.push(ConfigError {
                file: rep.files[f].path.clone(),
                line: e.line,
                key: String::new(),
                message: format!("invalid YAML: {}", e.message),
            });
            return (f, parsed);
        }
    };
    let f = rep.add_file(path, doc.root);
    if !doc.duplicates.is_empty() {
        for d in doc.duplicates {
            rep.at_line(
                f,
                d.line,
                &d.path,
                format!(
                    "key given twice in one mapping (first at line {})",
                    d.first_line
                ),
            );
        }
        return (f, parsed);
    }
    if let Some(root) = rep.files[f].root.clone() {
        parse_root(rep, f, &root, &mut parsed);
    }
    (f, parsed)
}

fn parse_root(rep: &mut Report, file: usize, root: &Node, parsed: &mut Parsed) {
    if root.is_null() {
        return; // an empty file contributes nothing
    }
    let yaml::Kind::Map(entries) = &root.kind else {
        rep.at_line(
            file,
            root.line,
            "",
            format!(
                "expected a mapping with keys {}, found {}",
                allowed_list(TOP_KEYS),
                root.describe()
            ),
        );
        return;
    };
    for (k, v) in entries {
        let key = k.key_text();
        match key.as_str() {
            "defaults" => parsed.defaults = Some(rep.decode(file, "defaults", v)),
            "auths" => {
                for (name, entry) in rep.section(file, "auths", v) {
                    let raw = rep.decode(file, &join_key("auths", &name), entry);
                    parsed.auths.push((name, raw));
                }
            }
            "modules" => {
                for (name, entry) in rep.section(file, "modules", v) {
                    let path = join_key("modules", &name);
                    let raw = decode_module(rep, file, &path, entry);
                    parsed.modules.push((name, raw));
                }
            }
            "module_files" => {
                let Some(items) = rep.list(file, "module_files", v, "module file paths") else {
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    let key = join_index("module_files", i);
                    if let Some(t) = rep.decode_text(file, &key, item) {
                        parsed.module_files.push((i, t));
                    }
                }
            }
            "devices" => {
                let Some(items) = rep.list(file, "devices", v, "devices") else {
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    if let Some(d) = rep.decode(file, &join_index("devices", i), item) {
                        parsed.devices.push((i, d));
                    }
                }
            }
            other if parsed.traps.parse(rep, file, other, v) => {}
            _ => rep.at_line(
                file,
                k.line,
                &key,
                format!("unknown key, expected one of {}", allowed_list(TOP_KEYS)),
            ),
        }
    }
}

/// The root of file `f` and the position of device `i` in it (it parsed, or it would not
/// have been decoded).
fn device_node(rep: &Report, f: usize, i: usize) -> Option<(Arc<Node>, usize)> {
    let root = rep.files[f].root.clone()?;
    match &root.get("devices")?.kind {
        yaml::Kind::Seq(items) if i < items.len() => Some((root.clone(), i)),
        _ => None,
    }
}

/// Validates config texts (file path, text) into a [`Config`]; `errors` are reading errors
/// found before (they are returned with the rest).
pub(crate) fn build(
    sources: Vec<(PathBuf, String)>,
    secrets: Secrets<'_>,
    errors: Vec<ConfigError>,
) -> Result<Config, ConfigErrors> {
    build_with_texts(sources, Vec::new(), secrets, errors)
}

/// [`build`], with module file texts given in memory (a module file listed under one of
/// these paths is not read from disk).
pub(crate) fn build_with_texts(
    sources: Vec<(PathBuf, String)>,
    module_texts: Vec<(PathBuf, String)>,
    secrets: Secrets<'_>,
    errors: Vec<ConfigError>,
) -> Result<Config, ConfigErrors> {
    let mut rep = Report::new(errors);
    rep.texts = module_texts;
    let sources_len = sources.len();
    let parsed: Vec<(usize, Parsed)> = sources
        .into_iter()
        .map(|(path, text)| parse_file(&mut rep, path, &text))
        .collect();

    // Merge.
    let mut defaults: Option<(usize, Option<RawDefaults>)> = None;
    let mut auths: BTreeMap<String, (usize, Option<RawAuth>)> = BTreeMap::new();
    let mut modules: BTreeMap<String, (usize, Option<RawModule>)> = BTreeMap::new();
    let mut listed_files: Vec<(usize, usize, Text)> = Vec::new();
    let mut devices: Vec<(usize, usize, RawDevice)> = Vec::new();
    let mut trap_sections = traps::Merged::default();
    for (f, p) in parsed {
        trap_sections.add(&mut rep, f, p.traps);
        if let Some(d) = p.defaults {
            match &defaults {
                Some((f0, _)) => {
                    let first = rep.place(*f0, "defaults");
                    rep.at(
                        f,
                        "defaults",
                        format!("defaults already set at {first}; only one file may set them"),
                    );
                }
                None => defaults = Some((f, d)),
            }
        }
        for (name, a) in p.auths {
            let key = join_key("auths", &name);
            if let Some((f0, _)) = auths.get(&name) {
                let first = rep.place(*f0, &key);
                rep.at(
                    f,
                    &key,
                    format!("auth `{name}` is already defined at {first}"),
                );
            } else {
                auths.insert(name, (f, a));
            }
        }
        for (name, m) in p.modules {
            let key = join_key("modules", &name);
            if name == IF_MIB {
                rep.at(f, &key, "`if_mib` is built in and cannot be redefined");
            } else if let Some((f0, _)) = modules.get(&name) {
                let first = rep.place(*f0, &key);
                rep.at(
                    f,
                    &key,
                    format!("module `{name}` is already defined at {first}"),
                );
            } else {
                modules.insert(name, (f, m));
            }
        }
        devices.extend(p.devices.into_iter().map(|(i, d)| (f, i, d)));
        listed_files.extend(p.module_files.into_iter().map(|(i, t)| (f, i, t)));
    }

    // Validate the named things first, so devices can refer to them.
    let auth_reg: Registry<super::Auth> = auths
        .iter()
        .map(|(name, (f, raw))| {
            let a = raw
                .as_ref()
                .and_then(|raw| validate_auth(&mut rep, *f, name, raw, secrets));
            (name.clone(), a.map(Arc::new))
        })
        .collect();
    let mut module_reg: Modules = BTreeMap::new();
    module_reg.insert(
        IF_MIB.to_string(),
        Entry::Ok(Arc::new(Module {
            name: IF_MIB.to_string(),
            kind: ModuleKind::IfMib,
            origin: "built in".to_string(),
        })),
    );
    for (name, (f, raw)) in &modules {
        let path = join_key("modules", name);
        let mut ok = raw.is_some();
        if !is_module_name(name) {
            rep.at(
                *f,
                &path,
                "invalid module name: use letters, digits, `_`, `.` and `-`",
            );
            ok = false;
        }
        let table = raw
            .as_ref()
            .and_then(|raw| validate_module(&mut rep, *f, &path, raw));
        let entry = match table {
            Some(t) if ok => Entry::Ok(Arc::new(Module {
                name: name.clone(),
                kind: ModuleKind::Table(Arc::new(t)),
                origin: rep.place(*f, &path),
            })),
            _ => Entry::Broken,
        };
        module_reg.insert(name.clone(), entry);
    }
    let module_files = add_module_files(&mut rep, &listed_files, &mut module_reg);
    let defaults = validate_defaults(&mut rep, defaults, &auth_reg, &module_reg);

    let mut seen_names: HashMap<String, (usize, String)> = HashMap::new();
    let mut out = Vec::with_capacity(devices.len());
    let mut positions = Vec::with_capacity(devices.len());
    for (f, i, raw) in &devices {
        let Some((root, pos)) = device_node(&rep, *f, *i) else {
            continue;
        };
        let yaml::Kind::Seq(items) = &root.get("devices").expect("checked").kind else {
            continue;
        };
        let node = &items[pos];
        if let Some(d) = validate_device(
            &mut rep,
            *f,
            *i,
            raw,
            node,
            &defaults,
            &auth_reg,
            &module_reg,
            &mut seen_names,
        ) {
            out.push(Arc::new(d));
            positions.push((*f, *i));
        }
    }

    check_family_types(&mut rep, &out, &positions);
    let notif = trap_sections.validate(&mut rep, &auth_reg, secrets, &out);

    if rep.errors.is_empty() {
        let n = sources_len;
        Ok(Config {
            files: rep.files.into_iter().take(n).map(|f| f.path).collect(),
            module_files,
            devices: out,
            notes: rep.notes,
            traps: notif.traps,
            alertmanager: notif.alertmanager,
            notifications: notif.notifications,
        })
    } else {
        let mut errors = rep.errors;
        // Stable, so errors without a line keep their order at the top of their file.
        errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Err(ConfigErrors(errors))
    }
}

/// Reads the listed module files and registers their modules: always as `stem:name`, and as
/// plain `name` when no built-in or config module has that name (octopoll's own names come
/// first; `check` notes the shadowed one) and no other file defines it (then the plain name
/// is ambiguous and a device must name one qualified). Returns the files read.
fn add_module_files(
    rep: &mut Report,
    listed: &[(usize, usize, Text)],
    reg: &mut Modules,
) -> Vec<PathBuf> {
    let mut read: Vec<PathBuf> = Vec::new();
    let mut stems: HashMap<String, String> = HashMap::new();
    let own: Vec<String> = reg.keys().cloned().collect();
    for (f, i, text) in listed {
        let key = join_index("module_files", *i);
        if text.0.trim().is_empty() {
            rep.at(*f, &key, "empty module file path");
            continue;
        }
        let path = relative_to(&rep.files[*f].path, &text.0);
        if read.contains(&path) {
            rep.at(
                *f,
                &key,
                format!("module file {} is listed twice", path.display()),
            );
            continue;
        }
        let stem = file_stem(&path);
        if !is_module_name(&stem) {
            rep.at(
                *f,
                &key,
                format!(
                    "module file name `{stem}` cannot qualify module names (use letters, \
                     digits, `_`, `.` and `-`)"
                ),
            );
            continue;
        }
        let here = rep.place(*f, &key);
        if let Some(first) = stems.insert(stem.clone(), here) {
            rep.at(
                *f,
                &key,
                format!(
                    "another module file named `{stem}` is listed at {first}; their modules \
                     would share the names `{stem}:…` (rename one)"
                ),
            );
            continue;
        }
        read.push(path.clone());
        let Some(modules) = module_files::read(rep, *f, &key, &path) else {
            continue;
        };
        for fm in modules {
            let qualified = format!("{stem}:{}", fm.name);
            let make = |m: Arc<crate::table::TableModule>| {
                Entry::Ok(Arc::new(Module {
                    name: qualified.clone(),
                    kind: ModuleKind::Table(m),
                    origin: fm.origin.clone(),
                }))
            };
            let entry = |m: &Option<Arc<crate::table::TableModule>>| match m {
                Some(m) => make(m.clone()),
                None => Entry::Broken,
            };
            reg.insert(qualified.clone(), entry(&fm.module));
            if own.contains(&fm.name) {
                rep.notes.push(format!(
                    "{}: module `{}` is available as `{qualified}` (`{}` is octopoll's own)",
                    fm.origin, fm.name, fm.name
                ));
                continue;
            }
            match reg.get_mut(&fm.name) {
                None => {
                    reg.insert(fm.name.clone(), entry(&fm.module));
                }
                Some(Entry::Ambiguous(choices)) => choices.push(qualified),
                Some(existing) => {
                    let other = match existing {
                        Entry::Ok(m) => m.name.clone(),
                        _ => format!("another file's {}", fm.name),
                    };
                    *existing = Entry::Ambiguous(vec![other, qualified]);
                }
            }
        }
    }
    read
}

/// One `/metrics` carries every device: a family name must have one type across the
/// config (the built-in if_mib's `ifHCInOctets` is an OpenMetrics counter, snmp_exporter's
/// an untyped one with the same family name). Reported at the first device that would
/// expose a second type.
fn check_family_types(rep: &mut Report, devices: &[Arc<Device>], positions: &[(usize, usize)]) {
    let mut seen: HashMap<String, (FamilyType, String)> = HashMap::new();
    for (d, &(f, i)) in devices.iter().zip(positions) {
        let all = d
            .modules
            .iter()
            .chain(d.module_rules.iter().flat_map(|r| r.modules.iter()));
        for m in all {
            let families = match &m.kind {
                ModuleKind::IfMib => builtin::if_mib_families(),
                ModuleKind::Table(t) => t
                    .metrics
                    .iter()
                    .flat_map(|x| x.families(t.flavor))
                    .collect(),
            };
            for (name, kind) in families {
                match seen.get(&name) {
                    Some((k, first)) if *k != kind => {
                        let msg = format!(
                            "metric `{name}` would be {} from module `{}` but {} from module \
                             `{first}`; one /metrics cannot carry both (use one of the two \
                             modules on every device)",
                            kind.describe(),
                            m.name,
                            k.describe()
                        );
                        rep.at(f, &join_key(&join_index("devices", i), "modules"), msg);
                        return;
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(name, (kind, m.name.clone()));
                    }
                }
            }
        }
    }
}
