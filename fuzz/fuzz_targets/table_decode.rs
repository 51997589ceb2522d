//! Table decoding: whatever an agent answers under the subtrees of real modules (the
//! example module file and the feature module of the tests: lookups, chained lookups,
//! enums, state sets, bits, display hints, InetAddress and LLDP indexes, regex extracts,
//! dates, filters) decoded into families. Never a panic; every sample comes out sorted
//! by label name, with values escaped for the text format.
//!
//! Input: a module byte, then records of a subtree byte (which of the module's walked
//! subtrees or instances), a suffix length, that many arcs (one byte each, 0xff: the
//! next four bytes, big-endian), a value tag byte, a length byte and the value's bytes.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use octopoll::config::ModuleKind;
use octopoll::snmp::{Oid, Value};
use octopoll::table::decode::{decode_module, filter_rows};
use octopoll::table::{Families, Fetched, Plan, TableModule, Warnings};

const FILES: [(&str, &str); 2] = [
    (
        "examples.yml",
        include_str!("../../examples/snmp-exporter-modules.yml"),
    ),
    (
        "features.yml",
        include_str!("../../tests/fixtures/modules/exporter-current.yml"),
    ),
];

/// Every module of the two files, built by the config loader as a device would use it.
fn modules() -> &'static [Arc<TableModule>] {
    static MODULES: OnceLock<Vec<Arc<TableModule>>> = OnceLock::new();
    MODULES.get_or_init(|| {
        let mut names = Vec::new();
        for (file, text) in FILES {
            let stem = file.trim_end_matches(".yml");
            let mut inside = false;
            for line in text.lines() {
                if !line.starts_with(' ') {
                    inside = line.starts_with("modules:");
                } else if inside && !line.starts_with("   ") && line.trim_end().ends_with(':') {
                    names.push(format!("{stem}:{}", line.trim().trim_end_matches(':')));
                }
            }
        }
        let config = format!(
            "module_files: [examples.yml, features.yml]\n\
             auths: {{a: {{version: 2c, community: public}}}}\n\
             devices:\n  - {{name: d, address: 127.0.0.1, auth: a, modules: [{}]}}\n",
            names.join(", ")
        );
        let dir = Path::new("/nonexistent");
        let files: Vec<(std::path::PathBuf, &str)> =
            FILES.iter().map(|(f, t)| (dir.join(f), *t)).collect();
        let refs: Vec<(&Path, &str)> = files.iter().map(|(p, t)| (p.as_path(), *t)).collect();
        let c = octopoll::config::load_texts(&config, &dir.join("fuzz.yml"), &refs)
            .unwrap_or_else(|e| panic!("the fuzz config does not load: {e}"));
        c.devices[0]
            .modules
            .iter()
            .filter_map(|m| match &m.kind {
                ModuleKind::Table(t) => Some(t.clone()),
                ModuleKind::IfMib => None,
            })
            .collect()
    })
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let n = n.min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(b)
    }
    fn arc(&mut self) -> Option<u32> {
        match self.byte()? {
            0xff => {
                let b = self.bytes(4)?;
                Some(b.iter().fold(0u32, |a, &x| a << 8 | u32::from(x)))
            }
            b => Some(u32::from(b)),
        }
    }
}

fn value(tag: u8, b: &[u8]) -> Value {
    let int = || {
        let mut x = [0u8; 8];
        let n = b.len().min(8);
        x[8 - n..].copy_from_slice(&b[..n]);
        u64::from_be_bytes(x)
    };
    match tag % 12 {
        0 => Value::Integer(int() as i64),
        1 => Value::Counter32(int() as u32),
        2 => Value::Gauge32(int() as u32),
        3 => Value::TimeTicks(int() as u32),
        4 => Value::Counter64(int()),
        5 => Value::IpAddress([
            *b.first().unwrap_or(&0),
            *b.get(1).unwrap_or(&0),
            *b.get(2).unwrap_or(&0),
            *b.get(3).unwrap_or(&0),
        ]),
        6 => Value::Opaque(b.to_vec()),
        7 => Value::ObjectId(Oid::from_arcs(b.iter().map(|&x| u32::from(x)).collect::<Vec<_>>())),
        8 => Value::Null,
        9 => Value::NoSuchInstance,
        _ => Value::OctetString(b.to_vec()),
    }
}

fuzz_target!(|data: &[u8]| {
    let modules = modules();
    let mut input = Input(data);
    let Some(pick) = input.byte() else { return };
    let module = &modules[usize::from(pick) % modules.len()];
    let plan = Plan::new(std::slice::from_ref(module), &[], &[]);
    let bases: Vec<&Oid> = plan.roots.iter().chain(&plan.instances).collect();
    let mut rows: Vec<(Oid, Value)> = Vec::new();
    while let Some(which) = input.byte() {
        let Some(len) = input.byte() else { break };
        let base = bases[usize::from(which) % bases.len()];
        let mut arcs = base.arcs().to_vec();
        for _ in 0..len % 40 {
            let Some(a) = input.arc() else { break };
            arcs.push(a);
        }
        let (Some(tag), Some(n)) = (input.byte(), input.byte()) else { break };
        let Some(b) = input.bytes(usize::from(n)) else { break };
        rows.push((Oid::from_arcs(arcs), value(tag, b)));
    }
    // As a walk delivers them: ascending, each OID once.
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.dedup_by(|a, b| a.0 == b.0);
    let mut fetched = Fetched::default();
    for root in &plan.roots {
        let under: Vec<(Oid, Value)> = rows
            .iter()
            .filter(|(o, _)| o.starts_with(root))
            .cloned()
            .collect();
        fetched.insert_walk(root.clone(), under);
    }
    for (o, v) in &rows {
        if plan.instances.contains(o) {
            fetched.insert_point(o.clone(), v.clone());
        }
    }
    let kept = filter_rows(module, &fetched);
    let mut families = Families::default();
    let mut warnings = Warnings::default();
    decode_module(module, &plan.visible[0], &kept, &fetched, &mut families, &mut warnings);
    for f in families.finish(|_, _| false) {
        for s in &f.samples {
            assert!(
                s.labels.windows(2).all(|w| w[0].0 <= w[1].0),
                "{}: labels not sorted: {:?}",
                f.name,
                s.labels
            );
            for (k, v) in s.labels.iter() {
                let mut chars = v.chars();
                while let Some(c) = chars.next() {
                    assert!(c != '\n' && c != '"', "{}: {k}={v:?} is not escaped", f.name);
                    if c == '\\' {
                        assert!(
                            matches!(chars.next(), Some('\\' | '"' | 'n')),
                            "{}: {k}={v:?} has a lone backslash",
                            f.name
                        );
                    }
                }
            }
        }
    }
    let _ = warnings.lines();
});
