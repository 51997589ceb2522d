//! End to end: a real Prometheus (the Debian 2.42 binary on PATH) scrapes octopoll with
//! the relabelling of prometheus/prometheus.yml and evaluates prometheus/rules; then every
//! PromQL expression of the Grafana dashboards and of the recording rules is run through
//! Prometheus' HTTP API and must return data.
//!
//! Metrics source, chosen by env `OCTOPOLL_E2E_SOURCE`:
//! - unset / `octopoll` (default): the octopoll binary of this crate, started as
//!   `octopoll demo --listen 127.0.0.1:<free port>` (simulated devices and the exporter in
//!   one process). Assumed: `demo` accepts `--listen ADDR` and serves `/-/ready`,
//!   `/targets`, `/probe?device=` and `/metrics?devices=false` as in the interface
//!   contract. Extra arguments (e.g. `--sim-base-port 26100` if the default simulator
//!   ports 16100.. are taken) can be given in env `OCTOPOLL_E2E_DEMO_ARGS`.
//! - `fixture`: tests/fixtures/stack/sample_metrics.txt served by a small std-only HTTP
//!   server in this test, with counters growing with time so rates are non-zero.
//!
//! Grafana variables are replaced as Grafana would: `$device` by a device that has
//! interfaces, `$interface` and `$site` by `.*` (All), and `$__rate_interval` /
//! `$__interval` by `5s` (the test scrapes every second). Annotation and alert queries
//! must only be valid: they describe events and are normally empty.
//!
//! Skips with a message if `prometheus` is not installed, unless env CI is set.

mod common_stack;

use common_stack::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

/// A scratch directory removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("octopoll-e2e-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Minimal HTTP/1.0 GET (no chunked encoding to deal with): (status, body).
fn http_get(addr: &str, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
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

// === metrics source: fixture ===

struct Sample {
    series: String, // name{labels}
    labels: BTreeMap<String, String>,
    value: String,
}

struct Family {
    name: String,
    kind: String,
    meta: Vec<String>, // HELP / TYPE lines
    samples: Vec<Sample>,
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(inner) = s.split_once('{').map(|(_, r)| r.trim_end_matches('}')) else {
        return out;
    };
    let c: Vec<char> = inner.chars().collect();
    let mut i = 0;
    while i < c.len() {
        let start = i;
        while i < c.len() && c[i] != '=' {
            i += 1;
        }
        let key: String = c[start..i]
            .iter()
            .collect::<String>()
            .trim_start_matches(',')
            .trim()
            .to_string();
        i += 2; // ="
        let mut val = String::new();
        while i < c.len() && c[i] != '"' {
            if c[i] == '\\' {
                i += 1;
            }
            val.push(c[i]);
            i += 1;
        }
        i += 1; // closing quote
        out.insert(key, val);
    }
    out
}

fn parse_fixture(text: &str) -> Vec<Family> {
    let mut fams: Vec<Family> = Vec::new();
    let mut in_header = true;
    for line in text.lines() {
        if in_header
            && line.starts_with("# ")
            && !line.starts_with("# HELP")
            && !line.starts_with("# TYPE")
        {
            continue; // explanatory comments at the top of the file
        }
        in_header = false;
        if line == "# EOF" || line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split_whitespace().next().unwrap().to_string();
            fams.push(Family {
                name,
                kind: String::new(),
                meta: vec![line.to_string()],
                samples: vec![],
            });
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let f = fams.last_mut().expect("TYPE before HELP");
            f.kind = rest.split_whitespace().nth(1).unwrap().to_string();
            f.meta.push(line.to_string());
        } else {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad sample line {line}"));
            let labels = parse_labels(series);
            fams.last_mut()
                .expect("sample before HELP")
                .samples
                .push(Sample {
                    series: series.to_string(),
                    labels,
                    value: value.to_string(),
                });
        }
    }
    fams
}

/// Renders families for one request, making counters grow with time.
fn render(fams: &[Family], elapsed: f64, keep: &dyn Fn(&Family, &Sample) -> bool) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut out = String::new();
    for f in fams {
        let samples: Vec<&Sample> = f.samples.iter().filter(|s| keep(f, s)).collect();
        if samples.is_empty() {
            continue;
        }
        for m in &f.meta {
            out.push_str(m);
            out.push('\n');
        }
        for s in samples {
            let v = if s.value == "@NOW@" {
                now.floor()
            } else {
                let base: f64 = s.value.parse().unwrap();
                let slope = match (f.kind.as_str(), f.name.as_str()) {
                    ("counter", n) if n.contains("Octets") => 1_250_000.0, // 10 Mbit/s
                    ("counter", _) => 0.5,
                    (_, "sysUpTime") => 100.0,
                    _ => 0.0,
                };
                (base + slope * elapsed).floor()
            };
            out.push_str(&format!("{} {v}\n", s.series));
        }
    }
    out.push_str("# EOF\n");
    out
}

