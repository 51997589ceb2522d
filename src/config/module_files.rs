//! `module_files`: prometheus/snmp_exporter's generated `snmp.yml`, in today's format (a
//! top-level `auths` and `modules`, 0.23 and later) and in the older one (modules at the
//! top, each with its own `version` and `auth`, as Debian's 0.21 reads). Their modules
//! become table modules with snmp_exporter's flavour; octopoll's own `auths` and device
//! settings decide credentials and timing, and `check` says so when a file sets them.

use std::path::Path;
use std::sync::Arc;

use super::modules::{validate_filters, validate_metric};
use super::raw::{RawExporterModule, RawOid, Text};
use super::report::Report;
use super::yaml::{self, join_index, join_key, Kind, Node};
use crate::snmp::Oid;
use crate::table::{Flavor, TableModule};

/// Keys of today's format.
const NEW_KEYS: &[&str] = &["auths", "modules", "version"];

/// One module read from a module file.
pub(crate) struct FileModule {
    /// The module's name in the file.
    pub name: String,
    /// The module; `None` when broken (reported).
    pub module: Option<Arc<TableModule>>,
    /// `file:line` of its definition.
    pub origin: String,
}

/// The name a module file's modules are qualified with: the file name without its
/// `.yml`/`.yaml` extension (`snmp.yml` → `snmp`, so `snmp:if_mib`).
pub(crate) fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .unwrap_or(&name)
        .to_string()
}

/// Reads and validates one module file. Errors go to `rep` under the module file's own
/// name and lines; `None` when the file itself cannot be used (reported at `listed`).
pub(crate) fn read(
    rep: &mut Report,
    listed_in: usize,
    listed_key: &str,
    path: &Path,
) -> Option<Vec<FileModule>> {
    let given = rep
        .texts
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, t)| t.clone());
    let text = match given.map_or_else(|| std::fs::read_to_string(path), Ok) {
        Ok(t) => t,
        Err(e) => {
            rep.at(
                listed_in,
                listed_key,
                format!("cannot read module file {}: {e}", path.display()),
            );
            return None;
        }
    };
    let doc = match yaml::parse(&text) {
        Ok(d) => d,
        Err(e) => {
            let f = rep.add_file(path.to_path_buf(), None);
            rep.errors.push(super::ConfigError {
                file: rep.files[f].path.clone(),
                line: e.line,
                key: String::new(),
                message: format!("invalid YAML: {}", e.message),
            });
            return None;
        }
    };
    let f = rep.add_file(path.to_path_buf(), doc.root);
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
    let root = rep.files[f].root.clone()?;
    Some(read_root(rep, f, &root))
}

