//! Helpers shared by the monitoring-stack tests (`stack_static`, `promtool`,
//! `prometheus_e2e`): repository paths, external tools, PromQL extraction from the
//! dashboards and rules, and the names of the metrics octopoll exports.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The repository root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn read(rel: &str) -> String {
    let p = root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

pub fn yaml(rel: &str) -> serde_yaml::Value {
    let mut v: serde_yaml::Value =
        serde_yaml::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: invalid YAML: {e}"));
    v.apply_merge()
        .unwrap_or_else(|e| panic!("{rel}: bad YAML merge key: {e}"));
    v
}

pub fn json(rel: &str) -> serde_json::Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: invalid JSON: {e}"))
}

/// Files directly in `dir` (relative to the root) ending in `ext`, sorted, as relative paths.
pub fn files(dir: &str, ext: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("read_dir {dir}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    out.sort();
    out
}

/// Every dashboard file Grafana provisions, so a new one is checked without listing it.
pub fn dashboards() -> Vec<String> {
    let d = files("grafana/dashboards", ".json");
    assert!(!d.is_empty(), "no dashboards in grafana/dashboards");
    d
}

/// True when running under CI (env `CI` set and not "false"/"0"/empty).
pub fn in_ci() -> bool {
    matches!(std::env::var("CI"), Ok(v) if !v.is_empty() && v != "false" && v != "0")
}

/// Path of an external tool found on PATH. If it is missing, the test is skipped with a
/// message (returns None) — unless CI is set, where a missing tool fails the test.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if in_ci() {
            panic!("`{name}` is not installed but CI is set: install it (Debian: prometheus / prometheus-alertmanager)");
        }
        eprintln!("SKIPPED: `{name}` not found on PATH (install it, e.g. `apt-get install prometheus prometheus-alertmanager`); CI is not set, so this test passes without running");
    }
    found
}

// === PromQL expressions ===

/// Where an expression comes from, for messages and for deciding what may be empty.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A panel query.
    Panel,
    /// An annotation query (events: usually empty).
    Annotation,
    /// A template variable query `label_values(<selector>, <label>)`: the selector.
    Variable {
        label: String,
    },
    RecordingRule,
    AlertRule,
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub origin: String,
    pub kind: ExprKind,
    pub expr: String,
}

/// Every PromQL expression in a Grafana dashboard.
pub fn dashboard_exprs(rel: &str) -> Vec<Expr> {
    let d = json(rel);
    let mut out = Vec::new();
    for p in all_panels(&d) {
        let title = p["title"].as_str().unwrap_or("?");
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(e) = t["expr"].as_str() {
                out.push(Expr {
                    origin: format!(
                        "{rel} panel {title:?} {}",
                        t["refId"].as_str().unwrap_or("")
                    ),
                    kind: ExprKind::Panel,
                    expr: e.to_string(),
                });
            }
        }
    }
    for a in d["annotations"]["list"].as_array().into_iter().flatten() {
        if let Some(e) = a["expr"].as_str() {
            out.push(Expr {
                origin: format!("{rel} annotation {:?}", a["name"].as_str().unwrap_or("?")),
                kind: ExprKind::Annotation,
                expr: e.to_string(),
            });
        }
    }
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        let q = v["query"]["query"]
            .as_str()
            .or(v["query"].as_str())
            .unwrap_or("");
        if let Some((sel, label)) = parse_label_values(q) {
            out.push(Expr {
                origin: format!("{rel} variable {:?}", v["name"].as_str().unwrap_or("?")),
                kind: ExprKind::Variable { label },
                expr: sel,
            });
        }
    }
    out
}

/// `label_values(sel, label)` -> (sel, label).
pub fn parse_label_values(q: &str) -> Option<(String, String)> {
    let inner = q.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let (sel, label) = inner.rsplit_once(',')?;
    Some((sel.trim().to_string(), label.trim().to_string()))
}

/// All panels, including those nested in rows.
pub fn all_panels(d: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().into_iter().flatten() {
        out.push(p);
        for q in p["panels"].as_array().into_iter().flatten() {
            out.push(q);
        }
    }
    out
}