struct FixtureServer {
    addr: String,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr); // wake up accept()
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn start_fixture_server() -> FixtureServer {
    let fams = Arc::new(parse_fixture(&read(
        "tests/fixtures/stack/sample_metrics.txt",
    )));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let stop2 = stop.clone();
    let handle = thread::spawn(move || {
        for conn in listener.incoming() {
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).map(|n| n == 0).unwrap_or(true) || l == "\r\n" {
                    break;
                }
            }
            let target = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            let params: BTreeMap<&str, &str> = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .collect();
            let elapsed = start.elapsed().as_secs_f64();
            let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            let (status, ctype, body) = match path {
                "/-/healthy" | "/-/ready" => (200, "text/plain", "OK\n".to_string()),
                "/targets" => (200, "application/json", targets_json(&fams)),
                "/probe" => match params.get("device") {
                    Some(dev) => {
                        let dev = dev.to_string();
                        let keep = move |f: &Family, s: &Sample| {
                            !f.name.starts_with("octopoll_") && s.labels.get("device") == Some(&dev)
                        };
                        (200, om, render(&fams, elapsed, &keep))
                    }
                    None => (400, "text/plain", "missing device\n".to_string()),
                },
                "/metrics" => {
                    let own_only = params.get("devices") == Some(&"false");
                    let keep =
                        move |f: &Family, _: &Sample| !own_only || f.name.starts_with("octopoll_");
                    (200, om, render(&fams, elapsed, &keep))
                }
                _ => (404, "text/plain", "not found\n".to_string()),
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    FixtureServer {
        addr,
        stop,
        handle: Some(handle),
    }
}

/// `/targets` for the fixture: one target per device with its config labels.
fn targets_json(fams: &[Family]) -> String {
    let info = fams
        .iter()
        .find(|f| f.name == "snmp_device")
        .expect("no snmp_device_info in fixture");
    let groups: Vec<Value> = info
        .samples
        .iter()
        .map(|s| {
            let l = &s.labels;
            let mut labels = serde_json::Map::new();
            for k in ["site", "role"] {
                if let Some(v) = l.get(k) {
                    labels.insert(k.to_string(), Value::from(v.as_str()));
                }
            }
            labels.insert(
                "__meta_octopoll_address".into(),
                Value::from(l["address"].as_str()),
            );
            serde_json::json!({"targets": [l["device"]], "labels": labels})
        })
        .collect();
    Value::from(groups).to_string()
}

// === metrics source: octopoll ===

enum Source {
    Fixture(FixtureServer),
    Octopoll { addr: String, _child: KillOnDrop },
}

impl Source {
    fn addr(&self) -> &str {
        match self {
            Source::Fixture(f) => &f.addr,
            Source::Octopoll { addr, .. } => addr,
        }
    }
    fn is_fixture(&self) -> bool {
        matches!(self, Source::Fixture(_))
    }
}

fn start_metrics_source(tmp: &Path) -> Source {
    let mode = std::env::var("OCTOPOLL_E2E_SOURCE").unwrap_or_default();
    if mode == "fixture" {
        let f = start_fixture_server();
        eprintln!("metrics source: fixture server on {}", f.addr);
        return Source::Fixture(f);
    }
    assert!(
        mode.is_empty() || mode == "octopoll",
        "OCTOPOLL_E2E_SOURCE must be `octopoll` or `fixture`, not {mode:?}"
    );
    let addr = format!("127.0.0.1:{}", free_port());
    let log = tmp.join("octopoll.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_octopoll"));
    cmd.args(["demo", "--listen", &addr]);
    if let Ok(extra) = std::env::var("OCTOPOLL_E2E_DEMO_ARGS") {
        cmd.args(extra.split_whitespace());
    }
    let child = cmd
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(tmp.join("octopoll.stderr.log")).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .expect("start octopoll demo");
    let mut child = KillOnDrop(child);
    let ready = wait_for("octopoll /-/ready", Duration::from_secs(30), || {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!(
                "`octopoll demo --listen {addr}` exited with {status} before it was ready.\n\
                 stderr: {}\n(If octopoll's demo is not built yet, run with OCTOPOLL_E2E_SOURCE=fixture.)",
                std::fs::read_to_string(tmp.join("octopoll.stderr.log")).unwrap_or_default()
            );
        }
        matches!(http_get(&addr, "/-/ready"), Ok((200, _)))
    });
    assert!(ready, "octopoll demo on {addr} never became ready");
    let has_targets = wait_for(
        "octopoll /targets to list devices",
        Duration::from_secs(30),
        || matches!(http_get(&addr, "/targets"), Ok((200, b)) if serde_json::from_str::<Vec<Value>>(&b).map(|v| !v.is_empty()).unwrap_or(false)),
    );
    assert!(has_targets, "octopoll demo lists no targets");
    eprintln!("metrics source: octopoll demo on {addr}");
    Source::Octopoll {
        addr,
        _child: child,
    }
}

