//! Module files in snmp_exporter's format, read by octopoll and by Debian's
//! prometheus-snmp-exporter 0.21 in the same test, polling the same agents: net-snmp's
//! snmpd, snmpsim serving recordings of a real Cisco and a real HP switch, and octopoll's
//! simulator serving a recording of values the others lack. Every sample snmp_exporter
//! returns for a module must be on octopoll's `/probe` with the same name, labels and value
//! (plus `device`), and nothing more.
//!
//! Where 0.21 differs from today's snmp_exporter (no scale/offset, ParseDateAndTime,
//! NTPTimeStamp, display hints, filters, lookup enum values; no UTF-8 repair; an EnumAsInfo
//! index named like its metric fails the scrape), octopoll follows today's code
//! (collector/collector.go), the 0.21 file avoids those features, and
//! `current_snmp_exporter_features` checks them against values worked out by hand.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_tcp_port, http, tool, wait_for, Octopoll, Proc, Simulator, Snmpd, Snmpsim};

const EXPORTER: &str = "/usr/bin/prometheus-snmp-exporter";
const SNMPSIM_DATA: &str = "/usr/share/doc/snmpsim/examples/data";

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// (metric name, labels without `device`, sorted) → value.
type Samples = BTreeMap<(String, Vec<(String, String)>), f64>;

/// Parses the sample lines of a Prometheus or OpenMetrics text exposition. Empty label
/// values are dropped (Prometheus stores them as absent), and so is `device`.
fn parse(text: &str) -> Samples {
    let mut out = Samples::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, parse_labels(rest.strip_suffix('}').expect("closing }"))),
            None => (series, Vec::new()),
        };
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        let mut labels: Vec<(String, String)> = labels
            .into_iter()
            .filter(|(k, v)| k != "device" && !v.is_empty())
            .collect();
        labels.sort();
        out.insert((name.to_string(), labels), value);
    }
    out
}

fn parse_labels(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            return out;
        }
        assert_eq!(chars.next(), Some('"'), "label {name} in {s}");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(o) => value.push(o),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.push((name.trim_start_matches(',').to_string(), value));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
}

struct Exporter {
    addr: String,
    _proc: Proc,
}

impl Exporter {
    fn start(config: &Path) -> Option<Exporter> {
        let bin = tool(EXPORTER)?;
        let port = free_tcp_port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start snmp_exporter");
        let e = Exporter {
            addr,
            _proc: Proc {
                child,
                name: "snmp_exporter",
            },
        };
        let up = wait_for(Duration::from_secs(10), || {
            http(&e.addr, "GET", "/").map(|_| ())
        });
        assert!(up.is_some(), "snmp_exporter did not start");
        Some(e)
    }

    fn scrape(&self, target: &str, module: &str) -> Samples {
        let (status, body) = http(
            &self.addr,
            "GET",
            &format!("/snmp?target={target}&module={module}"),
        )
        .expect("scrape snmp_exporter");
        assert_eq!(status, 200, "snmp_exporter {module} on {target}: {body}");
        let mut s = parse(&body);
        s.retain(|(name, _), _| !name.starts_with("snmp_scrape_"));
        s
    }
}

/// An octopoll config: `module_files` and one device per (name, port, modules).
fn config(module_files: &[&Path], devices: &[(&str, u16, &[&str])]) -> String {
    let mut y = String::from("module_files:\n");
    for f in module_files {
        y.push_str(&format!("  - {:?}\n", f.display().to_string()));
    }
    y.push_str(
        "auths:\n  v2: {version: 2c, community: public}\n\
         defaults: {auth: v2, interval: 3s, timeout: 1s, retries: 1}\ndevices:\n",
    );
    for (name, port, modules) in devices {
        y.push_str(&format!(
            "  - {{name: {name}, address: \"127.0.0.1:{port}\", modules: [{}]}}\n",
            modules.join(", ")
        ));
    }
    y
}

/// The device's samples once its first poll is in, without octopoll's own families.
fn probe(o: &Octopoll, device: &str) -> Samples {
    let body = wait_for(Duration::from_secs(20), || {
        let (status, body) = o.get(&format!("/probe?device={device}"));
        (status == 200).then_some(body)
    })
    .unwrap_or_else(|| panic!("{device} was not polled; log:\n{}", o.log()));
    assert!(
        body.contains(&format!("snmp_device_up{{device=\"{device}\"}} 1")),
        "{device} is down:\n{body}\nlog:\n{}",
        o.log()
    );
    let mut s = parse(&body);
    s.retain(|(name, _), _| !name.starts_with("snmp_") && !name.starts_with("octopoll_"));
    s
}

