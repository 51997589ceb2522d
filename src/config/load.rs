//! Reading, merging and validating configuration files into a [`Config`].
//!
//! Three phases: each file is parsed into raw types (per key, so one bad key does not hide
//! the others), the files are merged (devices concatenate, `auths`/`modules` merge by key,
//! one `defaults`), then everything is validated. Every error found is returned, each with
//! file, line and key path.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_yaml::{Mapping, Value};

use super::locate::{self, join_index, join_key, Locations};
use super::raw::{RawAuth, RawDefaults, RawDevice, RawOid, Text, TOP_KEYS};
use super::*;
use crate::snmp::Oid;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_RETRIES: u32 = 2;
const DEFAULT_MAX_REPETITIONS: u32 = 25;
const IF_MIB: &str = "if_mib";
const DEFAULT_PORT: u16 = 161;
const MIN_PASSWORD_LEN: usize = 8;
/// Directory nesting we follow before assuming a symlink loop.
const MAX_DEPTH: usize = 16;

/// Metric names octopoll itself exports; user OIDs may not take them.
const BUILTIN_METRICS: &[&str] = &[
    "ifHCInOctets",
    "ifHCOutOctets",
    "ifInOctets",
    "ifOutOctets",
    "ifInErrors",
    "ifOutErrors",
    "ifInDiscards",
    "ifOutDiscards",
    "ifOperStatus",
    "ifAdminStatus",
    "ifHighSpeed",
    "sysUpTime",
];
const RESERVED_METRIC_PREFIXES: &[&str] = &["snmp_", "octopoll_"];
/// Labels octopoll sets itself; user labels may not shadow them.
const RESERVED_LABELS: &[&str] = &[
    "device", "ifIndex", "ifName", "ifDescr", "ifAlias", "index", "value", "job", "instance",
    "address",
];

/// How secrets' `${VAR}` references are looked up (the process environment, or a map in tests).
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads and validates a config file, or every `*.yml`/`*.yaml` under a directory
/// (recursively, in path order, skipping hidden and editor temp files), merged.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let files = find_files(path)?;
    let mut sources = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for f in files {
        match fs::read_to_string(&f) {
            Ok(text) => sources.push((f, text)),
            Err(e) => errors.push(plain_error(&f, format!("cannot read file: {e}"))),
        }
    }
    build(sources, &process_env, errors)
}

/// Validates config text as if read from the file `name` (used in error messages, and as
/// the base for relative `*_file` paths).
pub fn load_str(text: &str, name: &Path) -> Result<Config, ConfigErrors> {
    build(
        vec![(name.to_path_buf(), text.to_string())],
        &process_env,
        Vec::new(),
    )
}

fn plain_error(file: &Path, message: String) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        line: None,
        key: String::new(),
        message,
    }
}

// ---------------------------------------------------------------------------------------
// Finding files

fn find_files(path: &Path) -> Result<Vec<PathBuf>, ConfigErrors> {
    let fail = |m: String| ConfigErrors(vec![plain_error(path, m)]);
    let meta = fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    walk(path, 0, &mut out, &mut errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    if out.is_empty() {
        return Err(fail(
            "no *.yml or *.yaml files in this directory".to_string(),
        ));
    }
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, errors: &mut Vec<ConfigError>) {
    if depth > MAX_DEPTH {
        errors.push(plain_error(
            dir,
            format!("directories nested more than {MAX_DEPTH} deep (a symlink loop?)"),
        ));
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(plain_error(dir, format!("cannot read directory: {e}")));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push(plain_error(dir, format!("cannot read directory: {e}")));
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_ignored_name(&name) {
            continue;
        }
        // fs::metadata follows symlinks, so a linked file or folder counts like a real one.
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, depth + 1, out, errors),
            Ok(m) if m.is_file() && (name.ends_with(".yml") || name.ends_with(".yaml")) => {
                out.push(path)
            }
            Ok(_) => {}
            Err(e) => errors.push(plain_error(&path, format!("cannot read: {e}"))),
        }
    }
}

/// Hidden files and editor leftovers, which must not be half-read as config.
fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name.ends_with(".tmp")
}

// ---------------------------------------------------------------------------------------
// Error reporting with file and line

struct FileInfo {
    path: PathBuf,
    locs: Locations,
}

struct Report {
    files: Vec<FileInfo>,
    errors: Vec<ConfigError>,
}

impl Report {
    /// Records an error at `key` of file number `file`; the line comes from the key's path.
    fn at(&mut self, file: usize, key: &str, message: impl Into<String>) {
        let info = &self.files[file];
        self.errors.push(ConfigError {
            file: info.path.clone(),
            line: info.locs.line(key),
            key: key.to_string(),
            message: message.into(),
        });
    }

    /// `file:line` of a key, for messages that point at a second place.
    fn place(&self, file: usize, key: &str) -> String {
        let info = &self.files[file];
        match info.locs.line(key) {
            Some(l) => format!("{}:{l}", info.path.display()),
            None => info.path.display().to_string(),
        }
    }

    fn count(&self) -> usize {
        self.errors.len()
    }
}

// ---------------------------------------------------------------------------------------
// Phase 1: one file into raw types

#[derive(Default)]
struct Parsed {
    /// `Some(None)`: the section is there but broken (already reported).
    defaults: Option<Option<RawDefaults>>,
    /// `None` values: broken entries, already reported; kept so references to them do not
    /// add "unknown auth" noise.
    auths: Vec<(String, Option<RawAuth>)>,
    modules: Vec<(String, Option<Vec<RawOid>>)>,
    devices: Vec<(usize, RawDevice)>,
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        _ => "?".to_string(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// serde_yaml's message without the location it appends (we print our own).
fn serde_message(e: &serde_yaml::Error) -> String {
    let mut s = e.to_string();
    if let Some(l) = e.location() {
        let tail = format!(" at line {} column {}", l.line(), l.column());
        if let Some(pos) = s.find(&tail) {
            s.replace_range(pos..pos + tail.len(), "");
        }
    }
    s
}

/// Decodes a mapping into `T`, key by key first so that every unknown key and every
/// wrongly typed value is reported at its own line (all raw fields are optional, so a
/// one-key mapping decodes unless that key is wrong).
fn decode<T: DeserializeOwned + Default>(
    rep: &mut Report,
    file: usize,
    path: &str,
    v: &Value,
) -> Option<T> {
    match v {
        Value::Null => Some(T::default()),
        Value::Mapping(m) => {
            let before = rep.count();
            for (k, val) in m {
                let mut one = Mapping::new();
                one.insert(k.clone(), val.clone());
                if let Err(e) = serde_yaml::from_value::<T>(Value::Mapping(one)) {
                    rep.at(file, &join_key(path, &key_text(k)), serde_message(&e));
                }
            }
            if rep.count() > before {
                return None;
            }
            match serde_yaml::from_value(v.clone()) {
                Ok(t) => Some(t),
                Err(e) => {
                    rep.at(file, path, serde_message(&e));
                    None
                }
            }
        }
        other => {
            rep.at(
                file,
                path,
                format!("expected a mapping, found {}", kind_of(other)),
            );
            None
        }
    }
}

fn parse_file(rep: &mut Report, file: usize, text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let value = serde_yaml::from_str::<Value>(text);
    let locs = locate::index(text);
    match (value, locs) {
        (_, Ok(locs)) if !locs.duplicates.is_empty() => {
            let dups = locs.duplicates.clone();
            rep.files[file].locs = locs;
            for d in dups {
                let info = &rep.files[file];
                let (path, line) = (info.path.clone(), d.line);
                rep.errors.push(ConfigError {
                    file: path,
                    line: Some(line),
                    key: d.path.clone(),
                    message: format!(
                        "key given twice in one mapping (first at line {})",
                        d.first_line
                    ),
                });
            }
            parsed
        }
        (Err(e), _) => {
            let line = e.location().map(|l| l.line());
            let info = &rep.files[file];
            rep.errors.push(ConfigError {
                file: info.path.clone(),
                line,
                key: String::new(),
                message: format!("invalid YAML: {}", serde_message(&e)),
            });
            parsed
        }
        (Ok(_), Err((line, msg))) => {
            let info = &rep.files[file];
            rep.errors.push(ConfigError {
                file: info.path.clone(),
                line,
                key: String::new(),
                message: format!("invalid YAML: {msg}"),
            });
            parsed
        }
        (Ok(root), Ok(locs)) => {
            rep.files[file].locs = locs;
            parse_root(rep, file, &root, &mut parsed);
            parsed
        }
    }
}

fn allowed_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_root(rep: &mut Report, file: usize, root: &Value, parsed: &mut Parsed) {
    let map = match root {
        Value::Null => return, // an empty file contributes nothing
        Value::Mapping(m) => m,
        other => {
            rep.at(
                file,
                "",
                format!(
                    "expected a mapping with keys {}, found {}",
                    allowed_list(TOP_KEYS),
                    kind_of(other)
                ),
            );
            return;
        }
    };
    for (k, v) in map {
        let key = key_text(k);
        match key.as_str() {
            "defaults" => parsed.defaults = Some(decode(rep, file, "defaults", v)),
            "auths" => {
                for (name, entry) in section_map(rep, file, "auths", v) {
                    let raw = decode(rep, file, &join_key("auths", &name), entry);
                    parsed.auths.push((name, raw));
                }
            }
            "modules" => {
                for (name, entry) in section_map(rep, file, "modules", v) {
                    let path = join_key("modules", &name);
                    let raw = decode_oid_list(rep, file, &path, entry);
                    parsed.modules.push((name, raw));
                }
            }
            "devices" => match v {
                Value::Null => {}
                Value::Sequence(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(d) = decode(rep, file, &join_index("devices", i), item) {
                            parsed.devices.push((i, d));
                        }
                    }
                }
                other => rep.at(
                    file,
                    "devices",
                    format!("expected a list of devices, found {}", kind_of(other)),
                ),
            },
            _ => rep.at(
                file,
                &key,
                format!("unknown key, expected one of {}", allowed_list(TOP_KEYS)),
            ),
        }
    }
}

/// The entries of a name → thing section (`auths`, `modules`).
fn section_map<'v>(
    rep: &mut Report,
    file: usize,
    section: &str,
    v: &'v Value,
) -> Vec<(String, &'v Value)> {
    match v {
        Value::Null => Vec::new(),
        Value::Mapping(m) => m.iter().map(|(k, v)| (key_text(k), v)).collect(),
        other => {
            rep.at(
                file,
                section,
                format!("expected a mapping of names, found {}", kind_of(other)),
            );
            Vec::new()
        }
    }
}