// === Prometheus ===

/// prometheus/prometheus.yml with octopoll's address replaced, 1s intervals, the rule
/// files by absolute path and no Alertmanager or self-scrape.
fn prometheus_config(octopoll_addr: &str) -> String {
    let text = read("prometheus/prometheus.yml").replace("octopoll:9161", octopoll_addr);
    let mut cfg: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let m = cfg.as_mapping_mut().unwrap();
    m.insert(
        "global".into(),
        serde_yaml::from_str("{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}")
            .unwrap(),
    );
    let rules = root()
        .join("prometheus/rules/*.yml")
        .to_string_lossy()
        .into_owned();
    m.insert(
        "rule_files".into(),
        serde_yaml::Value::Sequence(vec![rules.into()]),
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

    /// Instant query: Ok(result vector) or Err(Prometheus' error).
    fn query(&self, q: &str) -> Result<Vec<Value>, String> {
        let (status, body) =
            http_get(&self.addr, &format!("/api/v1/query?query={}", urlencode(q)))?;
        let v: Value =
            serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("{}: {}", v["errorType"], v["error"]));
        }
        match &v["data"]["result"] {
            Value::Array(a) => Ok(a.clone()),
            other => Ok(vec![other.clone()]), // scalar
        }
    }

    fn nonempty(&self, q: &str) -> bool {
        self.query(q).map(|r| !r.is_empty()).unwrap_or(false)
    }
}

/// Expressions that describe abnormal states and are legitimately empty on a healthy
/// system (nothing down, no alert firing).
fn may_be_empty(e: &Expr, fixture: bool) -> bool {
    match e.kind {
        ExprKind::Annotation | ExprKind::AlertRule => true,
        _ => {
            e.expr.contains("ALERTS")
                || e.expr.contains("== 0")
                || e.expr.contains("!= 1")
                // custom OIDs: the fixture has some, octopoll's demo may not
                || (!fixture && e.expr.contains("__name__"))
                // notifications: a device that sent none has none (the demo sends none)
                || e.expr.contains("snmp_traps")
        }
    }
}