/// Series whose values move between two polls of a live agent (loopback traffic, the
/// clock, load and memory): compared by name and labels only.
const MOVING: &[&str] = &[
    "ifHCInOctets",
    "hrSystemUptime",
    "hrSystemDate",
    "hrStorageUsed",
    "laLoad",
    "laLoadFloat",
];

/// Asserts that `ours` holds exactly `theirs` (values equal unless the series moves).
fn assert_same(what: &str, theirs: &Samples, ours: &Samples) {
    assert!(
        !theirs.is_empty(),
        "{what}: snmp_exporter returned no samples"
    );
    let missing: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let extra: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: series differ\nonly snmp_exporter has: {missing:#?}\nonly octopoll has: {extra:#?}"
    );
    let mut compared = 0;
    for (k, v) in theirs {
        if MOVING.contains(&k.0.as_str()) {
            continue;
        }
        compared += 1;
        let o = ours[k];
        assert!(
            (v - o).abs() <= 1e-9 * v.abs().max(1.0),
            "{what}: {k:?} is {v} in snmp_exporter, {o} in octopoll"
        );
    }
    eprintln!(
        "{what}: {} series alike, {compared} with equal values",
        theirs.len()
    );
}

/// snmp_exporter's output for several modules of one target, merged.
fn scrape_all(e: &Exporter, port: u16, modules: &[&str]) -> Samples {
    let mut all = Samples::new();
    for m in modules {
        all.extend(e.scrape(&format!("127.0.0.1:{port}"), m));
    }
    all
}

#[test]
fn samples_match_snmp_exporter_on_snmpd_recordings_and_simulator() {
    let old = fixture("modules/exporter-0.21.yml");
    let Some(exporter) = Exporter::start(&old) else {
        return;
    };
    let cisco = Snmpsim::start(&Path::new(SNMPSIM_DATA).join("cisco_16_switch.snmprec.gz"));
    let hp = Snmpsim::start(&Path::new(SNMPSIM_DATA).join("hp_perf.snmprec.gz"));
    let (Some(cisco), Some(hp)) = (cisco, hp) else {
        return;
    };
    let Some(snmpd) = Snmpd::start(
        "createUser monitor SHA authpassword1 AES privpassword1\nrouser monitor priv\n",
    ) else {
        return;
    };
    let sim = Simulator::start(&[fixture("recordings/features.snmprec")]);
    let features = sim.ports["features"];
    cisco.wait();
    hp.wait();

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    let snmpd_modules: &[&str] = &["if_table", "ip", "host", "vacm"];
    std::fs::write(
        &cfg,
        config(
            &[&old],
            &[
                ("snmpd", snmpd.port, snmpd_modules),
                ("cisco", cisco.port, &["cisco"]),
                ("hp", hp.port, &["bridge"]),
                ("features", features, &["features"]),
            ],
        ),
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &[]);

    // Static recordings: every value equal. A module's samples are what snmp_exporter
    // returns for it; a device with several modules exposes their union.
    let started = Instant::now();
    assert_same(
        "cisco_16_switch (snmpsim)",
        &scrape_all(&exporter, cisco.port, &["cisco"]),
        &probe(&o, "cisco"),
    );
    assert_same(
        "hp_perf (snmpsim)",
        &scrape_all(&exporter, hp.port, &["bridge"]),
        &probe(&o, "hp"),
    );
    assert_same(
        "features (octopoll simulate)",
        &scrape_all(&exporter, features, &["features"]),
        &probe(&o, "features"),
    );
    // A live agent: values that move between the two polls are compared by name only.
    assert_same(
        "snmpd",
        &scrape_all(&exporter, snmpd.port, snmpd_modules),
        &probe(&o, "snmpd"),
    );
    eprintln!("compared in {:?}", started.elapsed());

    // The module file's auth and walk settings are not octopoll's: check says so.
    let out = Command::new(env!("CARGO_BIN_EXE_octopoll"))
        .arg("check")
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("`version` and `auth` are not used"),
        "{stdout}"
    );
}

