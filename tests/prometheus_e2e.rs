//! End to end, standing in for a Grafana we cannot run here: a real Prometheus (the
//! Debian 2.42 binary on PATH) scrapes a real octopoll with the jobs and relabelling of
//! prometheus/prometheus.yml and evaluates prometheus/rules; octopoll polls the
//! simulator (`octopoll simulate`) with:
//!
//! - `lab-core1`: a synthetic switch with several custom counters walked over the same
//!   index (in and out octets, errors), custom gauges and a custom scalar;
//! - `lab-old1`: a switch with only 32-bit counters;
//! - `lab-edge1`: a recorded switch with a 0-speed VLAN interface; half-way through the
//!   test its config moves to a second recording where Gi1/0/3 is down (admin up) and
//!   sysUpTime went back, so an interface status change and a reboot happen;
//! - `lab-dead1`: an address that never answers.
//!
//! Then every panel target and every annotation of every dashboard in
//! grafana/dashboards/ is run as Grafana would run it (range or instant query, its
//! variables resolved through their own `label_values` queries, `$__rate_interval`
//! = 5s) and must:
//! - not fail (Prometheus' error is reported with the panel),
//! - return data for at least one value of the dashboard's single-valued variables,
//! - render its legend: every `{{label}}` names a label of every returned series,
//! - (tables) convert integer label columns to numbers, since Grafana sorts label
//!   columns as text (1, 10, 11, 2);
//! - (annotations) return a value above zero while their event holds (Grafana's
//!   Prometheus annotations draw only points whose value is > 0), with the labels their
//!   title, text and tags name.
//!
//! Recording rules must return data; alert rules must be valid. Alert rules are loaded
//! with `for: 0s` so alerts fire within the test (the ALERTS panels need some).
//!
//! New panels, targets and annotations are checked without changing this file; a panel
//! or an annotation about something the lab does not have yet (a new module's series, a
//! kind of event) fails with "no data" / "never above zero" until the lab has it: add it
//! to [`lab_config`] or to [`Lab::make_events`].
//!
//! Skips with a message if `prometheus` is not installed, unless env CI is set.

mod common_stack;

use common_stack::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RATE_INTERVAL: &str = "5s";

// === plumbing ===