/// A list of OID specs (a module, or a device's `oids`); `None` if any entry is broken.
fn decode_oid_list(rep: &mut Report, file: usize, path: &str, v: &Value) -> Option<Vec<RawOid>> {
    match v {
        Value::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for (j, item) in items.iter().enumerate() {
                match decode(rep, file, &join_index(path, j), item) {
                    Some(o) => out.push(o),
                    None => ok = false,
                }
            }
            ok.then_some(out)
        }
        other => {
            rep.at(
                file,
                path,
                format!("expected a list of OIDs, found {}", kind_of(other)),
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Phases 2 and 3: merge and validate

/// Values from `defaults` (or built in), already validated.
struct Defaults {
    file: Option<usize>,
    interval: Duration,
    timeout: Duration,
    retries: u32,
    max_repetitions: u32,
    /// False when a defaults timing value was invalid (reported), so device-level timing
    /// checks against it would only repeat that error.
    timing_ok: bool,
    auth: DefaultRef<Arc<Auth>>,
    modules: DefaultRef<Vec<Arc<Module>>>,
}

enum DefaultRef<T> {
    /// Not given in defaults.
    Absent,
    /// Given and resolved.
    Ok(T),
    /// Given but broken (already reported).
    Broken,
}

/// What a name in `auths` or `modules` resolves to; `None` for a broken definition.
type Registry<T> = BTreeMap<String, Option<Arc<T>>>;

fn build(
    sources: Vec<(PathBuf, String)>,
    env: Env<'_>,
    errors: Vec<ConfigError>,
) -> Result<Config, ConfigErrors> {
    let mut rep = Report {
        files: sources
            .iter()
            .map(|(p, _)| FileInfo {
                path: p.clone(),
                locs: Locations::default(),
            })
            .collect(),
        errors,
    };
    let parsed: Vec<Parsed> = sources
        .iter()
        .enumerate()
        .map(|(i, (_, text))| parse_file(&mut rep, i, text))
        .collect();

    // Merge.
    let mut defaults: Option<(usize, Option<RawDefaults>)> = None;
    let mut auths: BTreeMap<String, (usize, Option<RawAuth>)> = BTreeMap::new();
    let mut modules: BTreeMap<String, (usize, Option<Vec<RawOid>>)> = BTreeMap::new();
    let mut devices: Vec<(usize, usize, RawDevice)> = Vec::new();
    for (f, p) in parsed.into_iter().enumerate() {
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
    }

    // Validate the named things first, so devices can refer to them.
    let auth_reg: Registry<Auth> = auths
        .iter()
        .map(|(name, (f, raw))| {
            let a = raw
                .as_ref()
                .and_then(|raw| validate_auth(&mut rep, *f, name, raw, env));
            (name.clone(), a.map(Arc::new))
        })
        .collect();
    let mut module_reg: Registry<Module> = BTreeMap::new();
    module_reg.insert(
        IF_MIB.to_string(),
        Some(Arc::new(Module {
            name: IF_MIB.to_string(),
            kind: ModuleKind::IfMib,
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
        let specs = raw
            .as_ref()
            .and_then(|raw| validate_oid_list(&mut rep, *f, &path, raw));
        let m = match specs {
            Some(specs) if ok => {
                if specs.is_empty() {
                    rep.at(*f, &path, "a module needs at least one OID");
                    None
                } else {
                    Some(Arc::new(Module {
                        name: name.clone(),
                        kind: ModuleKind::Oids(specs),
                    }))
                }
            }
            _ => None,
        };
        module_reg.insert(name.clone(), m);
    }

    let defaults = validate_defaults(&mut rep, defaults, &auth_reg, &module_reg);

    let mut seen_names: HashMap<String, (usize, String)> = HashMap::new();
    let mut out = Vec::with_capacity(devices.len());
    for (f, i, raw) in &devices {
        if let Some(d) = validate_device(
            &mut rep,
            *f,
            *i,
            raw,
            &defaults,
            &auth_reg,
            &module_reg,
            &mut seen_names,
        ) {
            out.push(Arc::new(d));
        }
    }

    if rep.errors.is_empty() {
        Ok(Config {
            files: rep.files.into_iter().map(|f| f.path).collect(),
            devices: out,
        })
    } else {
        let mut errors = rep.errors;
        // Stable, so errors without a line keep their order at the top of their file.
        errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Err(ConfigErrors(errors))
    }
}

// ---------------------------------------------------------------------------------------
// Scalars: durations, counts, names, addresses

/// Parses a Prometheus-style duration: `500ms`, `2s`, `1m30s`, `1h`, `1d`; units from the
/// largest down, each at most once.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    const UNITS: &[(&str, u64)] = &[
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let bad =
        || format!("invalid duration `{s}`: use e.g. 500ms, 2s, 1m30s, 1h (units ms s m h d)");
    if s.is_empty() {
        return Err(bad());
    }
    let mut rest = s;
    let mut total: u64 = 0;
    let mut last_unit = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let ulen = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..ulen];
        rest = &rest[ulen..];
        let idx = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
        // Units must go from large to small without repeats, as Prometheus requires.
        if last_unit.is_some_and(|l| idx <= l) {
            return Err(bad());
        }
        last_unit = Some(idx);
        total = n
            .checked_mul(UNITS[idx].1)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("duration `{s}` is too long"))?;
    }
    Ok(Duration::from_millis(total))
}

/// Formats a duration the way the config writes it (`1m30s`, `500ms`).
fn fmt_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

fn field_interval(rep: &mut Report, f: usize, key: &str, t: &Text) -> Option<Duration> {
    match parse_duration(&t.0) {
        Ok(d) if d < Duration::from_secs(1) => {
            rep.at(f, key, format!("interval must be at least 1s, got {}", t.0));
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            rep.at(f, key, e);
            None
        }
    }
}

fn field_timeout(rep: &mut Report, f: usize, key: &str, t: &Text) -> Option<Duration> {
    match parse_duration(&t.0) {
        Ok(d) if d.is_zero() => {
            rep.at(f, key, "timeout must be more than 0");
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            rep.at(f, key, e);
            None
        }
    }
}

fn field_range(rep: &mut Report, f: usize, key: &str, v: i64, min: u32, max: u32) -> Option<u32> {
    match u32::try_from(v) {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            let name = key.rsplit('.').next().unwrap_or(key);
            rep.at(
                f,
                key,
                format!("{name} must be from {min} to {max}, got {v}"),
            );
            None
        }
    }
}

/// Checks that a whole poll (all retries) fits in the interval. `key` is where to report.
fn check_timing(
    rep: &mut Report,
    f: usize,
    key: &str,
    interval: Duration,
    timeout: Duration,
    retries: u32,
) {
    if timeout > interval {
        rep.at(
            f,
            key,
            format!(
                "timeout {} is longer than interval {}",
                fmt_duration(timeout),
                fmt_duration(interval)
            ),
        );
        return;
    }
    let worst = timeout.saturating_mul(retries.saturating_add(1));
    if worst >= interval {
        rep.at(
            f,
            key,
            format!(
                "timeout {} × (retries {} + 1) = {} is not less than interval {}: \
                 a poll could outlive its interval",
                fmt_duration(timeout),
                retries,
                fmt_duration(worst),
                fmt_duration(interval)
            ),
        );
    }
}

fn is_name_char(c: char, extra: &str) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || extra.contains(c)
}