fn read_root(rep: &mut Report, f: usize, root: &Node) -> Vec<FileModule> {
    let display = rep.files[f].path.display().to_string();
    let Kind::Map(entries) = &root.kind else {
        if !root.is_null() {
            rep.at_line(
                f,
                root.line,
                "",
                format!(
                    "expected snmp_exporter modules (a mapping), found {}",
                    root.describe()
                ),
            );
        }
        return Vec::new();
    };
    let new_format = root.get("modules").is_some();
    let (modules_path, modules): (&str, Vec<(String, &Node)>) = if new_format {
        for (k, _) in entries {
            let key = k.key_text();
            if !NEW_KEYS.contains(&key.as_str()) {
                rep.at_line(
                    f,
                    k.line,
                    &key,
                    "unknown key in an snmp_exporter file, expected `auths`, `modules` or `version`",
                );
            }
        }
        if root.get("auths").is_some() {
            rep.notes.push(format!(
                "{display}: its `auths` are not used; octopoll's own `auths` decide credentials"
            ));
        }
        let node = root.get("modules").expect("checked");
        ("modules", rep.section(f, "modules", node))
    } else {
        ("", entries.iter().map(|(k, v)| (k.key_text(), v)).collect())
    };
    let mut ignored_auth = false;
    let mut ignored_walk_params = false;
    let mut nonincreasing = false;
    let mut unconnected = false;
    let mut out = Vec::with_capacity(modules.len());
    for (name, node) in modules {
        let path = join_key(modules_path, &name);
        let origin = rep.place(f, &path);
        let raw: Option<RawExporterModule> = rep.decode(f, &path, node);
        let module = raw.and_then(|raw| {
            ignored_auth |= raw.auth.is_some() || raw.version.is_some();
            ignored_walk_params |=
                raw.max_repetitions.is_some() || raw.retries.is_some() || raw.timeout.is_some();
            nonincreasing |= raw.allow_nonincreasing_oids == Some(true);
            unconnected |= raw.use_unconnected_udp_socket == Some(true);
            module(rep, f, &path, node, &raw)
        });
        out.push(FileModule {
            name,
            module: module.map(Arc::new),
            origin,
        });
    }
    if ignored_auth {
        rep.notes.push(format!(
            "{display}: the modules' `version` and `auth` are not used; octopoll's own `auths` \
             decide credentials"
        ));
    }
    if ignored_walk_params {
        rep.notes.push(format!(
            "{display}: the modules' `max_repetitions`, `retries` and `timeout` are not used; \
             each device's settings decide"
        ));
    }
    if nonincreasing {
        rep.notes.push(format!(
            "{display}: `allow_nonincreasing_oids` is not used; octopoll ends a column at a \
             non-increasing OID and says so in the device's warnings"
        ));
    }
    if unconnected {
        rep.notes.push(format!(
            "{display}: `use_unconnected_udp_socket` is not used; octopoll accepts a reply only \
             from the address it asked"
        ));
    }
    out
}

fn oids(rep: &mut Report, f: usize, path: &str, list: &Option<Vec<Text>>) -> Vec<Oid> {
    let mut out = Vec::new();
    for (i, t) in list.iter().flatten().enumerate() {
        match t.0.parse::<Oid>() {
            Ok(o) => out.push(o),
            Err(e) => rep.at(
                f,
                &join_index(path, i),
                format!("invalid OID `{}`: {e}", t.0),
            ),
        }
    }
    out
}

fn module(
    rep: &mut Report,
    f: usize,
    path: &str,
    node: &Node,
    raw: &RawExporterModule,
) -> Option<TableModule> {
    let before = rep.count();
    let walk = oids(rep, f, &join_key(path, "walk"), &raw.walk);
    let get = oids(rep, f, &join_key(path, "get"), &raw.get);
    let mpath = join_key(path, "metrics");
    let mut metrics = Vec::new();
    match node.get("metrics").filter(|_| raw.metrics.is_some()) {
        Some(list) => {
            if let Some(items) = rep.list(f, &mpath, list, "metrics") {
                for (i, item) in items.iter().enumerate() {
                    let p = join_index(&mpath, i);
                    let Some(m) = rep.decode::<RawOid>(f, &p, item) else {
                        continue;
                    };
                    if let Some(m) = validate_metric(rep, f, &p, &m, Flavor::SnmpExporter) {
                        metrics.push(Arc::new(m));
                    }
                }
            }
        }
        None => rep.at(f, path, "missing required key `metrics`"),
    }
    let filters = validate_filters(
        rep,
        f,
        &join_key(path, "filters"),
        raw.filters.as_deref().unwrap_or(&[]),
    );
    if let Some(r) = raw.max_repetitions {
        if !(0..=u32::MAX as i64).contains(&r) {
            rep.at(
                f,
                &join_key(path, "max_repetitions"),
                "max_repetitions must be 0 or more",
            );
        }
    }
    if let Some(v) = raw.version {
        if !(1..=3).contains(&v) {
            rep.at(
                f,
                &join_key(path, "version"),
                format!("SNMP version must be 1, 2 or 3, got {v}"),
            );
        }
    }
    (rep.count() == before).then(|| TableModule {
        flavor: Flavor::SnmpExporter,
        walk,
        get,
        metrics,
        filters: filters.unwrap_or_default(),
    })
}