/// A child process killed (by its own PID) when the test ends, pass or fail.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Minimal HTTP/1.0 GET (no chunked encoding to deal with): (status, body).
fn http_get(addr: &str, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: */*\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("bad reply from {addr}: {text}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status")?;
    Ok((status, body.to_string()))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(250));
    }
    eprintln!("timed out after {timeout:?} waiting for {what}");
    false
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

// === the lab: simulator, recordings, a dead address, octopoll ===

/// A recorded 4-port switch: Gi1/0/1-3 and a VLAN interface of speed 0. `gi3_oper` is
/// ifOperStatus of Gi1/0/3 (admin status is always up).
fn recording(uptime_ticks: u32, gi3_oper: i64) -> String {
    let mut r = vec![
        "1.3.6.1.2.1.1.1.0|4|Cisco IOS Software, C2960X (recorded lab switch)".to_string(),
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.1208".into(),
        format!("1.3.6.1.2.1.1.3.0|67|{uptime_ticks}"),
        "1.3.6.1.2.1.1.5.0|4|lab-edge".into(),
        "1.3.6.1.2.1.1.6.0|4|Lab rack 2".into(),
        "1.3.6.1.2.1.2.1.0|2|4".into(),
    ];
    let names = ["Gi1/0/1", "Gi1/0/2", "Gi1/0/3", "Vl10"];
    let descr = [
        "GigabitEthernet1/0/1",
        "GigabitEthernet1/0/2",
        "GigabitEthernet1/0/3",
        "Vlan10",
    ];
    let if_col = |col: u32, f: &dyn Fn(usize) -> String| -> Vec<String> {
        (0..4)
            .map(|i| format!("1.3.6.1.2.1.2.2.1.{col}.{}|{}", i + 1, f(i)))
            .collect()
    };
    r.extend(if_col(1, &|i| format!("2|{}", i + 1)));
    r.extend(if_col(2, &|i| format!("4|{}", descr[i])));
    r.extend(if_col(7, &|_| "2|1".into()));
    r.extend(if_col(8, &|i| {
        format!("2|{}", if i == 2 { gi3_oper } else { 1 })
    }));
    r.extend(if_col(10, &|i| format!("65|{}", 1000 * (i + 1))));
    r.extend(if_col(13, &|_| "65|0".into()));
    r.extend(if_col(14, &|_| "65|0".into()));
    r.extend(if_col(16, &|i| format!("65|{}", 2000 * (i + 1))));
    r.extend(if_col(19, &|_| "65|0".into()));
    r.extend(if_col(20, &|_| "65|0".into()));
    let ifx_col = |col: u32, f: &dyn Fn(usize) -> String| -> Vec<String> {
        (0..4)
            .map(|i| format!("1.3.6.1.2.1.31.1.1.1.{col}.{}|{}", i + 1, f(i)))
            .collect()
    };
    r.extend(ifx_col(1, &|i| format!("4|{}", names[i])));
    r.extend(ifx_col(6, &|i| format!("70|{}", 1_000_000 * (i + 1))));
    r.extend(ifx_col(10, &|i| format!("70|{}", 2_000_000 * (i + 1))));
    r.extend(ifx_col(15, &|i| {
        format!("66|{}", if i == 3 { 0 } else { 1000 })
    }));
    r.extend(ifx_col(18, &|i| format!("4|lab port {}", i + 1)));
    r.join("\n") + "\n"
}

/// The custom OIDs of `lab-core1`: (metric name as Prometheus stores it, config line).
/// Several counters over the same index: the case that broke the custom counters panel.
const CUSTOM_COUNTERS: [(&str, &str); 3] = [
    (
        "labInOctets_total",
        "{name: labInOctets, oid: 1.3.6.1.2.1.2.2.1.10, type: counter, walk: true}",
    ),
    (
        "labOutOctets_total",
        "{name: labOutOctets, oid: 1.3.6.1.2.1.2.2.1.16, type: counter, walk: true}",
    ),
    (
        "labInErrors_total",
        "{name: labInErrors, oid: 1.3.6.1.2.1.2.2.1.14, type: counter, walk: true}",
    ),
];
const CUSTOM_GAUGES: [(&str, &str); 2] = [
    (
        "labMtu",
        "{name: labMtu, oid: 1.3.6.1.2.1.2.2.1.4, type: gauge, walk: true}",
    ),
    (
        "labIfNumber",
        "{name: labIfNumber, oid: 1.3.6.1.2.1.2.1.0, type: gauge}",
    ),
];

fn lab_config(sim: &BTreeMap<String, String>, edge: &str, dead: &str, traps: &str) -> String {
    let mut oids = String::new();
    for (_, line) in CUSTOM_COUNTERS.iter().chain(&CUSTOM_GAUGES) {
        oids.push_str(&format!("    - {line}\n"));
    }
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/snmp-exporter-modules.yml");
    format!(
        "module_files: [{modules:?}]\n\
         traps: {{listen: \"{traps}\", communities: [public]}}\n\
         defaults: {{interval: 1s, timeout: 300ms, retries: 0, auth: sim, modules: [if_mib]}}\n\
         auths:\n  sim: {{version: 2c, community: public}}\n\
         modules:\n  lab_counters:\n{oids}\
         devices:\n\
         \x20 - {{name: lab-host1, address: \"{host}\", modules: [if_mib, hrDevice, hrStorage, ucd_memory, ucd_system_stats, ucd_la_table, entity_sensors], labels: {{site: paris, role: server}}}}\n\
         \x20 - {{name: lab-core1, address: \"{core}\", modules: [if_mib, lab_counters], labels: {{site: paris, role: core}}}}\n\
         \x20 - {{name: lab-old1, address: \"{old}\", labels: {{site: lyon, role: access}}}}\n\
         \x20 - {{name: lab-edge1, address: \"{edge}\", labels: {{site: lyon, role: access}}}}\n\
         \x20 - {{name: lab-dead1, address: \"{dead}\", labels: {{site: nantes, role: router}}}}\n",
        core = sim["sim-00000"],
        old = sim["sim-00001"],
        host = sim["lab-host"],
    )
}

struct Lab {
    dir: tempfile::TempDir,
    config: PathBuf,
    sim: BTreeMap<String, String>,
    dead: String,
    traps: String,
    octopoll: String,
    _dead_socket: UdpSocket,
    _sim: KillOnDrop,
    _octopoll: KillOnDrop,
}

impl Lab {
    fn start() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            dir.path().join("edge-a.snmprec"),
            dir.path().join("edge-b.snmprec"),
        );
        std::fs::write(&a, recording(50_000_000, 1)).unwrap();
        std::fs::write(&b, recording(1_000, 2)).unwrap();
        let sim_out = dir.path().join("sim.out");
        let sim = Command::new(env!("CARGO_BIN_EXE_octopoll"))
            .args(["simulate", "--devices", "2", "--interfaces", "8"])
            .args(["--base-port", "0", "--counters32-every", "2"])
            .arg("--recording")
            .arg(&a)
            .arg("--recording")
            .arg(&b)
            // A Linux server with host resources, UCD and entity sensors (the Health row).
            .arg("--recording")
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/recordings/lab-host.snmprec"),
            )
            .stdout(std::fs::File::create(&sim_out).unwrap())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("start octopoll simulate");
        let sim = KillOnDrop(sim);
        let mut devices = BTreeMap::new();
        let ok = wait_for("the simulator's addresses", Duration::from_secs(20), || {
            devices = std::fs::read_to_string(&sim_out)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.split_once(' '))
                .map(|(n, a)| (n.to_string(), a.trim().to_string()))
                .collect();
            devices.len() == 5
        });
        assert!(ok, "simulator printed {devices:?}");
        // Bound and never read: requests to it time out, like a dead device.
        let dead_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let dead = dead_socket.local_addr().unwrap().to_string();
        let config = dir.path().join("octopoll.yml");
        // The notification listener's port: lab-host1 (the first device at 127.0.0.1) gets
        // the trap make_events sends.
        let traps = format!("127.0.0.1:{}", free_udp_port());
        std::fs::write(
            &config,
            lab_config(&devices, &devices["edge-a"], &dead, &traps),
        )
        .unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(dir.path().join("octopoll.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_octopoll"))
            .arg("--config")
            .arg(&config)
            .args(["--listen", &addr])
            .stdout(Stdio::null())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start octopoll");
        let mut child = KillOnDrop(child);
        let ready = wait_for("octopoll /-/ready", Duration::from_secs(30), || {
            if let Ok(Some(status)) = child.0.try_wait() {
                panic!(
                    "octopoll exited with {status}:\n{}",
                    std::fs::read_to_string(dir.path().join("octopoll.log")).unwrap_or_default()
                );
            }
            matches!(http_get(&addr, "/-/ready"), Ok((200, _)))
        });
        assert!(ready, "octopoll on {addr} never became ready");
        Lab {
            dir,
            config,
            sim: devices,
            dead,
            traps,
            octopoll: addr,
            _dead_socket: dead_socket,
            _sim: sim,
            _octopoll: child,
        }
    }

    /// The events the annotations are about, between two stretches of normal polling:
    /// lab-edge1 moves to the second recording, where Gi1/0/3 is down and sysUpTime went
    /// back (an interface status change and a reboot); lab-dead1 is down throughout; a
    /// linkDown notification arrives (from 127.0.0.1: lab-host1).
    fn make_events(&self) {
        let text = lab_config(&self.sim, &self.sim["edge-b"], &self.dead, &self.traps);
        let tmp = self.config.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &self.config).unwrap();
        let sent = Command::new("/usr/bin/snmptrap")
            .args(["-v2c", "-c", "public", "-m", ""])
            .arg(&self.traps)
            .args(["", "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.1", "i", "1"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            sent,
            "snmptrap (Debian package snmp) could not send the lab's notification"
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("octopoll.log")).unwrap_or_default()
    }
}

// === Prometheus ===

/// prometheus/prometheus.yml with octopoll's address replaced, 1s intervals, the rule
/// files (copied with `for: 0s`) by absolute path and no Alertmanager or self-scrape.
fn prometheus_config(octopoll_addr: &str, tmp: &Path) -> String {
    let text = read("prometheus/prometheus.yml").replace("octopoll:9161", octopoll_addr);
    let mut cfg: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let m = cfg.as_mapping_mut().unwrap();
    m.insert(
        "global".into(),
        serde_yaml::from_str("{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}")
            .unwrap(),
    );
    let rules_dir = tmp.join("rules");
    std::fs::create_dir_all(&rules_dir).unwrap();
    for f in files("prometheus/rules", ".yml") {
        let mut y = yaml(&f);
        for g in y["groups"].as_sequence_mut().unwrap() {
            for r in g["rules"].as_sequence_mut().into_iter().flatten() {
                if let Some(m) = r.as_mapping_mut() {
                    if m.contains_key("for") {
                        m.insert("for".into(), "0s".into());
                    }
                }
            }
        }
        let name = Path::new(&f).file_name().unwrap();
        std::fs::write(rules_dir.join(name), serde_yaml::to_string(&y).unwrap()).unwrap();
    }
    m.insert(
        "rule_files".into(),
        serde_yaml::Value::Sequence(vec![rules_dir
            .join("*.yml")
            .to_string_lossy()
            .into_owned()
            .into()]),
    );
    m.remove("alerting");
    let jobs = m
        .get_mut("scrape_configs")
        .unwrap()
        .as_sequence_mut()
        .unwrap();
    jobs.retain(|j| {
        j["job_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("octopoll"))
    });
    assert_eq!(
        jobs.len(),
        2,
        "expected the octopoll-devices and octopoll jobs"
    );
    serde_yaml::to_string(&cfg).unwrap()
}

struct Prometheus {
    addr: String,
    log: PathBuf,
    _child: KillOnDrop,
}

impl Prometheus {
    fn start(bin: &Path, tmp: &Path, config: &str) -> Self {
        let cfg = tmp.join("prometheus.yml");
        std::fs::write(&cfg, config).unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let log = tmp.join("prometheus.log");
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(tmp.join("prometheus.stdout.log")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            addr,
            log,
            _child: KillOnDrop(child),
        };
        let ready = wait_for("prometheus /-/ready", Duration::from_secs(30), || {
            matches!(http_get(&p.addr, "/-/ready"), Ok((200, _)))
        });
        assert!(ready, "prometheus did not start:\n{}", p.log_tail());
        p
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn api(&self, path: &str) -> Result<Vec<Value>, String> {
        let (status, body) = http_get(&self.addr, path)?;
        let v: Value =
            serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("{}: {}", v["errorType"], v["error"]));
        }
        match &v["data"]["result"] {
            Value::Array(a) => Ok(a.clone()),
            Value::Null => Ok(v["data"].as_array().cloned().unwrap_or_default()),
            other => Ok(vec![other.clone()]), // scalar
        }
    }

    /// Instant query: Ok(result vector) or Err(Prometheus' error).
    fn query(&self, q: &str) -> Result<Vec<Value>, String> {
        self.api(&format!("/api/v1/query?query={}", urlencode(q)))
    }

    /// Range query with a 1 s step: Ok(matrix) or Err(Prometheus' error).
    fn query_range(&self, q: &str, start: f64, end: f64) -> Result<Vec<Value>, String> {
        self.api(&format!(
            "/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step=1",
            urlencode(q)
        ))
    }

    /// Values of `label` on the series matching `selector`, as Grafana's `label_values`.
    fn label_values(&self, selector: &str, label: &str) -> Result<Vec<String>, String> {
        let (status, body) = http_get(
            &self.addr,
            &format!(
                "/api/v1/label/{label}/values?match[]={}",
                urlencode(selector)
            ),
        )?;
        let v: Value =
            serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("{}: {}", v["errorType"], v["error"]));
        }
        Ok(v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect())
    }

    fn nonempty(&self, q: &str) -> bool {
        self.query(q).map(|r| !r.is_empty()).unwrap_or(false)
    }
}

// === Grafana's side: variables, legends, annotations ===

/// Grafana's built-in variables as the test sets them (it scrapes every second).
fn builtins() -> Vec<(String, String)> {
    [
        ("__rate_interval", RATE_INTERVAL),
        ("__interval", RATE_INTERVAL),
        ("__range", "1m"),
        ("__range_s", "60"),
        ("__interval_ms", "5000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn subst(expr: &str, vars: &[(String, String)]) -> String {
    let v: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    substitute(expr, &v)
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Every assignment of the dashboard's variables to try: a variable with "All" takes
/// its all-value; a single-valued one is tried with each of its values (e.g. every
/// device). Query variables are resolved through Prometheus, in dashboard order, so a
/// variable may depend on an earlier one.
fn assignments(prom: &Prometheus, d: &Value, origin: &str) -> Vec<Vars> {
    let mut out = vec![builtins()];
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        let name = v["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{origin}: variable without name"));
        let kind = v["type"].as_str().unwrap_or("query");
        let mut next = Vec::new();
        for vars in &out {
            let values: Vec<String> = match kind {
                "query" => {
                    let q = v["query"]["query"]
                        .as_str()
                        .or(v["query"].as_str())
                        .unwrap_or("");
                    let (sel, label) = parse_label_values(q).unwrap_or_else(|| {
                        panic!("{origin}: variable {name}: only label_values(selector, label) is understood here, not {q:?}")
                    });
                    let sel = subst(&sel, vars);
                    prom.label_values(&sel, &label).unwrap_or_else(|e| {
                        panic!(
                            "{origin}: variable {name}: label_values({sel}, {label}) failed: {e}"
                        )
                    })
                }
                "custom" => v["query"]
                    .as_str()
                    .unwrap_or("")
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                "constant" | "textbox" => vec![v["query"].as_str().unwrap_or("").to_string()],
                "interval" => vec![RATE_INTERVAL.to_string()],
                "datasource" => vec!["prometheus".to_string()],
                other => panic!("{origin}: variable {name} of type {other} is not handled here"),
            };
            // No values (e.g. interfaces of the dead device): Grafana still runs the
            // panels with All's value; without All the combination has nothing to show.
            if values.is_empty() && v["includeAll"].as_bool() != Some(true) {
                continue;
            }
            if v["includeAll"].as_bool() == Some(true) {
                let all = v["allValue"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        format!(
                            "({})",
                            values
                                .iter()
                                .map(|s| regex_escape(s))
                                .collect::<Vec<_>>()
                                .join("|")
                        )
                    });
                let mut vars = vars.clone();
                vars.push((name.to_string(), all));
                next.push(vars);
            } else {
                for value in values {
                    let mut vars = vars.clone();
                    vars.push((name.to_string(), value));
                    next.push(vars);
                }
            }
        }
        assert!(
            !next.is_empty(),
            "{origin}: variable {name} has no values in the lab"
        );
        out = next;
    }
    out
}

/// Label names in a Grafana template such as a legend: `{{ifName}} in` -> ifName.
fn template_labels(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(i) = rest.find("{{") {
        let Some(j) = rest[i..].find("}}") else { break };
        out.push(rest[i + 2..i + j].trim().to_string());
        rest = &rest[i + j + 2..];
    }
    out
}

/// A `$name` or `${name}` still in a query: a variable Grafana would substitute but the
/// dashboard does not define. (`$1` in label_replace is PromQL's, not Grafana's.)
fn grafana_variable_left(q: &str) -> bool {
    q.match_indices('$').any(|(i, _)| {
        q[i + 1..]
            .chars()
            .next()
            .is_some_and(|c| c == '{' || c == '_' || c.is_ascii_alphabetic())
    })
}

fn vars_text(vars: &[(String, String)]) -> String {
    vars.iter()
        .filter(|(k, _)| !k.starts_with("__"))
        .map(|(k, v)| format!("${k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Values of the dashboard variables (and Grafana's built-ins) for one run of a query.
type Vars = Vec<(String, String)>;

/// What one target returned under every assignment it was tried with.
struct TargetRun {
    origin: String,
    /// (variables, series) for the assignments that returned data.
    hits: Vec<(Vars, Vec<Value>)>,
}

struct Checker<'a> {
    prom: &'a Prometheus,
    start: f64,
    failures: Vec<String>,
    checked: usize,
}

impl Checker<'_> {
    fn fail(&mut self, msg: String) {
        self.failures.push(msg);
    }

    /// Runs `expr` under every assignment; records errors; returns the hits.
    fn run(&mut self, origin: &str, expr: &str, instant: bool, assignments: &[Vars]) -> TargetRun {
        self.checked += 1;
        let end = unix_now();
        let mut hits = Vec::new();
        let mut errors = BTreeSet::new();
        for vars in assignments {
            let q = subst(expr, vars);
            if grafana_variable_left(&q) {
                self.fail(format!("{origin}: unsubstituted variable in {q}"));
                break;
            }
            let r = if instant {
                self.prom.query(&q)
            } else {
                self.prom.query_range(&q, self.start, end)
            };
            match r {
                Err(e) => {
                    errors.insert(format!(
                        "{origin}: query failed ({}): {e}\n    {q}",
                        vars_text(vars)
                    ));
                }
                Ok(series) if !series.is_empty() => hits.push((vars.clone(), series)),
                Ok(_) => {}
            }
        }
        self.failures.extend(errors);
        TargetRun {
            origin: origin.to_string(),
            hits,
        }
    }
}

fn panel_targets(p: &Value) -> Vec<&Value> {
    p["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["hide"].as_bool() != Some(true))
        .collect()
}

/// Integer-valued label columns a table panel shows without converting them to numbers.
fn text_sorted_integer_columns(p: &Value, series: &[Value]) -> Vec<String> {
    let mut integer: BTreeMap<String, bool> = BTreeMap::new();
    for s in series {
        for (k, v) in s["metric"].as_object().into_iter().flatten() {
            let is_int = v
                .as_str()
                .is_some_and(|v| !v.is_empty() && v.parse::<i64>().is_ok());
            let e = integer.entry(k.clone()).or_insert(true);
            *e &= is_int;
        }
    }
    let transforms: Vec<&Value> = p["transformations"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let excluded = |k: &str| {
        transforms.iter().any(|t| {
            t["id"] == "organize" && t["options"]["excludeByName"][k].as_bool() == Some(true)
        })
    };
    let converted = |k: &str| {
        transforms.iter().any(|t| {
            t["id"] == "convertFieldType"
                && t["options"]["conversions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["targetField"] == k && c["destinationType"] == "number")
        })
    };
    integer
        .into_iter()
        .filter(|(k, int)| *int && !excluded(k) && !converted(k))
        .map(|(k, _)| k)
        .collect()
}

/// Checks every panel target of one dashboard; returns the runs for the specific checks.
fn check_panels(c: &mut Checker, rel: &str, d: &Value, assignments: &[Vars]) -> Vec<TargetRun> {
    let mut runs = Vec::new();
    for p in all_panels(d) {
        let kind = p["type"].as_str().unwrap_or("");
        let title = p["title"].as_str().unwrap_or("?");
        let targets = panel_targets(p);
        if targets.is_empty() {
            if !matches!(
                kind,
                "row" | "text" | "news" | "dashlist" | "annolist" | "alertlist"
            ) {
                c.fail(format!("{rel} panel {title:?} ({kind}) has no query"));
            }
            continue;
        }
        let mut table_series = Vec::new();
        for t in targets {
            let reference = t["refId"].as_str().unwrap_or("");
            let origin = format!("{rel} panel {title:?} {reference}");
            // Other data sources (Alertmanager, Grafana's own) cannot be run here; the
            // schema test still checks their panels.
            let source = t["datasource"]["type"]
                .as_str()
                .or(p["datasource"]["type"].as_str())
                .unwrap_or("prometheus");
            if source != "prometheus" {
                eprintln!("{origin}: {source} data source, not run here");
                continue;
            }
            let Some(expr) = t["expr"].as_str() else {
                c.fail(format!("{origin}: target without a PromQL expr"));
                continue;
            };
            let instant =
                t["instant"].as_bool() == Some(true) && t["range"].as_bool() != Some(true);
            let run = c.run(&origin, expr, instant, assignments);
            if run.hits.is_empty() {
                c.fail(format!(
                    "{origin}: no data for any value of the variables\n    {expr}"
                ));
            }
            // A legend label that no returned series has shows nothing (rate() drops
            // __name__, for one); one that only some series lack is an optional part.
            let legend = t["legendFormat"].as_str().unwrap_or("");
            if legend != "__auto" && !run.hits.is_empty() {
                for l in template_labels(legend) {
                    let present = run.hits.iter().any(|(_, series)| {
                        series
                            .iter()
                            .any(|s| !s["metric"][l.as_str()].as_str().unwrap_or("").is_empty())
                    });
                    if !present {
                        let (vars, series) = &run.hits[0];
                        c.fail(format!(
                            "{origin}: legend {legend:?} names label {l}, which no returned series has (e.g. {} with {}): the legend shows nothing there",
                            series[0]["metric"],
                            vars_text(vars)
                        ));
                    }
                }
            }
            if t["format"] == "table" {
                table_series.extend(run.hits.iter().flat_map(|(_, s)| s.iter().cloned()));
            }
            runs.push(run);
        }
        if kind == "table" {
            for col in text_sorted_integer_columns(p, &table_series) {
                c.fail(format!(
                    "{rel} panel {title:?}: column {col} holds integers, but Grafana sorts label columns as text (1, 10, 11, 2): convert it with a convertFieldType transformation (destinationType number) or hide it"
                ));
            }
        }
    }
    runs
}

/// Annotations: valid, positive while their event holds, with the labels they name.
fn check_annotations(c: &mut Checker, rel: &str, d: &Value, assignments: &[Vars]) {
    for a in d["annotations"]["list"].as_array().into_iter().flatten() {
        let name = a["name"].as_str().unwrap_or("?");
        if a["builtIn"].as_u64() == Some(1) {
            continue; // Grafana's own annotations store
        }
        let origin = format!("{rel} annotation {name:?}");
        if a["datasource"]["type"] != "prometheus" {
            continue;
        }
        let Some(expr) = a["expr"].as_str().or(a["target"]["expr"].as_str()) else {
            c.fail(format!("{origin}: no expr"));
            continue;
        };
        let run = c.run(&origin, expr, false, assignments);
        let positive: Vec<(&Vars, &Value)> = run
            .hits
            .iter()
            .flat_map(|(vars, series)| series.iter().map(move |s| (vars, s)))
            .filter(|(_, s)| {
                s["values"].as_array().into_iter().flatten().any(|v| {
                    v[1].as_str()
                        .and_then(|x| x.parse::<f64>().ok())
                        .is_some_and(|x| x > 0.0)
                })
            })
            .collect();
        if positive.is_empty() {
            let values: Vec<String> = run
                .hits
                .iter()
                .flat_map(|(_, s)| s.iter())
                .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v[1].as_str().map(str::to_string))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            c.fail(format!(
                "{origin}: never above zero while its event held in the lab (values seen: {values:?}); Grafana draws only points above zero\n    {expr}"
            ));
        }
        let mut named: Vec<String> = ["titleFormat", "textFormat"]
            .iter()
            .flat_map(|k| template_labels(a[*k].as_str().unwrap_or("")))
            .collect();
        named.extend(
            a["tagKeys"]
                .as_str()
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
        for l in named {
            if let Some((vars, s)) = positive
                .iter()
                .find(|(_, s)| s["metric"][l.as_str()].as_str().unwrap_or("").is_empty())
            {
                c.fail(format!(
                    "{origin}: names label {l}, which its series {} lacks ({})",
                    s["metric"],
                    vars_text(vars)
                ));
            }
        }
    }
}

// === the test ===

#[test]
fn dashboards_and_recording_rules_return_data() {
    let Some(bin) = tool("prometheus") else {
        return;
    };
    let lab = Lab::start();
    let tmp = tempfile::tempdir().unwrap();
    let prom = Prometheus::start(
        &bin,
        tmp.path(),
        &prometheus_config(&lab.octopoll, tmp.path()),
    );
    let start = unix_now();

    // Enough scrapes for rates, the recording rules evaluated, an alert firing.
    let ready = wait_for(
        "10 scrapes of every target, recorded bits/s, a firing alert",
        Duration::from_secs(120),
        || {
            prom.nonempty("min(count_over_time(up[1m])) >= 10")
                && prom.nonempty("interface:octopoll_in_bits:rate5m")
                && prom.nonempty("interface:octopoll_in_utilisation:ratio5m")
                && prom.nonempty(r#"ALERTS{alertstate="firing", alertname="SnmpDeviceDown"}"#)
        },
    );
    assert!(
        ready,
        "no data in Prometheus; up = {:?}\n{}\noctopoll:\n{}",
        prom.query("up"),
        prom.log_tail(),
        lab.log()
    );

    lab.make_events();
    let switched = wait_for(
        "lab-edge1's Gi1/0/3 down in Prometheus",
        Duration::from_secs(60),
        || prom.nonempty(r#"ifOperStatus{device="lab-edge1", ifName="Gi1/0/3"} == 2"#),
    );
    assert!(switched, "the config change did not show:\n{}", lab.log());
    thread::sleep(Duration::from_secs(3));

    relabelling(&prom);

    let mut c = Checker {
        prom: &prom,
        start,
        failures: Vec::new(),
        checked: 0,
    };
    let mut device_runs = Vec::new();
    for rel in &dashboards() {
        let d = json(rel);
        let assignments = assignments(&prom, &d, rel);
        let runs = check_panels(&mut c, rel, &d, &assignments);
        check_annotations(&mut c, rel, &d, &assignments);
        if d["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["name"] == "device")
        {
            device_runs.extend(runs);
        }
    }
    for e in rule_exprs() {
        let origin = e.origin.clone();
        let run = c.run(&origin, &e.expr, true, &[Vec::new()]);
        if e.kind == ExprKind::RecordingRule && run.hits.is_empty() {
            c.fail(format!("{origin}: no data\n    {}", e.expr));
        }
    }
    lab_specifics(&prom, &device_runs, &mut c.failures);
    let checked = c.checked;
    assert!(checked > 40, "only {checked} expressions found");
    assert!(
        c.failures.is_empty(),
        "{} problem(s) in {checked} expressions:\n{}",
        c.failures.len(),
        c.failures.join("\n")
    );
    eprintln!("{checked} expressions checked against a real Prometheus scraping octopoll");
}

/// Scraping and relabelling as in prometheus.yml: every target up, one target per
/// device named after it, and octopoll's labels kept (honor_labels).
fn relabelling(prom: &Prometheus) {
    let up = prom.query("up").unwrap();
    for s in &up {
        assert_eq!(s["value"][1], "1", "target down: {s}");
    }
    let devices = prom
        .query(r#"snmp_device_up{job="octopoll-devices"}"#)
        .unwrap();
    assert_eq!(devices.len(), 5, "one target per device: {devices:?}");
    for s in &devices {
        assert_eq!(
            s["metric"]["instance"], s["metric"]["device"],
            "instance must be the device name: {s}"
        );
    }
    assert!(
        prom.query(r#"{exported_device=~".+"}"#).unwrap().is_empty(),
        "device labels were renamed: honor_labels missing"
    );
    let own = prom
        .query(r#"count by (job) ({__name__=~"octopoll_.+"})"#)
        .unwrap();
    assert!(
        own.iter().all(|s| s["metric"]["job"] == "octopoll"),
        "octopoll's own metrics scraped by the wrong job: {own:?}"
    );
    assert!(
        prom.query(r#"ifOperStatus{job="octopoll"}"#)
            .unwrap()
            .is_empty(),
        "job octopoll must not scrape device series (devices=false)"
    );
}

/// What the lab was built to show, found by what the panels return rather than by
/// their titles: the custom OID panels show every custom OID of lab-core1 (counters as
/// rates, which drop the metric name, so some label must carry it) and nothing else.
fn lab_specifics(prom: &Prometheus, device_runs: &[TargetRun], failures: &mut Vec<String>) {
    let custom: BTreeSet<&str> = CUSTOM_COUNTERS
        .iter()
        .chain(&CUSTOM_GAUGES)
        .map(|(n, _)| *n)
        .collect();
    let names_in = |s: &Value| -> Vec<String> {
        s["metric"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, v)| v.as_str())
            .filter(|v| custom.contains(v))
            .map(str::to_string)
            .collect()
    };
    let mut found = BTreeSet::new();
    for r in device_runs {
        for (vars, series) in &r.hits {
            if !vars.iter().any(|(k, v)| k == "device" && v == "lab-core1") {
                continue;
            }
            let here: Vec<String> = series.iter().flat_map(&names_in).collect();
            if here.is_empty() {
                continue;
            }
            for s in series.iter().filter(|s| names_in(s).is_empty()) {
                failures.push(format!(
                    "{}: shows {}, which is not a custom OID",
                    r.origin, s["metric"]
                ));
            }
            found.extend(here);
        }
    }
    let want: BTreeSet<String> = custom.iter().map(|s| s.to_string()).collect();
    if found != want {
        failures.push(format!(
            "custom OIDs of lab-core1 on the Device dashboard: {found:?}, want {want:?}"
        ));
    }
    // 32-bit fallback: every lab-old1 interface still gets bits/s.
    let r = prom
        .query(r#"interface:octopoll_in_bits:rate5m{device="lab-old1"}"#)
        .unwrap();
    if r.len() != 8 {
        failures.push(format!(
            "32-bit fallback: {} lab-old1 interfaces with bits/s, want 8",
            r.len()
        ));
    }
    // The 0-speed VLAN is left out of utilisation instead of dividing by zero.
    let r = prom
        .query(r#"interface:octopoll_in_utilisation:ratio5m{device="lab-edge1"}"#)
        .unwrap();
    let names: BTreeSet<&str> = r
        .iter()
        .filter_map(|s| s["metric"]["ifName"].as_str())
        .collect();
    if names.contains("Vl10") || names.len() != 3 {
        failures.push(format!(
            "utilisation of lab-edge1: {names:?}, want the 3 Gi ports"
        ));
    }
    let r = prom.query("count(snmp_device_up == 0)").unwrap();
    if r.first().map(|s| s["value"][1].as_str()) != Some(Some("1")) {
        failures.push(format!("devices down = {r:?}, want 1 (lab-dead1)"));
    }
}