fn is_device_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| is_name_char(c, ".:-"))
}

fn is_module_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| is_name_char(c, ".-"))
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, Prometheus' metric name syntax.
fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| is_name_char(c, ":"))
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, Prometheus' label name syntax.
fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| is_name_char(c, ""))
}

fn check_label_name(name: &str) -> Result<(), String> {
    if !is_label_name(name) {
        Err(format!(
            "invalid label name `{name}`: use letters, digits and `_`, not starting with a digit"
        ))
    } else if name.starts_with("__") {
        Err(format!(
            "label name `{name}` starts with `__`, which Prometheus reserves"
        ))
    } else if RESERVED_LABELS.contains(&name) {
        Err(format!(
            "label `{name}` is set by octopoll itself; reserved: {}",
            RESERVED_LABELS.join(", ")
        ))
    } else {
        Ok(())
    }
}

fn check_metric_name(name: &str, kind: Option<OidKind>) -> Result<(), String> {
    if !is_metric_name(name) {
        return Err(format!(
            "invalid metric name `{name}`: must match [a-zA-Z_:][a-zA-Z0-9_:]*"
        ));
    }
    if BUILTIN_METRICS.contains(&name) {
        return Err(format!(
            "metric name `{name}` is one of octopoll's built-in metrics"
        ));
    }
    if let Some(p) = RESERVED_METRIC_PREFIXES
        .iter()
        .find(|p| name.starts_with(**p))
    {
        return Err(format!(
            "metric name `{name}`: names starting with `{p}` are reserved for octopoll"
        ));
    }
    if kind == Some(OidKind::Counter) && name.ends_with("_total") {
        return Err(format!(
            "counter name `{name}` must not end in `_total`: octopoll appends it"
        ));
    }
    Ok(())
}

/// Splits `host`, `host:port`, `[v6]:port`, `[v6]` or a bare IPv6 literal. No DNS.
fn parse_address(s: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| format!("address `{s}`: missing `]`"))?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("address `{s}`: expected `:port` after `]`"))?,
            ),
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("address `{s}`: `{host}` is not an IPv6 address"));
        }
        (host, port)
    } else {
        match s.matches(':').count() {
            0 => (s, None),
            1 => {
                let (h, p) = s.split_once(':').unwrap_or((s, ""));
                (h, Some(p))
            }
            // Several colons and no brackets: a bare IPv6 literal, default port.
            _ => {
                if s.parse::<std::net::Ipv6Addr>().is_err() {
                    return Err(format!(
                        "address `{s}`: not a valid IPv6 address (write `[addr]:port` to give a port)"
                    ));
                }
                (s, None)
            }
        }
    };
    if host.is_empty() {
        return Err(format!("address `{s}`: empty host"));
    }
    if host.chars().any(char::is_whitespace) {
        return Err(format!("address `{s}`: host contains a space"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n >= 1 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(format!("address `{s}`: port must be 1 to 65535, got `{p}`")),
        },
    };
    Ok((host.to_string(), port))
}

// ---------------------------------------------------------------------------------------
// Secrets