/// The same modules in today's format (a top-level `auths`, no per-module auth) give
/// octopoll the same samples as the older format.
#[test]
fn both_file_formats_read_alike() {
    let old = fixture("modules/exporter-0.21.yml");
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&old).unwrap();
    let mut root: serde_yaml::Mapping = serde_yaml::from_str(&text).unwrap();
    for (_, m) in root.iter_mut() {
        let m = m.as_mapping_mut().unwrap();
        m.remove("version");
        m.remove("auth");
    }
    let mut new = serde_yaml::Mapping::new();
    new.insert(
        "auths".into(),
        serde_yaml::from_str("{public_v2: {community: public, version: 2}}").unwrap(),
    );
    new.insert("modules".into(), serde_yaml::Value::Mapping(root));
    let new_path = dir.path().join("snmp.yml");
    std::fs::write(&new_path, serde_yaml::to_string(&new).unwrap()).unwrap();

    let sim = Simulator::start(&[fixture("recordings/features.snmprec")]);
    let port = sim.ports["features"];
    let cfg_old = dir.path().join("old.yml");
    let cfg_new = dir.path().join("new.yml");
    std::fs::write(&cfg_old, config(&[&old], &[("f", port, &["features"])])).unwrap();
    std::fs::write(
        &cfg_new,
        config(&[&new_path], &[("f", port, &["snmp:features"])]),
    )
    .unwrap();
    let a = Octopoll::start(&cfg_old, &[]);
    let b = Octopoll::start(&cfg_new, &[]);
    let (sa, sb) = (probe(&a, "f"), probe(&b, "f"));
    assert!(sa.len() > 20, "{sa:#?}");
    assert_eq!(sa, sb);
    // Today's format's own auths are noted as unused too.
    let out = Command::new(env!("CARGO_BIN_EXE_octopoll"))
        .arg("check")
        .arg(&cfg_new)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("its `auths` are not used"), "{stdout}");
}

