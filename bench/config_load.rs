//! Loading snmp_exporter's generated snmp.yml (about 2 MB): the YAML parse as octopoll did
//! it before (serde_yaml into values, then yaml-rust2's events again for line numbers) and
//! as it does it now (one yaml-rust2 pass into a tree with lines), and the whole
//! `octopoll::config::load` of a config that names every module of the file.
//!
//!   OCTOPOLL_SNMP_YML=path/to/snmp.yml cargo bench --bench config_load
//!
//! Prints medians of several runs and their ratio; measured in one process.

use std::path::PathBuf;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

/// The old second pass: yaml-rust2's marked events, walked to the end.
fn events(text: &str) -> usize {
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    let mut n = 0;
    loop {
        match parser.next_token() {
            Ok((yaml_rust2::Event::StreamEnd, _)) | Err(_) => return n,
            Ok(_) => n += 1,
        }
    }
}

fn main() {
    let Some(path) = std::env::var_os("OCTOPOLL_SNMP_YML").map(PathBuf::from) else {
        eprintln!("set OCTOPOLL_SNMP_YML to snmp_exporter's generated snmp.yml");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("read snmp.yml");
    let runs = 7;
    let before = time(runs, || {
        let v: serde_yaml::Value = serde_yaml::from_str(&text).expect("serde_yaml");
        std::hint::black_box(v);
        std::hint::black_box(events(&text));
    });
    let after = time(runs, || {
        let d = octopoll::config::yaml::parse(&text).expect("parse");
        std::hint::black_box(d);
    });
    println!(
        "{}: {} bytes\nparse before (serde_yaml + yaml-rust2 events): {before:?}\n\
         parse now (one yaml-rust2 pass with lines):     {after:?}\nratio now/before: {:.2}",
        path.display(),
        text.len(),
        after.as_secs_f64() / before.as_secs_f64()
    );

    // The whole load of a config naming every module.
    let root: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let names: Vec<String> = root["modules"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let dir = tempfile::tempdir().unwrap();
    let mut y = format!(
        "module_files: [{:?}]\nauths:\n  v2: {{version: 2c, community: public}}\ndefaults: {{auth: v2}}\ndevices:\n",
        path.display().to_string()
    );
    for (i, n) in names.iter().enumerate() {
        y.push_str(&format!(
            "  - {{name: d{i}, address: 127.0.0.1, modules: [\"{stem}:{n}\"]}}\n"
        ));
    }
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(&cfg, y).unwrap();
    let load = time(runs, || {
        let c = octopoll::config::load(&cfg).expect("loads");
        std::hint::black_box(c);
    });
    println!(
        "load of a config naming all {} modules: {load:?}",
        names.len()
    );
}