#[test]
fn dashboards_and_recording_rules_return_data() {
    let Some(bin) = tool("prometheus") else {
        return;
    };
    let tmp = TempDir::new();
    let source = start_metrics_source(&tmp.0);
    let prom = Prometheus::start(&bin, &tmp.0, &prometheus_config(source.addr()));

    // Enough scrapes for rates, and the recording rules evaluated.
    let ready = wait_for(
        "10 scrapes of every target and recorded bits/s",
        Duration::from_secs(90),
        || {
            prom.nonempty("min(count_over_time(up[1m])) >= 10")
                && prom.nonempty("interface:octopoll_in_bits:rate5m")
                && prom.nonempty("interface:octopoll_in_utilisation:ratio5m")
        },
    );
    assert!(
        ready,
        "no data in Prometheus; up = {:?}\n{}",
        prom.query("up"),
        prom.log_tail()
    );

    // Scraping and relabelling as in prometheus.yml: every target up, one target per
    // device named after it, and octopoll's labels kept (honor_labels).
    let up = prom.query("up").unwrap();
    for s in &up {
        assert_eq!(s["value"][1], "1", "target down: {s}");
    }
    let devices = prom
        .query(r#"snmp_device_up{job="octopoll-devices"}"#)
        .unwrap();
    assert!(!devices.is_empty(), "no devices scraped through /probe");
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
        prom.nonempty(r#"octopoll_build_info{job="octopoll"}"#),
        "job octopoll does not scrape /metrics?devices=false"
    );
    assert!(
        prom.query(r#"ifOperStatus{job="octopoll"}"#)
            .unwrap()
            .is_empty(),
        "job octopoll must not scrape device series (devices=false)"
    );

    let mut exprs = rule_exprs();
    let mut device_exprs = Vec::new();
    for rel in DASHBOARDS {
        let e = dashboard_exprs(rel);
        if rel.ends_with("device.json") {
            device_exprs = e.clone();
        }
        exprs.extend(e);
    }

    // $device: the device with interfaces for which the Device dashboard shows most.
    let mut candidates: Vec<String> = prom
        .query("count by (device) (ifOperStatus)")
        .unwrap()
        .iter()
        .map(|s| s["metric"]["device"].as_str().unwrap().to_string())
        .collect();
    candidates.sort();
    assert!(!candidates.is_empty(), "no device has interfaces");
    let score = |dev: &str| {
        device_exprs
            .iter()
            .filter(|e| prom.nonempty(&substitute(&e.expr, &vars(dev))))
            .count()
    };
    let device = candidates
        .iter()
        .max_by_key(|d| (score(d), std::cmp::Reverse((*d).clone())))
        .unwrap()
        .clone();
    eprintln!("$device = {device}");

    let fixture = source.is_fixture();
    let mut failures = Vec::new();
    let mut checked = 0;
    for e in &exprs {
        let q = substitute(&e.expr, &vars(&device));
        assert!(
            !q.contains('$'),
            "{}: unsubstituted variable in {q}",
            e.origin
        );
        checked += 1;
        match prom.query(&q) {
            Err(err) => failures.push(format!("{}: query failed: {err}\n    {q}", e.origin)),
            Ok(r) if r.is_empty() && !may_be_empty(e, fixture) => {
                failures.push(format!("{}: no data\n    {q}", e.origin))
            }
            Ok(r) => {
                if let ExprKind::Variable { label } = &e.kind {
                    if !r.iter().any(|s| s["metric"][label.as_str()].is_string()) {
                        failures.push(format!(
                            "{}: no series with label {label}\n    {q}",
                            e.origin
                        ));
                    }
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} expressions found");
    if fixture {
        fixture_specifics(&prom, &device_exprs, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} expressions failed ($device = {device}):\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{checked} expressions checked against a real Prometheus");
}

/// With the fixture we know what each panel must show; check the tricky ones exactly.
fn fixture_specifics(prom: &Prometheus, device_exprs: &[Expr], failures: &mut Vec<String>) {
    let names = |title: &str, key: &str| -> Vec<String> {
        let e = device_exprs
            .iter()
            .find(|e| e.origin.contains(title))
            .unwrap_or_else(|| panic!("no panel {title}"));
        let mut v: Vec<String> = prom
            .query(&substitute(&e.expr, &vars("paris-core1")))
            .unwrap()
            .iter()
            .map(|s| s["metric"][key].as_str().unwrap_or("").to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let mut expect = |title: &str, key: &str, want: &[&str]| {
        let got = names(title, key);
        if got != want {
            failures.push(format!("{title}: {key} = {got:?}, want {want:?}"));
        }
    };
    // Custom OIDs are found automatically, and nothing built in is mistaken for one.
    expect(
        "\"Custom OIDs (gauges)\"",
        "__name__",
        &["cpmCPUTotal5minRev"],
    );
    // rate() drops the name; the walked column's index tells the series apart.
    expect(
        "\"Custom OIDs (counters, per second)\"",
        "index",
        &["1", "2"],
    );
    // The 0-speed VLAN is left out of utilisation instead of dividing by zero.
    expect("\"Utilisation\" A", "ifName", &["Gi1/0/1", "Gi1/0/2"]);
    // All three interfaces have traffic.
    expect("\"Traffic\" A", "ifName", &["Gi1/0/1", "Gi1/0/2", "Vl10"]);
    // 32-bit fallback: lyon-acc1 has only ifInOctets_total and still gets bits/s.
    let r = prom
        .query(r#"interface:octopoll_in_bits:rate5m{device="lyon-acc1"}"#)
        .unwrap();
    if r.len() != 3 {
        failures.push(format!(
            "32-bit fallback: {} lyon-acc1 interfaces with bits/s, want 3",
            r.len()
        ));
    }
    // The down device is counted as down.
    let r = prom
        .query(r#"count(snmp_device_up == 0) or vector(0)"#)
        .unwrap();
    if r.first().map(|s| s["value"][1].as_str()) != Some(Some("1")) {
        failures.push(format!("devices down = {r:?}, want 1"));
    }
}

fn vars(device: &str) -> Vec<(&str, &str)> {
    vec![
        ("device", device),
        ("interface", ".*"),
        ("site", ".*"),
        ("__rate_interval", RATE_INTERVAL),
        ("__interval", RATE_INTERVAL),
        ("__range", "1m"),
    ]
}
