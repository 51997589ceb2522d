//! Modules in octopoll's own format: named lists of OIDs, and a device's own `oids`.

use std::collections::HashMap;

use super::raw::RawOid;
use super::report::Report;
use super::scalars::check_metric_name;
use super::yaml::{join_index, join_key, Node};
use super::{OidKind, OidSpec};
use crate::snmp::Oid;

/// A list of OID specs (a module, or a device's `oids`); `None` if any entry is broken.
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
pub(crate) fn validate_oid_list(
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