/// Expands `${VAR}` parts. The error names the variable, never the surrounding text.
fn expand_env(s: &str, env: Env<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("${") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unterminated `${` (write `${NAME}`)".to_string())?;
        let name = &after[..end];
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| is_name_char(c, ""));
        if !valid {
            return Err(
                "invalid `${...}` reference: the name must be letters, digits and `_`".into(),
            );
        }
        match env(name) {
            Some(v) => out.push_str(&v),
            None => return Err(format!("environment variable `{name}` is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A secret given as `key` (literal or `${VAR}`) or `key_file`. `Ok(None)`: neither given;
/// `Err(())`: an error was reported.
fn read_secret(
    rep: &mut Report,
    f: usize,
    base: &str,
    key: &str,
    value: Option<&Text>,
    file: Option<&Text>,
    env: Env<'_>,
) -> Result<Option<(String, String)>, ()> {
    let vkey = join_key(base, key);
    let fkey = format!("{vkey}_file");
    match (value, file) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => {
            rep.at(
                f,
                &fkey,
                format!("give either `{key}` or `{key}_file`, not both"),
            );
            Err(())
        }
        (Some(v), None) => match expand_env(&v.0, env) {
            Ok(s) => Ok(Some((s, vkey))),
            Err(e) => {
                rep.at(f, &vkey, e);
                Err(())
            }
        },
        (None, Some(p)) => {
            // Relative paths are relative to the config file, so a config directory can
            // carry its own secrets wherever octopoll is started from.
            let path = Path::new(&p.0);
            let full = match rep.files[f].path.parent() {
                Some(dir) if path.is_relative() => dir.join(path),
                _ => path.to_path_buf(),
            };
            match fs::read_to_string(&full) {
                Ok(mut s) => {
                    if s.ends_with('\n') {
                        s.pop();
                        if s.ends_with('\r') {
                            s.pop();
                        }
                    }
                    Ok(Some((s, fkey)))
                }
                Err(e) => {
                    rep.at(f, &fkey, format!("cannot read {}: {e}", full.display()));
                    Err(())
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Auths

fn validate_auth(
    rep: &mut Report,
    f: usize,
    name: &str,
    raw: &RawAuth,
    env: Env<'_>,
) -> Option<Auth> {
    let base = join_key("auths", name);
    let before = rep.count();
    let Some(version) = &raw.version else {
        rep.at(f, &base, "missing required key `version` (1, 2c or 3)");
        return None;
    };
    let version = version.0.to_ascii_lowercase();
    let kind = match version.as_str() {
        "1" | "2c" => {
            let v3_only = [
                ("username", raw.username.is_some()),
                ("security_level", raw.security_level.is_some()),
                ("auth_protocol", raw.auth_protocol.is_some()),
                ("auth_password", raw.auth_password.is_some()),
                ("auth_password_file", raw.auth_password_file.is_some()),
                ("priv_protocol", raw.priv_protocol.is_some()),
                ("priv_password", raw.priv_password.is_some()),
                ("priv_password_file", raw.priv_password_file.is_some()),
                ("context_name", raw.context_name.is_some()),
            ];
            for (k, given) in v3_only {
                if given {
                    rep.at(
                        f,
                        &join_key(&base, k),
                        format!(
                            "`{k}` is only for version 3 auths (this one is version {version})"
                        ),
                    );
                }
            }
            let community = read_secret(
                rep,
                f,
                &base,
                "community",
                raw.community.as_ref(),
                raw.community_file.as_ref(),
                env,
            );
            let community = match community {
                Ok(Some((c, key))) => {
                    if c.is_empty() {
                        rep.at(f, &key, "community is empty");
                    }
                    Some(Secret::new(c))
                }
                Ok(None) => {
                    rep.at(
                        f,
                        &base,
                        "missing required key `community` (or `community_file`)",
                    );
                    None
                }
                Err(()) => None,
            };
            let community = community?;
            if version == "1" {
                AuthKind::V1 { community }
            } else {
                AuthKind::V2c { community }
            }
        }
        "3" => AuthKind::V3(validate_usm(rep, f, &base, raw, env)?),
        other => {
            rep.at(
                f,
                &join_key(&base, "version"),
                format!("unknown version `{other}`, expected 1, 2c or 3"),
            );
            return None;
        }
    };
    (rep.count() == before).then(|| Auth {
        name: name.to_string(),
        kind,
    })
}

fn validate_usm(
    rep: &mut Report,
    f: usize,
    base: &str,
    raw: &RawAuth,
    env: Env<'_>,
) -> Option<UsmAuth> {
    let before = rep.count();
    for (k, given) in [
        ("community", raw.community.is_some()),
        ("community_file", raw.community_file.is_some()),
    ] {
        if given {
            rep.at(
                f,
                &join_key(base, k),
                format!("`{k}` is only for version 1 and 2c auths; version 3 uses `username`"),
            );
        }
    }
    let username = match &raw.username {
        Some(u) if !u.0.is_empty() => Some(u.0.clone()),
        Some(_) => {
            rep.at(f, &join_key(base, "username"), "username is empty");
            None
        }
        None => {
            rep.at(f, base, "missing required key `username`");
            None
        }
    };
    let level = match &raw.security_level {
        None => {
            rep.at(
                f,
                base,
                "missing required key `security_level` (noAuthNoPriv, authNoPriv or authPriv)",
            );
            None
        }
        Some(t) => match t.0.to_ascii_lowercase().as_str() {
            "noauthnopriv" => Some(SecurityLevel::NoAuthNoPriv),
            "authnopriv" => Some(SecurityLevel::AuthNoPriv),
            "authpriv" => Some(SecurityLevel::AuthPriv),
            _ => {
                rep.at(
                    f,
                    &join_key(base, "security_level"),
                    format!(
                        "unknown security_level `{}`, expected noAuthNoPriv, authNoPriv or authPriv",
                        t.0
                    ),
                );
                None
            }
        },
    };
    let level = level?;
    let level_name = match level {
        SecurityLevel::NoAuthNoPriv => "noAuthNoPriv",
        SecurityLevel::AuthNoPriv => "authNoPriv",
        SecurityLevel::AuthPriv => "authPriv",
    };
    let needs_auth = level != SecurityLevel::NoAuthNoPriv;
    let needs_priv = level == SecurityLevel::AuthPriv;

    let auth = usm_part(
        rep,
        f,
        base,
        level_name,
        needs_auth,
        (
            "auth_protocol",
            raw.auth_protocol.as_ref(),
            parse_auth_protocol,
        ),
        (
            "auth_password",
            raw.auth_password.as_ref(),
            raw.auth_password_file.as_ref(),
        ),
        env,
    );
    let privacy = usm_part(
        rep,
        f,
        base,
        level_name,
        needs_priv,
        (
            "priv_protocol",
            raw.priv_protocol.as_ref(),
            parse_priv_protocol,
        ),
        (
            "priv_password",
            raw.priv_password.as_ref(),
            raw.priv_password_file.as_ref(),
        ),
        env,
    );
    if rep.count() > before {
        return None;
    }
    Some(UsmAuth {
        username: username?,
        security_level: level,
        auth,
        privacy,
        context_name: raw
            .context_name
            .as_ref()
            .map(|t| t.0.clone())
            .unwrap_or_default(),
    })
}

/// Protocol and password for the auth or privacy half of USM: both required when the level
/// needs them, both forbidden when it does not. Errors are reported; the result is then
/// meaningless.
#[allow(clippy::too_many_arguments)]
fn usm_part<P>(
    rep: &mut Report,
    f: usize,
    base: &str,
    level_name: &str,
    needed: bool,
    protocol: ProtocolField<'_, P>,
    password: (&str, Option<&Text>, Option<&Text>),
    env: Env<'_>,
) -> Option<(P, Secret)> {
    let (pkey, ptext, parse) = protocol;
    let (wkey, wtext, wfile) = password;
    if !needed {
        let given = [
            (pkey.to_string(), ptext.is_some()),
            (wkey.to_string(), wtext.is_some()),
            (format!("{wkey}_file"), wfile.is_some()),
        ];
        for (k, g) in given {
            if g {
                rep.at(
                    f,
                    &join_key(base, &k),
                    format!("`{k}` is not used with security_level {level_name}"),
                );
            }
        }
        return None;
    }
    let proto = match ptext {
        None => {
            rep.at(
                f,
                base,
                format!("missing required key `{pkey}` (security_level {level_name} needs it)"),
            );
            None
        }
        Some(t) => {
            let p = parse(&t.0);
            if p.is_none() {
                let allowed = if pkey == "auth_protocol" {
                    "MD5, SHA, SHA224, SHA256, SHA384 or SHA512"
                } else {
                    "DES, AES, AES128, AES192, AES256, AES192C or AES256C"
                };
                rep.at(
                    f,
                    &join_key(base, pkey),
                    format!("unknown {pkey} `{}`, expected {allowed}", t.0),
                );
            }
            p
        }
    };
    let secret = match read_secret(rep, f, base, wkey, wtext, wfile, env) {
        Ok(Some((s, key))) => {
            if s.chars().count() < MIN_PASSWORD_LEN {
                rep.at(
                    f,
                    &key,
                    format!("{wkey} is shorter than {MIN_PASSWORD_LEN} characters (SNMPv3 needs at least {MIN_PASSWORD_LEN})"),
                );
                None
            } else {
                Some(Secret::new(s))
            }
        }
        Ok(None) => {
            rep.at(
                f,
                base,
                format!("missing required key `{wkey}` or `{wkey}_file` (security_level {level_name} needs it)"),
            );
            None
        }
        Err(()) => None,
    };
    Some((proto?, secret?))
}

/// A USM protocol key: its name, its value, and how to parse it.
type ProtocolField<'a, P> = (&'a str, Option<&'a Text>, fn(&str) -> Option<P>);

fn parse_auth_protocol(s: &str) -> Option<AuthProtocol> {
    Some(match s.to_ascii_uppercase().as_str() {
        "MD5" => AuthProtocol::Md5,
        "SHA" => AuthProtocol::Sha,
        "SHA224" => AuthProtocol::Sha224,
        "SHA256" => AuthProtocol::Sha256,
        "SHA384" => AuthProtocol::Sha384,
        "SHA512" => AuthProtocol::Sha512,
        _ => return None,
    })
}

fn parse_priv_protocol(s: &str) -> Option<PrivProtocol> {
    Some(match s.to_ascii_uppercase().as_str() {
        "DES" => PrivProtocol::Des,
        "AES" | "AES128" => PrivProtocol::Aes,
        "AES192" => PrivProtocol::Aes192,
        "AES256" => PrivProtocol::Aes256,
        "AES192C" => PrivProtocol::Aes192C,
        "AES256C" => PrivProtocol::Aes256C,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// OIDs

fn validate_oid(rep: &mut Report, f: usize, path: &str, raw: &RawOid) -> Option<OidSpec> {
    let before = rep.count();
    let kind = match &raw.kind {
        None => {
            rep.at(
                f,
                path,
                "missing required key `type` (gauge, counter or info)",
            );
            None
        }
        Some(t) => match t.0.as_str() {
            "gauge" => Some(OidKind::Gauge),
            "counter" => Some(OidKind::Counter),
            "info" => Some(OidKind::Info),
            other => {
                rep.at(
                    f,
                    &join_key(path, "type"),
                    format!("unknown type `{other}`, expected gauge, counter or info"),
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
        Some(n) => match check_metric_name(&n.0, kind) {
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
        Some(o) => match o.0.parse::<Oid>() {
            Ok(oid) => Some(oid),
            Err(e) => {
                rep.at(
                    f,
                    &join_key(path, "oid"),
                    format!("invalid OID `{}`: {e}", o.0),
                );
                None
            }
        },
    };
    if rep.count() > before {
        return None;
    }
    let (name, oid, kind) = (name?, oid?, kind?);
    let help = raw
        .help
        .as_ref()
        .map(|h| h.0.clone())
        .unwrap_or_else(|| format!("SNMP OID {oid}"));
    Some(OidSpec {
        name,
        oid,
        kind,
        walk: raw.walk.unwrap_or(false),
        help,
    })
}

/// Validates a list of OID specs, including duplicate names within it.
fn validate_oid_list(
    rep: &mut Report,
    f: usize,
    path: &str,
    raws: &[RawOid],
) -> Option<Vec<OidSpec>> {
    let before = rep.count();
    let mut out = Vec::with_capacity(raws.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (j, raw) in raws.iter().enumerate() {
        let p = join_index(path, j);
        if let Some(spec) = validate_oid(rep, f, &p, raw) {
            if let Some(first) = seen.get(&spec.name) {
                let place = rep.place(f, &join_index(path, *first));
                rep.at(
                    f,
                    &join_key(&p, "name"),
                    format!("metric `{}` is already defined at {place}", spec.name),
                );
            } else {
                seen.insert(spec.name.clone(), j);
            }
            out.push(spec);
        }
    }
    (rep.count() == before).then_some(out)
}

// ---------------------------------------------------------------------------------------
// Defaults and devices

fn defined_list<T>(reg: &Registry<T>) -> String {
    if reg.is_empty() {
        "none are defined".to_string()
    } else {
        format!(
            "defined: {}",
            reg.keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Resolves a list of module names; errors at `path[k]`. `None` if anything is wrong.
fn resolve_modules(
    rep: &mut Report,
    f: usize,
    path: &str,
    names: &[Text],
    reg: &Registry<Module>,
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
            Some(Some(m)) => out.push(m.clone()),
            Some(None) => ok = false, // broken definition, already reported
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

fn validate_defaults(
    rep: &mut Report,
    raw: Option<(usize, Option<RawDefaults>)>,
    auths: &Registry<Auth>,
    modules: &Registry<Module>,
) -> Defaults {
    let if_mib = modules
        .get(IF_MIB)
        .cloned()
        .flatten()
        .into_iter()
        .collect::<Vec<_>>();
    let mut d = Defaults {
        file: None,
        interval: DEFAULT_INTERVAL,
        timeout: DEFAULT_TIMEOUT,
        retries: DEFAULT_RETRIES,
        max_repetitions: DEFAULT_MAX_REPETITIONS,
        timing_ok: true,
        auth: DefaultRef::Absent,
        modules: DefaultRef::Ok(if_mib),
    };
    let Some((f, raw)) = raw else { return d };
    d.file = Some(f);
    let Some(raw) = raw else {
        // Broken section (reported): devices relying on it would only repeat errors.
        d.timing_ok = false;
        d.auth = DefaultRef::Broken;
        d.modules = DefaultRef::Broken;
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
    d
}

#[allow(clippy::too_many_arguments)]
fn validate_device(
    rep: &mut Report,
    f: usize,
    i: usize,
    raw: &RawDevice,
    defaults: &Defaults,
    auths: &Registry<Auth>,
    modules: &Registry<Module>,
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
    if let Some(items) = &raw.oids {
        let path = key("oids");
        let raws = decode_oid_list(rep, f, &path, &Value::Sequence(items.clone()));
        let specs = raws.and_then(|r| validate_oid_list(rep, f, &path, &r));
        match (specs, &name, &mut mods) {
            (Some(specs), Some(n), Some(m)) if !specs.is_empty() => {
                own_paths = (0..specs.len())
                    .map(|j| join_key(&join_index(&path, j), "name"))
                    .collect();
                m.push(Arc::new(Module {
                    name: format!("device:{n}"),
                    kind: ModuleKind::Oids(specs),
                }));
            }
            (Some(_), ..) => {}
            (None, ..) => mods = None,
        }
    }

    if let Some(m) = &mods {
        if m.is_empty() {
            rep.at(f, &p, "nothing to poll: no modules and no oids");
        }
        check_metric_collisions(rep, f, &key("modules"), m, &own_paths);
    }

    if rep.count() > before {
        return None;
    }
    let (address, host, port) = address?;
    let line = rep.files[f].locs.line(&p);
    let origin = match line {
        Some(l) => format!("{}:{l}", rep.files[f].path.display()),
        None => rep.files[f].path.display().to_string(),
    };
    Some(Device {
        name: name?,
        host,
        port,
        address,
        interval: interval?,
        timeout: timeout?,
        retries: retries?,
        max_repetitions: max_repetitions?,
        auth: auth?,
        modules: mods?,
        labels,
        origin,
    })
}

/// Two modules of one device exporting the same metric name. Duplicates within one module
/// were reported with that module. `own_paths` are the key paths of the device's own OIDs
/// (the last module), where a collision is best reported.
fn check_metric_collisions(
    rep: &mut Report,
    f: usize,
    modules_key: &str,
    mods: &[Arc<Module>],
    own_paths: &[String],
) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (mi, m) in mods.iter().enumerate() {
        let ModuleKind::Oids(specs) = &m.kind else {
            continue;
        };
        let own = mi + 1 == mods.len() && !own_paths.is_empty();
        for (j, s) in specs.iter().enumerate() {
            match seen.get(s.name.as_str()) {
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

// ---------------------------------------------------------------------------------------
// Rendering for /config

#[derive(Serialize)]
struct ConfigView<'a> {
    files: Vec<String>,
    devices: Vec<DeviceView<'a>>,
    auths: BTreeMap<&'a str, AuthView<'a>>,
    modules: BTreeMap<&'a str, ModuleView<'a>>,
}

#[derive(Serialize)]
struct DeviceView<'a> {
    name: &'a str,
    address: &'a str,
    host: &'a str,
    port: u16,
    interval: String,
    timeout: String,
    retries: u32,
    max_repetitions: u32,
    auth: &'a str,
    modules: Vec<&'a str>,
    labels: &'a BTreeMap<String, String>,
    origin: &'a str,
}

const REDACTED: &str = "<secret>";

#[derive(Serialize, Default)]
struct AuthView<'a> {
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    community: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    security_level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_password: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priv_protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priv_password: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_name: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ModuleView<'a> {
    BuiltIn(&'static str),
    Oids(Vec<OidView<'a>>),
}

#[derive(Serialize)]
struct OidView<'a> {
    name: &'a str,
    oid: String,
    #[serde(rename = "type")]
    kind: &'static str,
    walk: bool,
    help: &'a str,
}

fn auth_view(a: &Auth) -> AuthView<'_> {
    // Secrets are never read here: the view only says that one is set.
    match &a.kind {
        AuthKind::V1 { .. } => AuthView {
            version: "1",
            community: Some(REDACTED),
            ..AuthView::default()
        },
        AuthKind::V2c { .. } => AuthView {
            version: "2c",
            community: Some(REDACTED),
            ..AuthView::default()
        },
        AuthKind::V3(u) => AuthView {
            version: "3",
            username: Some(&u.username),
            security_level: Some(match u.security_level {
                SecurityLevel::NoAuthNoPriv => "noAuthNoPriv",
                SecurityLevel::AuthNoPriv => "authNoPriv",
                SecurityLevel::AuthPriv => "authPriv",
            }),
            auth_protocol: u.auth.as_ref().map(|(p, _)| match p {
                AuthProtocol::Md5 => "MD5",
                AuthProtocol::Sha => "SHA",
                AuthProtocol::Sha224 => "SHA224",
                AuthProtocol::Sha256 => "SHA256",
                AuthProtocol::Sha384 => "SHA384",
                AuthProtocol::Sha512 => "SHA512",
            }),
            auth_password: u.auth.as_ref().map(|_| REDACTED),
            priv_protocol: u.privacy.as_ref().map(|(p, _)| match p {
                PrivProtocol::Des => "DES",
                PrivProtocol::Aes => "AES",
                PrivProtocol::Aes192 => "AES192",
                PrivProtocol::Aes256 => "AES256",
                PrivProtocol::Aes192C => "AES192C",
                PrivProtocol::Aes256C => "AES256C",
            }),
            priv_password: u.privacy.as_ref().map(|_| REDACTED),
            context_name: (!u.context_name.is_empty()).then_some(u.context_name.as_str()),
            community: None,
        },
    }
}

fn module_view(m: &Module) -> ModuleView<'_> {
    match &m.kind {
        ModuleKind::IfMib => {
            ModuleView::BuiltIn("built in: ifTable, ifXTable and the system group")
        }
        ModuleKind::Oids(specs) => ModuleView::Oids(
            specs
                .iter()
                .map(|s| OidView {
                    name: &s.name,
                    oid: s.oid.to_string(),
                    kind: match s.kind {
                        OidKind::Gauge => "gauge",
                        OidKind::Counter => "counter",
                        OidKind::Info => "info",
                    },
                    walk: s.walk,
                    help: &s.help,
                })
                .collect(),
        ),
    }
}

/// The effective config as YAML, for the `/config` endpoint: every device fully expanded
/// (defaults applied), the auths and modules the devices use, and every secret shown as
/// `<secret>`.
pub fn render_redacted(config: &Config) -> String {
    let mut view = ConfigView {
        files: config
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        devices: Vec::with_capacity(config.devices.len()),
        auths: BTreeMap::new(),
        modules: BTreeMap::new(),
    };
    for d in &config.devices {
        view.auths
            .entry(d.auth.name.as_str())
            .or_insert_with(|| auth_view(&d.auth));
        for m in &d.modules {
            view.modules
                .entry(m.name.as_str())
                .or_insert_with(|| module_view(m));
        }
        view.devices.push(DeviceView {
            name: &d.name,
            address: &d.address,
            host: &d.host,
            port: d.port,
            interval: fmt_duration(d.interval),
            timeout: fmt_duration(d.timeout),
            retries: d.retries,
            max_repetitions: d.max_repetitions,
            auth: &d.auth.name,
            modules: d.modules.iter().map(|m| m.name.as_str()).collect(),
            labels: &d.labels,
            origin: &d.origin,
        });
    }
    serde_yaml::to_string(&view).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
    }

    /// Validates in-memory files with a fake environment.
    fn check(files: &[(&str, &str)], env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |name: &str| env.get(name).cloned();
        build(
            files
                .iter()
                .map(|(n, t)| (PathBuf::from(n), t.to_string()))
                .collect(),
            &lookup,
            Vec::new(),
        )
    }

    fn errors_of(r: Result<Config, ConfigErrors>) -> Vec<String> {
        match r {
            Ok(c) => panic!(
                "expected errors, got a config with {} devices",
                c.devices.len()
            ),
            Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// Asserts exactly one error, containing every fragment.
    fn one_error(r: Result<Config, ConfigErrors>, fragments: &[&str]) {
        let errs = errors_of(r);
        assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
        for f in fragments {
            assert!(errs[0].contains(f), "{:?} does not contain {f:?}", errs[0]);
        }
    }

    const V2: &str = "auths:\n  v2: {version: 2c, community: public}\ndefaults:\n  auth: v2\n";

    /// One broken fixture per error class, with the `file:line: key` verified by hand.
    /// `tests/check_cli.rs` runs the same fixtures through `octopoll check`.
    #[test]
    fn bad_fixtures_report_file_line_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "unknown_key.yml",
                "unknown_key.yml:8: devices[0].intervall: ",
                "unknown field `intervall`, expected one of `name`",
            ),
            (
                "dup_device.yml",
                "dup_device.yml:9: devices[1].name: ",
                "already defined at",
            ),
            ("dup_across", "b.yml:5: devices[1].name: ", "a.yml:7"),
            (
                "dangling_auth.yml",
                "dangling_auth.yml:7: devices[0].auth: ",
                "unknown auth `v3_core`; defined: v2",
            ),
            (
                "dangling_module.yml",
                "dangling_module.yml:10: devices[0].modules[1]: ",
                "unknown module `cisco_cpu`; defined: if_mib",
            ),
            (
                "bad_oid.yml",
                "bad_oid.yml:5: modules.ups[0].oid: ",
                "arc \"x\" is not a number",
            ),
            (
                "bad_duration.yml",
                "bad_duration.yml:3: defaults.interval: ",
                "invalid duration `15 sec`",
            ),
            (
                "poll_outlives.yml",
                "poll_outlives.yml:9: devices[0].timeout: ",
                "a poll could outlive its interval",
            ),
            (
                "bad_metric_name.yml",
                "bad_metric_name.yml:4: modules.ups[0].name: ",
                "invalid metric name `ups-battery`",
            ),
            (
                "bad_label_name.yml",
                "bad_label_name.yml:10: devices[0].labels.rack-row: ",
                "invalid label name",
            ),
            (
                "reserved_label.yml",
                "reserved_label.yml:8: devices[0].labels.instance: ",
                "set by octopoll itself",
            ),
            (
                "missing_env.yml",
                "missing_env.yml:5: auths.v2.community: ",
                "`OCTOPOLL_TEST_UNSET_COMMUNITY` is not set",
            ),
            (
                "missing_file.yml",
                "missing_file.yml:10: auths.v3.priv_password_file: ",
                "cannot read",
            ),
            (
                "short_password.yml",
                "short_password.yml:8: auths.v3.auth_password: ",
                "shorter than 8 characters",
            ),
            (
                "syntax.yml",
                "syntax.yml:5: ",
                "invalid YAML: did not find expected ',' or ']'",
            ),
            (
                "wrong_type.yml",
                "wrong_type.yml:8: devices[0].retries: ",
                "invalid type: string \"three\"",
            ),
            (
                "bad_port.yml",
                "bad_port.yml:6: devices[0].address: ",
                "port must be 1 to 65535",
            ),
        ];
        for (fixture, place, message) in cases {
            let errs = errors_of(load(&fixtures().join("bad").join(fixture)));
            assert_eq!(
                errs.len(),
                1,
                "{fixture}: expected one error, got {errs:#?}"
            );
            assert!(
                errs[0].contains(place),
                "{fixture}: {:?} lacks {place:?}",
                errs[0]
            );
            assert!(
                errs[0].contains(message),
                "{fixture}: {:?} lacks {message:?}",
                errs[0]
            );
        }
    }

    #[test]
    fn good_file_loads() {
        let c = load(&fixtures().join("good/single.yml")).expect("valid config");
        assert_eq!(c.files.len(), 1);
        assert_eq!(c.devices.len(), 2);
        let core = &c.devices[0];
        assert_eq!((core.host.as_str(), core.port), ("2001:db8::1", 1161));
        assert_eq!(core.interval, Duration::from_secs(15));
        assert_eq!(core.timeout, Duration::from_secs(2));
        assert!(core.origin.ends_with("single.yml:21"), "{}", core.origin);
        let AuthKind::V3(usm) = &core.auth.kind else {
            panic!("core_v3 is v3")
        };
        let (proto, pass) = usm.privacy.as_ref().expect("authPriv has privacy");
        assert_eq!(*proto, PrivProtocol::Aes256);
        // One trailing newline trimmed from the file.
        assert_eq!(pass.expose(), "privpass-from-file");
        assert_eq!(usm.auth.as_ref().map(|a| a.0), Some(AuthProtocol::Sha256));
        let names: Vec<_> = core.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["if_mib", "ups"]);
        assert_eq!(core.labels.get("site").map(String::as_str), Some("paris"));
        let edge = &c.devices[1];
        assert_eq!(edge.auth.name, "public_v2");
        assert_eq!(edge.port, 161);
        assert_eq!(edge.modules.len(), 1);
        assert_eq!(edge.modules[0].kind, ModuleKind::IfMib);
    }

    #[test]
    fn good_directory_merges_recursively_and_skips_junk() {
        let c = load(&fixtures().join("good/dir")).expect("valid config");
        let files: Vec<String> = c
            .files
            .iter()
            .map(|f| {
                f.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        // Hidden, `~`, `.swp` and non-YAML files are skipped; the empty file counts.
        assert_eq!(
            files,
            ["00-common.yml", "devices.yml", "devices.yml", "empty.yml"]
        );
        assert!(c.files[1].ends_with("site-a/devices.yml"));
        let names: Vec<_> = c.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a-sw1", "a-sw2", "b-sw1"]);
        assert_eq!(c.devices[0].interval, Duration::from_secs(60));
        let b = &c.devices[2];
        assert_eq!((b.host.as_str(), b.port), ("2001:db8::b1", 161));
        assert!(matches!(b.auth.kind, AuthKind::V1 { .. }));
        let mods: Vec<_> = b.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(mods, ["if_mib", "device:b-sw1"]);
        let ModuleKind::Oids(specs) = &b.modules[1].kind else {
            panic!("device oids")
        };
        assert_eq!(specs[0].help, "Number of interfaces");
    }

    #[test]
    fn example_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/octopoll.yml");
        let text = fs::read_to_string(&path).expect("example exists");
        let name = path.display().to_string();
        let c = check(
            &[(&name, &text)],
            &[
                ("SNMP_AUTH_PASS", "example-auth-pass"),
                ("SNMP_PRIV_PASS", "example-priv-pass"),
                ("SNMP_SITE", "paris"),
            ],
        )
        .unwrap_or_else(|e| panic!("example must load:\n{e}"));
        assert!(c.devices.len() >= 2);
    }

    #[test]
    fn empty_inputs() {
        let c = check(&[("empty.yml", "")], &[]).expect("empty file is fine");
        assert!(c.devices.is_empty());
        check(&[("c.yml", "# only a comment\n")], &[]).expect("comment-only file is fine");

        let dir = tempfile::tempdir().expect("tempdir");
        one_error(load(dir.path()), &["no *.yml or *.yaml files"]);
        fs::write(dir.path().join("notes.txt"), "x").expect("write");
        fs::write(dir.path().join(".hidden.yml"), "devices: x").expect("write");
        one_error(load(dir.path()), &["no *.yml or *.yaml files"]);
        one_error(load(&dir.path().join("missing.yml")), &["cannot read"]);
    }

    #[test]
    fn collects_many_errors_in_one_file() {
        let text = "auths:\n  v2: {version: 2c, community: public}\n\
                    devices:\n  - name: a\n    address: 'x:0'\n    auth: nope\n    bogus: 1\n\
                    \x20 - name: b\n    address: y\n    auth: v2\n    interval: 5x\n    labels: {job: j}\n";
        let errs = errors_of(check(&[("m.yml", text)], &[]));
        // `bogus` makes device a undecodable, hiding its address/auth errors; b has two.
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert!(errs[0].starts_with("m.yml:7: devices[0].bogus: unknown field"));
        assert!(errs[1].starts_with("m.yml:11: devices[1].interval: invalid duration"));
        assert!(errs[2].starts_with("m.yml:12: devices[1].labels.job: "));

        let text = "auths:\n  v2: {version: 2c, community: public}\n\
                    devices:\n  - name: a\n    address: 'x:0'\n    auth: nope\n";
        let errs = errors_of(check(&[("m.yml", text)], &[]));
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert!(errs[0].starts_with("m.yml:5: devices[0].address: "));
        assert!(errs[1].starts_with("m.yml:6: devices[0].auth: unknown auth `nope`"));
    }

    #[test]
    fn merge_rules_across_files() {
        let a = "defaults: {interval: 10s}\nauths:\n  v2: {version: 2c, community: a}\nmodules:\n  m: [{name: x, oid: 1.3.6, type: gauge}]\n";
        let b = "defaults: {interval: 20s}\nauths:\n  v2: {version: 2c, community: b}\nmodules:\n  m: [{name: x, oid: 1.3.6, type: gauge}]\n";
        let errs = errors_of(check(&[("a.yml", a), ("b.yml", b)], &[]));
        assert_eq!(errs.len(), 3, "{errs:#?}");
        assert_eq!(
            errs[0],
            "b.yml:1: defaults: defaults already set at a.yml:1; only one file may set them"
        );
        assert_eq!(
            errs[1],
            "b.yml:3: auths.v2: auth `v2` is already defined at a.yml:3"
        );
        assert_eq!(
            errs[2],
            "b.yml:5: modules.m: module `m` is already defined at a.yml:5"
        );

        one_error(
            check(
                &[(
                    "a.yml",
                    "modules:\n  if_mib: [{name: x, oid: 1.3, type: gauge}]\n",
                )],
                &[],
            ),
            &["a.yml:2: modules.if_mib: ", "built in"],
        );
        one_error(
            check(&[("a.yml", "devices: []\nfoo: 1\n")], &[]),
            &["a.yml:2: foo: unknown key, expected one of `defaults`, `auths`"],
        );
        one_error(
            check(&[("a.yml", "devices: []\ndevices: []\n")], &[]),
            &["a.yml:2: devices: key given twice", "first at line 1"],
        );
    }

    #[test]
    fn timing_rules() {
        let dev = |extra: &str| format!("{V2}devices:\n  - name: d\n    address: h\n{extra}");
        let ok = check(
            &[("t.yml", &dev("    interval: 1m30s\n    timeout: 500ms\n"))],
            &[],
        )
        .expect("valid timing");
        assert_eq!(ok.devices[0].interval, Duration::from_secs(90));
        assert_eq!(ok.devices[0].timeout, Duration::from_millis(500));
        one_error(
            check(&[("t.yml", &dev("    interval: 500ms\n"))], &[]),
            &["t.yml:8: devices[0].interval: interval must be at least 1s"],
        );
        one_error(
            check(&[("t.yml", &dev("    timeout: 0s\n"))], &[]),
            &["devices[0].timeout: timeout must be more than 0"],
        );
        one_error(
            check(
                &[("t.yml", &dev("    interval: 5s\n    timeout: 6s\n"))],
                &[],
            ),
            &["t.yml:9: devices[0].timeout: timeout 6s is longer than interval 5s"],
        );
        // Equal is not enough: the next poll would start as the last retry times out.
        one_error(
            check(&[("t.yml", &dev("    interval: 6s\n"))], &[]),
            &[
                "t.yml:8: devices[0].interval: timeout 2s × (retries 2 + 1) = 6s",
                "outlive",
            ],
        );
        one_error(
            check(&[("t.yml", &dev("    retries: 11\n"))], &[]),
            &["devices[0].retries: retries must be from 0 to 10, got 11"],
        );
        one_error(
            check(&[("t.yml", &dev("    max_repetitions: 0\n"))], &[]),
            &["devices[0].max_repetitions: max_repetitions must be from 1 to 1000"],
        );
        one_error(
            check(&[("t.yml", "defaults:\n  interval: 4s\n")], &[]),
            &["t.yml:2: defaults.interval: ", "outlive"],
        );
    }

    #[test]
    fn broken_defaults_are_reported_once() {
        // Two devices rely on the broken defaults; only the defaults are blamed.
        let t = "defaults:\n  auth: nope\n  modules: [if_mib, gone]\n\
                 devices:\n  - {name: a, address: h}\n  - {name: b, address: h}\n";
        let errs = errors_of(check(&[("d.yml", t)], &[]));
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert!(
            errs[0].starts_with("d.yml:2: defaults.auth: unknown auth `nope`; none are defined")
        );
        assert!(errs[1].starts_with("d.yml:3: defaults.modules[1]: unknown module `gone`"));
        let errs = errors_of(check(
            &[("d.yml", "defaults:\n  retries: 1\n  timeout: 1m\n")],
            &[],
        ));
        assert_eq!(
            errs,
            ["d.yml:3: defaults.timeout: timeout 1m is longer than interval 30s"]
        );
    }

    #[test]
    fn durations() {
        let ok = [
            ("500ms", 500),
            ("2s", 2000),
            ("1m", 60_000),
            ("1h", 3_600_000),
            ("1d", 86_400_000),
            ("1m30s", 90_000),
            ("1h0m5s250ms", 3_605_250),
        ];
        for (s, ms) in ok {
            assert_eq!(parse_duration(s), Ok(Duration::from_millis(ms)), "{s}");
            assert_eq!(
                parse_duration(&fmt_duration(Duration::from_millis(ms))),
                Ok(Duration::from_millis(ms))
            );
        }
        for bad in [
            "",
            "30",
            "s",
            "1x",
            "30s1m",
            "1s1s",
            "-1s",
            "1.5s",
            " 1s",
            "1 s",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(fmt_duration(Duration::from_millis(90_500)), "1m30s500ms");
    }

    #[test]
    fn addresses() {
        let ok = [
            ("10.0.0.1", "10.0.0.1", 161),
            ("sw1.example.net:1161", "sw1.example.net", 1161),
            ("[2001:db8::1]:162", "2001:db8::1", 162),
            ("[2001:db8::1]", "2001:db8::1", 161),
            ("2001:db8::1", "2001:db8::1", 161),
            ("::1", "::1", 161),
            ("h:65535", "h", 65535),
        ];
        for (s, host, port) in ok {
            assert_eq!(parse_address(s), Ok((host.to_string(), port)), "{s}");
        }
        for bad in [
            "",
            ":161",
            "h:",
            "h:0",
            "h:65536",
            "h:+1",
            "h:x",
            "my host",
            "[::1",
            "[::1]x",
            "[nothost]:1",
            "2001:db8::zz",
            "[]:1",
        ] {
            assert!(parse_address(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn names_and_labels() {
        let dev = |name: &str, extra: &str| {
            format!("{V2}devices:\n  - name: '{name}'\n    address: h\n{extra}")
        };
        for good in ["sw1", "core-sw1.paris", "a_b:c"] {
            check(&[("n.yml", &dev(good, ""))], &[]).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in ["", "sw 1", "sw/1"] {
            one_error(
                check(&[("n.yml", &dev(bad, ""))], &[]),
                &["n.yml:6: devices[0].name: invalid device name"],
            );
        }
        for (label, why) in [
            ("__x", "starts with `__`"),
            ("1a", "invalid label name"),
            ("ifIndex", "set by octopoll"),
            ("address", "set by octopoll"),
        ] {
            one_error(
                check(
                    &[("n.yml", &dev("d", &format!("    labels: {{{label}: v}}\n")))],
                    &[],
                ),
                &[&format!("devices[0].labels.{label}: "), why],
            );
        }
        // Numbers as label values are read as text.
        let c = check(&[("n.yml", &dev("d", "    labels: {rack: 12}\n"))], &[]).expect("valid");
        assert_eq!(
            c.devices[0].labels.get("rack").map(String::as_str),
            Some("12")
        );
        one_error(
            check(
                &[("n.yml", &format!("{V2}devices:\n  - address: h\n"))],
                &[],
            ),
            &["n.yml:6: devices[0]: missing required key `name`"],
        );
        one_error(
            check(&[("n.yml", "devices:\n  - {name: d, address: h}\n")], &[]),
            &["n.yml:2: devices[0]: no auth"],
        );
        one_error(
            check(&[("n.yml", &dev("d", "    modules: []\n"))], &[]),
            &["devices[0]: nothing to poll"],
        );
        one_error(
            check(
                &[("n.yml", &dev("d", "    modules: [if_mib, if_mib]\n"))],
                &[],
            ),
            &["devices[0].modules[1]: module `if_mib` is listed twice"],
        );
    }

    #[test]
    fn metric_names() {
        let module = |name: &str, kind: &str| {
            format!("modules:\n  m:\n    - {{name: '{name}', oid: 1.3.6.1, type: {kind}}}\n")
        };
        for (name, kind) in [
            ("a", "gauge"),
            ("_x:y", "counter"),
            ("bytes_total", "gauge"),
            ("v", "info"),
        ] {
            check(&[("m.yml", &module(name, kind))], &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for (name, kind, why) in [
            ("1a", "gauge", "invalid metric name"),
            ("a-b", "gauge", "invalid metric name"),
            ("bytes_total", "counter", "must not end in `_total`"),
            ("ifHCInOctets", "gauge", "built-in"),
            ("sysUpTime", "counter", "built-in"),
            ("snmp_up", "gauge", "reserved"),
            ("octopoll_x", "gauge", "reserved"),
        ] {
            one_error(
                check(&[("m.yml", &module(name, kind))], &[]),
                &["m.yml:3: modules.m[0].name: ", why],
            );
        }
        one_error(
            check(&[("m.yml", &module("a", "histogram"))], &[]),
            &["modules.m[0].type: unknown type `histogram`"],
        );
        one_error(
            check(&[("m.yml", "modules:\n  m:\n    - {name: a, oid: 1.3, type: gauge}\n    - {name: a, oid: 1.4, type: gauge}\n")], &[]),
            &["m.yml:4: modules.m[1].name: metric `a` is already defined at m.yml:3"],
        );
        // Collisions between a device's modules and its own oids.
        let text = format!(
            "{V2}modules:\n  m1: [{{name: a, oid: 1.3, type: gauge}}]\n  m2: [{{name: a, oid: 1.4, type: gauge}}]\n\
             devices:\n  - name: d\n    address: h\n    modules: [m1]\n    oids:\n      - {{name: a, oid: 1.5, type: gauge}}\n\
             \x20 - name: e\n    address: h\n    modules: [m1, m2]\n"
        );
        let errs = errors_of(check(&[("c.yml", &text)], &[]));
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert!(errs[0].starts_with("c.yml:13: devices[0].oids[0].name: metric `a` is defined by both module `m1` and `device:d`"), "{}", errs[0]);
        assert!(
            errs[1].starts_with(
                "c.yml:16: devices[1].modules: metric `a` is defined by both module `m1` and `m2`"
            ),
            "{}",
            errs[1]
        );
        one_error(
            check(
                &[(
                    "m.yml",
                    "modules:\n  m:\n    - {name: a, oid: '', type: gauge}\n",
                )],
                &[],
            ),
            &["modules.m[0].oid: invalid OID ``: empty OID"],
        );
    }

    #[test]
    fn auth_versions_and_fields() {
        for v in ["1", "'1'", "2c", "\"2c\"", "2C"] {
            let t = format!("auths:\n  a: {{version: {v}, community: c}}\n");
            check(&[("a.yml", &t)], &[]).unwrap_or_else(|e| panic!("{v}: {e}"));
        }
        for v in ["3", "\"3\""] {
            let t = format!(
                "auths:\n  a: {{version: {v}, username: u, security_level: noAuthNoPriv}}\n"
            );
            check(&[("a.yml", &t)], &[]).unwrap_or_else(|e| panic!("{v}: {e}"));
        }
        let v3 = |extra: &str| format!("auths:\n  a:\n    version: 3\n    username: u\n{extra}");
        let full = "    security_level: authPriv\n    auth_protocol: md5\n    auth_password: 12345678\n    priv_protocol: aes128\n    priv_password: abcdefgh\n";
        check(&[("a.yml", &v3(full))], &[]).expect("authPriv complete");
        let cases: &[(&str, &[&str])] = &[
            ("    security_level: authNoPriv\n    auth_protocol: SHA\n    auth_password: 12345678\n    priv_password: abcdefgh\n",
             &["a.yml:8: auths.a.priv_password: `priv_password` is not used with security_level authNoPriv"]),
            ("    security_level: authNoPriv\n    auth_protocol: SHA\n",
             &["a.yml:2: auths.a: missing required key `auth_password` or `auth_password_file`"]),
            ("    security_level: authPriv\n    auth_protocol: SHA\n    auth_password: 12345678\n    priv_password: abcdefgh\n",
             &["auths.a: missing required key `priv_protocol`"]),
            ("    security_level: noAuthNoPriv\n    community: c\n", &["a.yml:6: auths.a.community: `community` is only for version 1 and 2c"]),
            ("    security_level: sometimes\n", &["auths.a.security_level: unknown security_level"]),
            ("    security_level: authNoPriv\n    auth_protocol: SHA1\n    auth_password: 12345678\n", &["auths.a.auth_protocol: unknown auth_protocol `SHA1`"]),
            ("    security_level: authNoPriv\n    auth_protocol: SHA\n    auth_password: 12345678\n    auth_password_file: /x\n",
             &["auths.a.auth_password_file: give either `auth_password` or `auth_password_file`, not both"]),
        ];
        for (extra, frags) in cases {
            one_error(check(&[("a.yml", &v3(extra))], &[]), frags);
        }
        one_error(
            check(
                &[(
                    "a.yml",
                    "auths:\n  a: {version: 2c, community: c, username: u}\n",
                )],
                &[],
            ),
            &["auths.a.username: `username` is only for version 3"],
        );
        one_error(
            check(&[("a.yml", "auths:\n  a: {version: 2c}\n")], &[]),
            &["a.yml:2: auths.a: missing required key `community`"],
        );
        one_error(
            check(&[("a.yml", "auths:\n  a: {community: c}\n")], &[]),
            &["missing required key `version`"],
        );
        one_error(
            check(
                &[("a.yml", "auths:\n  a:\n    version: 2\n    community: c\n")],
                &[],
            ),
            &["a.yml:3: auths.a.version: unknown version `2`, expected 1, 2c or 3"],
        );
    }

    #[test]
    fn secrets_from_env_and_files() {
        let t = "auths:\n  a: {version: 2c, community: 'pre-${COMM}-post'}\n  b:\n    version: 3\n    username: u\n    security_level: authNoPriv\n    auth_protocol: SHA\n    auth_password: ${PASS}\n\
                 devices:\n  - {name: d, address: h, auth: a}\n  - {name: e, address: h, auth: b}\n";
        let c = check(&[("s.yml", t)], &[("COMM", "xyz"), ("PASS", "long-enough")]).expect("valid");
        let AuthKind::V2c { community } = &c.devices[0].auth.kind else {
            panic!("v2c")
        };
        assert_eq!(community.expose(), "pre-xyz-post");
        // A missing variable names it but not the literal parts around it.
        let errs = errors_of(check(&[("s.yml", t)], &[("PASS", "long-enough")]));
        assert_eq!(
            errs,
            ["s.yml:2: auths.a.community: environment variable `COMM` is not set"]
        );
        one_error(
            check(&[("s.yml", t)], &[("COMM", "x"), ("PASS", "short")]),
            &["s.yml:8: auths.b.auth_password: ", "shorter than 8"],
        );
        one_error(
            check(
                &[("s.yml", "auths:\n  a: {version: 1, community: '${OOPS'}\n")],
                &[],
            ),
            &["auths.a.community: unterminated"],
        );

        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("comm"), "from-file\r\n").expect("write");
        let cfg = dir.path().join("c.yml");
        fs::write(&cfg, "auths:\n  a: {version: 1, community_file: comm}\ndevices:\n  - {name: d, address: h, auth: a}\n").expect("write");
        let c = load(&cfg).expect("valid");
        let AuthKind::V1 { community } = &c.devices[0].auth.kind else {
            panic!("v1")
        };
        assert_eq!(community.expose(), "from-file");
    }

    #[test]
    fn render_hides_every_secret() {
        let t = "defaults: {auth: v2, interval: 1m}\nauths:\n  v2: {version: 2c, community: c0mmunity-SECRET}\n  v3:\n    version: 3\n    username: monitor\n    security_level: authPriv\n    auth_protocol: SHA512\n    auth_password: ${AUTH}\n    priv_protocol: AES192\n    priv_password: priv-SECRET-1\n    context_name: vrf1\n\
                 modules:\n  ups: [{name: upsBatteryCapacity, oid: .1.3.6.1.2.1.33.1.2.4.0, type: gauge}]\n\
                 devices:\n  - {name: d1, address: '10.0.0.1:1161', labels: {site: paris}}\n  - name: d2\n    address: h2\n    auth: v3\n    modules: [ups]\n    oids: [{name: x, oid: 1.3.6.1.9, type: counter, walk: true}]\n";
        let c = check(&[("r.yml", t)], &[("AUTH", "auth-SECRET-2")]).expect("valid");
        let out = render_redacted(&c);
        for secret in [
            "c0mmunity-SECRET",
            "auth-SECRET-2",
            "priv-SECRET-1",
            "SECRET",
        ] {
            assert!(!out.contains(secret), "secret {secret} leaked:\n{out}");
        }
        assert_eq!(out.matches("<secret>").count(), 3, "{out}");
        for expected in [
            "name: d1",
            "address: 10.0.0.1:1161",
            "port: 1161",
            "interval: 1m",
            "timeout: 2s",
            "retries: 2",
            "max_repetitions: 25",
            "auth: v2",
            "site: paris",
            "origin: r.yml:16",
            "username: monitor",
            "security_level: authPriv",
            "auth_protocol: SHA512",
            "priv_protocol: AES192",
            "context_name: vrf1",
            "oid: 1.3.6.1.2.1.33.1.2.4.0",
            "device:d2",
            "type: counter",
            "walk: true",
            "help: SNMP OID 1.3.6.1.9",
            "if_mib: 'built in",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
        }
        // It is valid YAML.
        let v: Value = serde_yaml::from_str(&out).expect("render is YAML");
        assert_eq!(v["devices"][1]["modules"][1].as_str(), Some("device:d2"));
    }
}