/// What only today's snmp_exporter does, on values chosen for it: every sample worked out
/// by hand from tests/fixtures/recordings/features.snmprec.
#[test]
fn current_snmp_exporter_features() {
    let sim = Simulator::start(&[fixture("recordings/features.snmprec")]);
    let port = sim.ports["features"];
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    let file = fixture("modules/exporter-current.yml");
    std::fs::write(&cfg, config(&[&file], &[("f", port, &["current"])])).unwrap();
    let o = Octopoll::start(&cfg, &[]);
    let got = probe(&o, "f");
    let s = |name: &str, labels: &[(&str, &str)], v: f64| {
        let mut l: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        l.sort();
        ((name.to_string(), l), v)
    };
    let want: Samples = [
        // "Feb 29 2024" with '%b %d %Y': midnight UTC.
        s("featParsed", &[], 1_709_164_800.0),
        // 0xE9000000 seconds since 1900.
        s("featNtp", &[], 3_909_091_328.0 - 2_208_988_800.0),
        // C0 A8 01 01 through DISPLAY-HINT 1d.1d.1d.1d.
        s("featHint", &[("featHint", "192.168.1.1")], 1.0),
        // 4523 × 0.01 in float64, as snmp_exporter computes it (45.230000000000004).
        s("featScaled", &[], 4523.0 * 0.01),
        s("featOffset", &[], 60.0),
        // The filter keeps the rows whose name starts with "uplink": 1 and 3, not 2.
        s(
            "featUplinkOctets",
            &[("featIndex", "1"), ("featName", "uplink-1")],
            10.0,
        ),
        s(
            "featUplinkOctets",
            &[("featIndex", "3"), ("featName", "uplink-3")],
            30.0,
        ),
        // featState is its table's own index: no featState_info series.
        s("featStateCount", &[("featState", "up")], 5.0),
        s("featStateCount", &[("featState", "down")], 3.0),
        // 61 FF FE 62: the invalid run becomes one U+FFFD.
        s(
            "featText",
            &[("featIndex", "1"), ("featText", "a\u{FFFD}b")],
            1.0,
        ),
        s(
            "featRole",
            &[("featIndex", "1"), ("featRoleName", "backup")],
            1.0,
        ),
        // Looked up in a column typed by the one before it (1 IPv4, 2 IPv6).
        s(
            "featPeerRef",
            &[("featIndex", "1"), ("featPeer", "192.168.0.1")],
            7.0,
        ),
        s(
            "featPeerRef",
            &[
                ("featIndex", "2"),
                ("featPeer", "2001:0DB8:0000:0000:0000:0000:0000:0001"),
            ],
            8.0,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    // The filtered column's rows came one by one: its row 2 was never fetched.
    let (_, body) = o.get("/probe?device=f");
    let varbinds = common::sample(&body, "snmp_device_poll_varbinds{device=\"f\"").unwrap();
    // 3 names + 2 kept rows + 5 scalars + 4 (state table) + 1 (text) + 2 (role) + 2
    // (refs) + the 3 addresses and 2 address types the lookup reads.
    assert_eq!(
        varbinds,
        3.0 + 2.0 + 5.0 + 4.0 + 1.0 + 2.0 + 2.0 + 3.0 + 2.0,
        "{body}"
    );
}

/// snmp_exporter's own generated `snmp.yml` (not shipped here: its MIBs' licences; fetch it
/// from prometheus/snmp_exporter and point `OCTOPOLL_SNMP_YML` at it):
/// `octopoll check` on a config naming each of its modules prints no error, and the
/// modules that 0.21 can read and snmpd answers give the same samples in both.
#[test]
#[ignore = "needs OCTOPOLL_SNMP_YML=path/to/snmp_exporter/snmp.yml"]
fn snmp_exporters_generated_file() {
    let Some(path) = std::env::var_os("OCTOPOLL_SNMP_YML").map(PathBuf::from) else {
        eprintln!("OCTOPOLL_SNMP_YML is not set");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let root: serde_yaml::Mapping = serde_yaml::from_str(&text).unwrap();
    let modules = root["modules"].as_mapping().unwrap().clone();
    let names: Vec<String> = modules
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();

    // check: one device per module, each named qualified.
    let dir = tempfile::tempdir().unwrap();
    let mut y = format!(
        "module_files: [{:?}]\nauths:\n  v2: {{version: 2c, community: public}}\n\
         defaults: {{auth: v2}}\ndevices:\n",
        path.display().to_string()
    );
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    for (i, n) in names.iter().enumerate() {
        y.push_str(&format!(
            "  - {{name: d{i}, address: 127.0.0.1, modules: [\"{stem}:{n}\"]}}\n"
        ));
    }
    let cfg = dir.path().join("check.yml");
    std::fs::write(&cfg, y).unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_octopoll"))
        .arg("check")
        .arg(&cfg)
        .output()
        .unwrap();
    eprintln!(
        "check of {} modules ({} bytes) in {:?}:\n{}{}",
        names.len(),
        text.len(),
        started.elapsed(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());

    // The modules snmpd answers, in 0.21's layout, where they use nothing 0.21 lacks.
    let too_new = ["scale", "offset", "datetime_pattern", "display_hint"];
    let mut old = serde_yaml::Mapping::new();
    let mut usable = Vec::new();
    for want in [
        "if_mib",
        "system",
        "ip_mib",
        "ucd_la_table",
        "ucd_memory",
        "ucd_system_stats",
    ] {
        let Some(m) = modules.get(want) else { continue };
        let dump = serde_yaml::to_string(m).unwrap();
        if too_new.iter().any(|k| dump.contains(&format!("{k}:")))
            || dump.contains("ParseDateAndTime")
            || dump.contains("NTPTimeStamp")
        {
            eprintln!("{want}: uses what 0.21 lacks, skipped");
            continue;
        }
        let mut m = m.as_mapping().unwrap().clone();
        m.insert("version".into(), 2.into());
        m.insert(
            "auth".into(),
            serde_yaml::from_str("{community: public}").unwrap(),
        );
        old.insert(want.into(), serde_yaml::Value::Mapping(m));
        usable.push(want);
    }
    let old_path = dir.path().join("old.yml");
    std::fs::write(&old_path, serde_yaml::to_string(&old).unwrap()).unwrap();
    let Some(exporter) = Exporter::start(&old_path) else {
        return;
    };
    let Some(snmpd) = Snmpd::start("") else {
        return;
    };
    let cfg = dir.path().join("poll.yml");
    // Qualified: a plain `if_mib` is octopoll's built-in one.
    let qualified: Vec<String> = usable.iter().map(|m| format!("old:{m}")).collect();
    let qualified: Vec<&str> = qualified.iter().map(String::as_str).collect();
    std::fs::write(
        &cfg,
        config(&[&old_path], &[("snmpd", snmpd.port, &qualified)]),
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &[]);
    let theirs = scrape_all(&exporter, snmpd.port, &usable);
    let mut ours = probe(&o, "snmpd");
    // Moving values of a live agent (see MOVING), by name.
    for (k, v) in ours.iter_mut() {
        if k.0.starts_with("ss")
            || k.0.starts_with("mem")
            || k.0.contains("Octets")
            || k.0.contains("Pkts")
            || k.0 == "sysUpTime"
            || k.0.starts_with("la")
            || k.0.starts_with("ip") && k.0.ends_with('s')
        {
            *v = theirs.get(k).copied().unwrap_or(*v);
        }
    }
    eprintln!("modules compared on snmpd: {usable:?}");
    assert_same("snmp.yml on snmpd", &theirs, &ours);
}