/// Every rule expression in prometheus/rules/*.yml.
pub fn rule_exprs() -> Vec<Expr> {
    let mut out = Vec::new();
    for f in files("prometheus/rules", ".yml") {
        let y = yaml(&f);
        for g in y["groups"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{f}: no groups"))
        {
            for r in g["rules"].as_sequence().into_iter().flatten() {
                let expr = r["expr"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{f}: rule without expr"))
                    .to_string();
                if let Some(name) = r["record"].as_str() {
                    out.push(Expr {
                        origin: format!("{f} record {name}"),
                        kind: ExprKind::RecordingRule,
                        expr,
                    });
                } else {
                    let name = r["alert"].as_str().unwrap_or("?");
                    out.push(Expr {
                        origin: format!("{f} alert {name}"),
                        kind: ExprKind::AlertRule,
                        expr,
                    });
                }
            }
        }
    }
    out
}

pub fn recording_rule_names() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in files("prometheus/rules", ".yml") {
        for g in yaml(&f)["groups"].as_sequence().into_iter().flatten() {
            for r in g["rules"].as_sequence().into_iter().flatten() {
                if let Some(n) = r["record"].as_str() {
                    out.insert(n.to_string());
                }
            }
        }
    }
    out
}

/// Metric names as Prometheus stores them, from octopoll's interface contract.
pub const OCTOPOLL_METRICS: &[&str] = &[
    "ifHCInOctets_total",
    "ifHCOutOctets_total",
    "ifInOctets_total",
    "ifOutOctets_total",
    "ifInErrors_total",
    "ifOutErrors_total",
    "ifInDiscards_total",
    "ifOutDiscards_total",
    "ifOperStatus",
    "ifAdminStatus",
    "ifHighSpeed",
    "snmp_device_up",
    "snmp_device_info",
    "sysUpTime",
    "snmp_device_poll_duration_seconds",
    "snmp_device_last_poll_success_timestamp_seconds",
    "snmp_device_poll_requests",
    "snmp_device_poll_varbinds",
    "octopoll_build_info",
    "octopoll_config_last_reload_successful",
    "octopoll_config_last_reload_success_timestamp_seconds",
    "octopoll_devices",
    "octopoll_snmp_requests_total",
    "octopoll_snmp_retries_total",
    "octopoll_snmp_timeouts_total",
    "octopoll_polls_total",
    "octopoll_polls_skipped_total",
    "snmp_traps_total",
    "snmp_traps_last_timestamp_seconds",
    "octopoll_traps_dropped_total",
    "octopoll_traps_unattributed_total",
    "octopoll_alertmanager_alerts_sent_total",
    "octopoll_alertmanager_alerts_dropped_total",
    "octopoll_alertmanager_post_failures_total",
    "octopoll_alertmanager_queue_length",
];

/// Series Prometheus itself creates.
pub const PROMETHEUS_METRICS: &[&str] = &[
    "up",
    "ALERTS",
    "ALERTS_FOR_STATE",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
];

const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];
const LABEL_LIST_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
const KEYWORDS: &[&str] = &[
    "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "Inf", "NaN",
];

/// Metric names used in a PromQL expression: identifiers that are not functions,
/// keywords, label names (inside `{}` or `by (...)`), durations, numbers, strings or
/// Grafana variables. Good enough for the expressions we write; not a full parser.
pub fn metric_names(expr: &str) -> Vec<String> {
    let c: Vec<char> = expr.chars().collect();
    let n = c.len();
    let mut i = 0;
    let mut out = Vec::new();
    let skip_string = |mut i: usize, q: char| -> usize {
        i += 1;
        while i < n && c[i] != q {
            if c[i] == '\\' {
                i += 1;
            }
            i += 1;
        }
        i + 1
    };
    // Index just past the bracket matching the opener at i (strings inside are skipped).
    let skip_group = |mut i: usize, open: char, close: char| -> usize {
        let mut depth = 0;
        while i < n {
            let ch = c[i];
            if ch == '"' || ch == '\'' || ch == '`' {
                i = skip_string(i, ch);
                continue;
            }
            if ch == open {
                depth += 1;
            } else if ch == close {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            i += 1;
        }
        n
    };
    while i < n {
        let ch = c[i];
        if ch == '"' || ch == '\'' || ch == '`' {
            i = skip_string(i, ch);
        } else if ch == '{' {
            i = skip_group(i, '{', '}');
        } else if ch == '[' {
            i = skip_group(i, '[', ']');
        } else if ch == '#' {
            while i < n && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '$' {
            i += 1;
            if i < n && c[i] == '{' {
                i = skip_group(i, '{', '}');
            } else {
                while i < n && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
        } else if ch.is_ascii_digit() || (ch == '.' && i + 1 < n && c[i + 1].is_ascii_digit()) {
            while i < n && (c[i].is_ascii_alphanumeric() || c[i] == '.') {
                i += 1;
            }
        } else if ch.is_ascii_alphabetic() || ch == '_' || ch == ':' {
            let start = i;
            while i < n && (c[i].is_ascii_alphanumeric() || c[i] == '_' || c[i] == ':') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let mut j = i;
            while j < n && c[j].is_whitespace() {
                j += 1;
            }
            let next = c.get(j).copied();
            if LABEL_LIST_KEYWORDS.contains(&word.as_str()) {
                if next == Some('(') {
                    i = skip_group(j, '(', ')');
                }
            } else if next == Some('(')
                || AGGREGATIONS.contains(&word.as_str())
                || KEYWORDS.contains(&word.as_str())
            {
                // function call, aggregation or operator keyword
            } else {
                out.push(word);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Replace Grafana's variables in an expression with concrete values.
pub fn substitute(expr: &str, vars: &[(&str, &str)]) -> String {
    let mut s = expr.to_string();
    // Longest names first, so `$__interval` never eats the start of `$__interval_ms`;
    // both `$name` and `${name}` forms.
    let mut vars: Vec<_> = vars.to_vec();
    vars.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    for (k, v) in vars {
        s = s
            .replace(&format!("${{{k}}}"), v)
            .replace(&format!("${k}"), v);
    }
    s
}

pub fn exists(rel: &str) -> bool {
    Path::new(&root()).join(rel).exists()
}
