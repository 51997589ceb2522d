//! The simulator against real net-snmp tools over loopback.

use octopoll::sim::{self, DeviceSpec, Fault};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A device as common agents are (replies capped at 1,500 bytes).
fn spec(name: &str, interfaces: usize) -> DeviceSpec {
    DeviceSpec {
        name: name.to_owned(),
        interfaces,
        community: "public".to_owned(),
        fault: Fault::None,
        seed: 42,
        ..DeviceSpec::default()
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/recordings")
        .join(name)
}

/// Run a net-snmp tool off the async workers; returns (success, stdout, stderr).
async fn tool(program: &str, args: Vec<String>) -> (bool, String, String) {
    let program = program.to_owned();
    tokio::task::spawn_blocking(move || {
        // No MIBs: values print raw (numbers, quoted strings, Hex-STRING), the same on
        // every machine whatever MIBs are installed.
        let out = Command::new(&program)
            .args(&args)
            .env("MIBS", "")
            .env("MIBDIRS", "/nonexistent")
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .expect("tool task")
}

fn args(list: &[&str], addr: SocketAddr, rest: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.extend(["-t", "1", "-r", "0", "-On"].map(String::from));
    v.push(addr.to_string());
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

async fn bulkwalk(addr: SocketAddr, oid: &str) -> Vec<(String, String)> {
    let (ok, out, err) = tool(
        "snmpbulkwalk",
        args(&["-v2c", "-c", "public"], addr, &[oid]),
    )
    .await;
    assert!(ok, "snmpbulkwalk failed: {err}");
    lines(&out)
}

/// Split walk output into (oid, "TYPE: value") pairs (single-line values only).
fn lines(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.split_once(" = "))
        // Printed by net-snmp when the walk reaches the end of the agent's MIB view.
        .filter(|(_, v)| !v.starts_with("No more variables"))
        .map(|(o, v)| (o.to_owned(), v.trim_end().to_owned()))
        .collect()
}

fn column<'a>(rows: &'a [(String, String)], prefix: &str) -> Vec<&'a str> {
    rows.iter()
        .filter(|(o, _)| o.starts_with(prefix))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn number(v: &str) -> u64 {
    v.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("number in {v:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulkwalk_iftable_and_ifxtable() {
    let stop = CancellationToken::new();
    let run = sim::start(LOCALHOST, 0, vec![spec("sw1", 8)], stop.clone())
        .await
        .unwrap();
    let addr = run.devices[0].1;
    assert_eq!(run.devices[0].0, "sw1");

    let sys = bulkwalk(addr, "1.3.6.1.2.1.1").await;
    assert_eq!(column(&sys, ".1.3.6.1.2.1.1.5.0"), vec!["STRING: \"sw1\""]);

    let if_table = bulkwalk(addr, "1.3.6.1.2.1.2.2").await;
    // Every row of every column, in order (a walk that skipped or looped would differ).
    assert_eq!(if_table.len(), 8 * 15);
    let idx = column(&if_table, ".1.3.6.1.2.1.2.2.1.1.");
    assert_eq!(
        idx,
        (1..=8).map(|i| format!("INTEGER: {i}")).collect::<Vec<_>>()
    );
    let descr = column(&if_table, ".1.3.6.1.2.1.2.2.1.2.");
    assert_eq!(descr[0], "STRING: \"GigabitEthernet1/0/1\"");
    assert_eq!(descr[5], "STRING: \"GigabitEthernet1/0/6\"");
    assert_eq!(descr[6], "STRING: \"TenGigabitEthernet1/1/1\"");
    assert_eq!(descr[7], "STRING: \"TenGigabitEthernet1/1/2\"");

    let ifx = bulkwalk(addr, "1.3.6.1.2.1.31.1.1").await;
    assert_eq!(ifx.len(), 8 * 5);
    let names = column(&ifx, ".1.3.6.1.2.1.31.1.1.1.1.");
    assert_eq!(names[0], "STRING: \"Gi1/0/1\"");
    assert_eq!(names[7], "STRING: \"Te1/1/2\"");
    let alias = column(&ifx, ".1.3.6.1.2.1.31.1.1.1.18.");
    assert_eq!(alias[6], "STRING: \"uplink core-sw1\"");
    assert_eq!(alias[2], "STRING: \"user port 3\"");
    assert_eq!(
        column(&ifx, ".1.3.6.1.2.1.31.1.1.1.15.")[7],
        "Gauge32: 10000"
    );
    assert_eq!(column(&ifx, ".1.3.6.1.2.1.31.1.1.1.6.").len(), 8);
    stop.cancel();
    run.stop().await;
}

/// (ifIndex, ifName) of every row of ifXTable's ifName column, from `snmpbulkwalk`.
async fn if_names(addr: SocketAddr) -> Vec<(u32, String)> {
    bulkwalk(addr, "1.3.6.1.2.1.31.1.1.1.1")
        .await
        .into_iter()
        .map(|(oid, v)| {
            let idx = oid.rsplit('.').next().unwrap().parse().unwrap();
            (idx, v)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renumbered_if_indexes_are_visible_over_snmp() {
    let stop = CancellationToken::new();
    let run = sim::start(LOCALHOST, 0, vec![spec("chassis", 60)], stop.clone())
        .await
        .unwrap();
    let addr = run.devices[0].1;
    let last_change = || async {
        let rows = bulkwalk(addr, "1.3.6.1.2.1.31.1.5").await;
        let v = column(&rows, ".1.3.6.1.2.1.31.1.5.0");
        assert_eq!(v.len(), 1, "{rows:?}");
        v[0].split(['(', ')'])
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let before = if_names(addr).await;
    assert_eq!(
        before.iter().map(|r| r.0).collect::<Vec<_>>(),
        (1..=60).collect::<Vec<_>>()
    );
    let changed_before = last_change().await;

    // A line card swap: every interface comes back 1,000 higher.
    assert!(run.set_if_index_offset("chassis", 1000));
    assert!(!run.set_if_index_offset("no-such-device", 1));
    let after = if_names(addr).await;
    assert_eq!(after.len(), 60);
    for ((i, name), (j, name2)) in before.iter().zip(&after) {
        assert_eq!((*j, name2), (i + 1000, name), "the port keeps its name");
    }
    // Every column moved, and the ifIndex column's values with it.
    let if_index = bulkwalk(addr, "1.3.6.1.2.1.2.2.1.1").await;
    assert_eq!(if_index.first().unwrap().0, ".1.3.6.1.2.1.2.2.1.1.1001");
    assert_eq!(if_index.first().unwrap().1, "INTEGER: 1001");
    let counters = bulkwalk(addr, "1.3.6.1.2.1.31.1.1.1.6").await;
    assert_eq!(counters.len(), 60);
    assert!(counters.iter().all(|(o, _)| {
        let idx: u32 = o.rsplit('.').next().unwrap().parse().unwrap();
        (1001..=1060).contains(&idx)
    }));
    // The old index is gone.
    let (ok, out, _) = tool(
        "snmpget",
        args(
            &["-v2c", "-c", "public"],
            addr,
            &["1.3.6.1.2.1.31.1.1.1.1.1"],
        ),
    )
    .await;
    assert!(ok && out.contains("No Such Instance"), "{out}");
    // ifTableLastChange says the table changed.
    assert!(last_change().await > changed_before);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capped_replies_carry_the_same_table() {
    let stop = CancellationToken::new();
    let mut uncapped = spec("big-replies", 55);
    uncapped.max_reply_bytes = 0;
    let mut tight = spec("tight", 55);
    tight.max_reply_bytes = 600;
    let run = sim::start(
        LOCALHOST,
        0,
        vec![spec("capped", 55), uncapped, tight],
        stop.clone(),
    )
    .await
    .unwrap();
    let walk = |i: usize| {
        let addr = run.devices[i].1;
        async move {
            let (ok, out, err) = tool(
                "snmpbulkwalk",
                args(
                    &["-v2c", "-c", "public", "-Cr50"],
                    addr,
                    &["1.3.6.1.2.1.2.2.1.2"],
                ),
            )
            .await;
            assert!(ok, "{err}");
            lines(&out)
        }
    };
    let (capped, whole, tight) = (walk(0).await, walk(1).await, walk(2).await);
    assert_eq!(capped.len(), 55);
    assert_eq!(capped, whole);
    assert_eq!(tight, whole);
    let stats = |name: &str| run.stats(name).unwrap();
    let (c, w, t) = (stats("capped"), stats("big-replies"), stats("tight"));
    // Uncapped: one request of 50 rows, one of the last 5 and past the column.
    assert_eq!((w.requests, w.cut), (2, 0), "{w:?}");
    // Capped: every reply was cut but at most the last (which may end in the next column,
    // so be full too), and a tighter cap needs more of them.
    assert!(c.cut >= 1 && c.requests - c.cut <= 1, "{c:?}");
    assert!(t.requests > c.requests && t.requests - t.cut <= 1, "{t:?}");
    assert!(c.varbinds_sent < c.varbinds_asked, "{c:?}");
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_increase_between_walks() {
    let stop = CancellationToken::new();
    let run = sim::start(LOCALHOST, 0, vec![spec("sw1", 4)], stop.clone())
        .await
        .unwrap();
    let addr = run.devices[0].1;
    let hc = ".1.3.6.1.2.1.31.1.1.1.6.";
    let first = bulkwalk(addr, "1.3.6.1.2.1.31.1.1.1.6").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = bulkwalk(addr, "1.3.6.1.2.1.31.1.1.1.6").await;
    let a: Vec<u64> = column(&first, hc).into_iter().map(number).collect();
    let b: Vec<u64> = column(&second, hc).into_iter().map(number).collect();
    assert_eq!(a.len(), 4);
    // The uplinks (3 and 4) always carry traffic; nothing ever goes backwards.
    for i in 0..4 {
        assert!(
            b[i] >= a[i],
            "ifHCInOctets.{} went from {} to {}",
            i + 1,
            a[i],
            b[i]
        );
    }
    assert!(b[2] > a[2] && b[3] > a[3], "{a:?} -> {b:?}");
    // sysUpTime advances about 100 ticks per second.
    let up = |rows: &[(String, String)]| {
        let v = column(rows, ".1.3.6.1.2.1.1.3.0")[0].to_owned();
        v.split(['(', ')'])
            .nth(1)
            .and_then(|n| n.parse::<u64>().ok())
            .expect("ticks")
    };
    let u1 = up(&bulkwalk(addr, "1.3.6.1.2.1.1.3").await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let u2 = up(&bulkwalk(addr, "1.3.6.1.2.1.1.3").await);
    assert!((40..=100).contains(&(u2 - u1)), "{u1} -> {u2}");
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters32_only_device_has_no_hc_counters() {
    let stop = CancellationToken::new();
    let mut d = spec("old", 6);
    d.counters32_only = true;
    let run = sim::start(LOCALHOST, 0, vec![d], stop.clone())
        .await
        .unwrap();
    let addr = run.devices[0].1;
    let ifx = bulkwalk(addr, "1.3.6.1.2.1.31.1.1").await;
    assert!(
        column(&ifx, ".1.3.6.1.2.1.31.1.1.1.6.").is_empty(),
        "{ifx:?}"
    );
    assert!(column(&ifx, ".1.3.6.1.2.1.31.1.1.1.10.").is_empty());
    assert_eq!(column(&ifx, ".1.3.6.1.2.1.31.1.1.1.1.").len(), 6);
    let octets = bulkwalk(addr, "1.3.6.1.2.1.2.2.1.10").await;
    assert_eq!(octets.len(), 6);
    assert!(octets.iter().all(|(_, v)| v.starts_with("Counter32: ")));
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_getnext_walk_and_get() {
    let stop = CancellationToken::new();
    let run = sim::start(LOCALHOST, 0, vec![spec("v1dev", 5)], stop.clone())
        .await
        .unwrap();
    let addr = run.devices[0].1;
    let (ok, out, err) = tool(
        "snmpwalk",
        args(&["-v1", "-c", "public"], addr, &["1.3.6.1.2.1"]),
    )
    .await;
    assert!(ok, "{err}");
    let rows = lines(&out);
    // Everything except the Counter64 columns, which SNMPv1 cannot carry: system group
    // and ifNumber, 15 ifTable and 3 ifXTable columns, ifTableLastChange.
    assert_eq!(rows.len(), 8 + 5 * 15 + 5 * 3 + 1, "{out}");
    assert!(!out.contains("Counter64"));
    assert_eq!(column(&rows, ".1.3.6.1.2.1.2.2.1.2.").len(), 5);

    let (ok, out, err) = tool(
        "snmpget",
        args(
            &["-v1", "-c", "public"],
            addr,
            &["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.2.1.0"],
        ),
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains("STRING: \"v1dev\"") && out.contains("INTEGER: 5"),
        "{out}"
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2c_get_exceptions() {
    let stop = CancellationToken::new();
    let run = sim::start(LOCALHOST, 0, vec![spec("sw", 2)], stop.clone())
        .await
        .unwrap();
    let addr = run.devices[0].1;
    let (_, out, _) = tool(
        "snmpget",
        args(
            &["-v2c", "-c", "public"],
            addr,
            &[
                "1.3.6.1.2.1.2.2.1.2.2",
                "1.3.6.1.2.1.2.2.1.2.9",
                "1.3.6.1.4.1.1.0",
            ],
        ),
    )
    .await;
    assert!(out.contains("STRING: \"GigabitEthernet1/0/2\""), "{out}");
    assert!(out.contains("No Such Instance"), "{out}");
    assert!(out.contains("No Such Object"), "{out}");
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_community_and_no_answer_time_out() {
    let stop = CancellationToken::new();
    let mut dead = spec("dead", 2);
    dead.fault = Fault::NoAnswer;
    let run = sim::start(LOCALHOST, 0, vec![spec("sw", 2), dead], stop.clone())
        .await
        .unwrap();
    let (ok, _, err) = tool(
        "snmpget",
        args(
            &["-v2c", "-c", "private"],
            run.devices[0].1,
            &["1.3.6.1.2.1.1.5.0"],
        ),
    )
    .await;
    assert!(!ok && err.contains("Timeout"), "{err}");
    let (ok, _, err) = tool(
        "snmpget",
        args(
            &["-v2c", "-c", "public"],
            run.devices[1].1,
            &["1.3.6.1.2.1.1.5.0"],
        ),
    )
    .await;
    assert!(!ok && err.contains("Timeout"), "{err}");
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_device_answers_late() {
    let stop = CancellationToken::new();
    let mut slow = spec("slow", 2);
    slow.reply_delay = Duration::from_millis(400);
    let run = sim::start(LOCALHOST, 0, vec![slow], stop.clone())
        .await
        .unwrap();
    let t = std::time::Instant::now();
    let (ok, out, err) = tool(
        "snmpget",
        args(
            &["-v2c", "-c", "public"],
            run.devices[0].1,
            &["1.3.6.1.2.1.1.5.0"],
        ),
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("\"slow\""));
    assert!(t.elapsed() >= Duration::from_millis(400));
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_base_port_assigns_consecutive_ports() {
    let stop = CancellationToken::new();
    // Find a free pair of ports by binding an ephemeral one and hoping the next is free.
    let base = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let Some(base) = base.checked_sub(2) else {
        return;
    };
    let Ok(run) = sim::start(
        LOCALHOST,
        base,
        vec![spec("a", 1), spec("b", 1)],
        stop.clone(),
    )
    .await
    else {
        return; // ports taken by someone else: nothing to check
    };
    assert_eq!(run.devices[0].1.port(), base);
    assert_eq!(run.devices[1].1.port(), base + 1);
    drop(run);
}

/// Normalise one net-snmp output line ("TYPE: value") to snmprec's (tag, value).
fn as_snmprec(v: &str) -> (String, String) {
    if v == "\"\"" {
        return ("4".to_owned(), String::new());
    }
    let (ty, val) = v.split_once(": ").unwrap_or((v, ""));
    let tag = match ty {
        "INTEGER" => "2",
        "STRING" => "4",
        "Hex-STRING" => "4x",
        "OID" => "6",
        "IpAddress" => "64",
        "Counter32" => "65",
        "Gauge32" => "66",
        "Timeticks" => "67",
        "Counter64" => "70",
        _ => panic!("unexpected type in {v:?}"),
    };
    let val = match tag {
        "4" => val.trim_matches('"').to_owned(),
        "4x" => val.split_whitespace().collect::<String>().to_lowercase(),
        "6" => val.trim_start_matches('.').to_owned(),
        "67" => val.split(['(', ')']).nth(1).unwrap_or("").to_owned(),
        _ => val.to_owned(),
    };
    (tag.to_owned(), val)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmprec_recording_replays_exactly() {
    let path = fixture("access-sw3.snmprec");
    let stop = CancellationToken::new();
    let run = sim::start_recording(LOCALHOST, 0, &path, "public", 0, stop.clone())
        .await
        .unwrap();
    assert_eq!(run.devices[0].0, "access-sw3");
    let (ok, out, err) = tool(
        "snmpwalk",
        args(&["-v2c", "-c", "public"], run.devices[0].1, &["1.3.6.1"]),
    )
    .await;
    assert!(ok, "{err}");
    let walked: Vec<(String, String, String)> = lines(&out)
        .into_iter()
        .map(|(o, v)| {
            let (t, v) = as_snmprec(&v);
            (o.trim_start_matches('.').to_owned(), t, v)
        })
        .collect();
    let recorded: Vec<(String, String, String)> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut p = l.splitn(3, '|');
            let (o, t, v) = (p.next().unwrap(), p.next().unwrap(), p.next().unwrap());
            (o.to_owned(), t.to_owned(), v.to_owned())
        })
        .collect();
    assert_eq!(walked.len(), recorded.len());
    for (w, r) in walked.iter().zip(&recorded) {
        assert_eq!(w, r);
    }
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpwalk_recording_replays_exactly() {
    let path = fixture("core-sw1.walk");
    let stop = CancellationToken::new();
    let run = sim::start_recording(LOCALHOST, 0, &path, "public", 0, stop.clone())
        .await
        .unwrap();
    assert_eq!(run.devices[0].0, "core-sw1");
    let (ok, out, err) = tool(
        "snmpwalk",
        args(&["-v2c", "-c", "public"], run.devices[0].1, &["1.3.6.1"]),
    )
    .await;
    assert!(ok, "{err}");
    // The fixture is what `snmpwalk -On` prints (without MIBs): the replay must print
    // it back line for line.
    let recorded = std::fs::read_to_string(&path).unwrap();
    let norm = |s: &str| {
        s.lines()
            .filter(|l| !l.contains(" = No more variables"))
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (out, recorded) = (norm(&out), norm(&recorded));
    for (o, r) in out.lines().zip(recorded.lines()) {
        assert_eq!(o, r);
    }
    assert_eq!(out.lines().count(), recorded.lines().count());
    run.stop().await;
}

#[tokio::test]
async fn recording_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.snmprec");
    std::fs::write(&bad, "1.3.6.1.2.1.1.1.0|4|ok\n1.3.6.1.2.1.1.3.0|67|soon\n").unwrap();
    let err = sim::Recording::load(&bad).unwrap_err().to_string();
    assert!(err.contains("bad.snmprec:2:"), "{err}");
    let bad = dir.path().join("bad.walk");
    std::fs::write(
        &bad,
        ".1.3.6.1.2.1.1.1.0 = STRING: \"x\"\n.1.3.6.1.2.1.1.3.0 = Weird: 1\n",
    )
    .unwrap();
    let err = sim::Recording::load(&bad).unwrap_err().to_string();
    assert!(err.contains("bad.walk:2:"), "{err}");
    let stop = CancellationToken::new();
    let err = sim::start_recording(LOCALHOST, 0, &bad, "public", 0, stop)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass.
    #[allow(unsafe_code)]
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Throughput figure (not an assertion): the simulator on one single-threaded runtime,
/// hammered by many concurrent GETBULKs from async-snmp clients on another runtime.
/// `cargo test --release --test sim -- --ignored --nocapture throughput`
#[test]
#[ignore]
fn throughput_one_core() {
    use async_snmp::{Auth, Client, Oid, Retry};
    const DEVICES: usize = 50;
    const PER_DEVICE: usize = 4;
    const SECS: u64 = 3;

    // Server: its own thread and current-thread runtime, so it uses at most one core.
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = CancellationToken::new();
    let server_stop = stop.clone();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // Uncapped, as in earlier runs of this figure: replies of 100 varbinds.
            let specs = (0..DEVICES)
                .map(|i| DeviceSpec {
                    max_reply_bytes: 0,
                    ..spec(&format!("b{i}"), 24)
                })
                .collect();
            let run = sim::start(LOCALHOST, 0, specs, server_stop.clone())
                .await
                .unwrap();
            tx.send(run.devices.iter().map(|d| d.1).collect::<Vec<_>>())
                .unwrap();
            let cpu0 = thread_cpu();
            server_stop.cancelled().await;
            let cpu = thread_cpu() - cpu0;
            run.stop().await;
            cpu
        })
    });
    let addrs = rx.recv().unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (varbinds, requests, elapsed) = rt.block_on(async {
        // Four ifTable/ifXTable columns per request, 25 repetitions: 100 varbinds.
        let cols: Vec<Oid> = [
            "1.3.6.1.2.1.2.2.1.2",
            "1.3.6.1.2.1.2.2.1.8",
            "1.3.6.1.2.1.31.1.1.1.6",
            "1.3.6.1.2.1.31.1.1.1.10",
        ]
        .iter()
        .map(|s| Oid::parse(s).unwrap())
        .collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(SECS);
        let start = std::time::Instant::now();
        let mut tasks = Vec::new();
        for addr in &addrs {
            for _ in 0..PER_DEVICE {
                let client = Client::builder(addr.to_string(), Auth::v2c("public"))
                    .request_timeout(Duration::from_secs(2))
                    .retry(Retry::none())
                    .connect()
                    .await
                    .unwrap();
                let cols = cols.clone();
                tasks.push(tokio::spawn(async move {
                    let (mut vbs, mut reqs) = (0u64, 0u64);
                    while tokio::time::Instant::now() < deadline {
                        if let Ok(r) = client.get_bulk(&cols, 0, 25).await {
                            vbs += r.len() as u64;
                            reqs += 1;
                        }
                    }
                    (vbs, reqs)
                }));
            }
        }
        let (mut vbs, mut reqs) = (0, 0);
        for t in tasks {
            let (v, r) = t.await.unwrap();
            vbs += v;
            reqs += r;
        }
        (vbs, reqs, start.elapsed())
    });
    stop.cancel();
    let server_cpu = server.join().unwrap();
    let secs = elapsed.as_secs_f64();
    println!(
        "throughput: {} GETBULKs, {} varbinds in {:.2} s = {:.0} varbinds/s ({:.0} req/s); \
         server thread CPU {:.2} s = {:.2} us/varbind",
        requests,
        varbinds,
        secs,
        varbinds as f64 / secs,
        requests as f64 / secs,
        server_cpu.as_secs_f64(),
        server_cpu.as_secs_f64() * 1e6 / varbinds.max(1) as f64
    );
}

/// Scale figure: 10,000 devices in one process (one port each on 127.0.0.1), memory per
/// device, and that the first and last answer.
/// `cargo test --release --test sim -- --ignored --nocapture ten_thousand`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn ten_thousand_devices() {
    const N: usize = 10_000;
    let stop = CancellationToken::new();
    let rss0 = rss_bytes();
    let t = std::time::Instant::now();
    let specs = (0..N)
        .map(|i| DeviceSpec {
            seed: i as u64,
            ..spec(&sim::device_name(i), 24)
        })
        .collect();
    let run = sim::start(LOCALHOST, 0, specs, stop.clone()).await.unwrap();
    let started = t.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss1 = rss_bytes();
    for (name, addr) in [&run.devices[0], &run.devices[N - 1]] {
        let (ok, out, err) = tool(
            "snmpget",
            args(&["-v2c", "-c", "public"], *addr, &["1.3.6.1.2.1.1.5.0"]),
        )
        .await;
        assert!(ok && out.contains(name.as_str()), "{err}");
    }
    println!(
        "{N} devices started in {:.2} s; RSS {:.1} MB -> {:.1} MB = {:.0} bytes/device",
        started.as_secs_f64(),
        rss0 as f64 / 1e6,
        rss1 as f64 / 1e6,
        (rss1.saturating_sub(rss0)) as f64 / N as f64
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_devices_and_recordings_until_shutdown() {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        sim: sim::SimulateArgs,
    }
    let rec = fixture("access-sw3.snmprec");
    let cli = Cli::try_parse_from([
        "octopoll",
        "--devices",
        "3",
        "--interfaces",
        "4",
        "--base-port",
        "0",
        "--recording",
        rec.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(cli.sim.listen_ip, LOCALHOST);
    assert_eq!(cli.sim.community, "public");
    let stop = CancellationToken::new();
    let task = tokio::spawn(sim::run(cli.sim, stop.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!task.is_finished());
    stop.cancel();
    task.await.unwrap().unwrap();

    // A broken recording stops `run` before anything is served, naming the file.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.snmprec");
    std::fs::write(&bad, "1.3.6.1|4\n").unwrap();
    let cli = Cli::try_parse_from([
        "octopoll",
        "--base-port",
        "0",
        "--recording",
        bad.to_str().unwrap(),
    ])
    .unwrap();
    let err = sim::run(cli.sim, CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.snmprec:1:"), "{err}");
}
