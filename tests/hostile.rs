//! Misbehaving agents on loopback: garbage, truncated replies, wrong request IDs, duplicate
//! replies, replies from another address, non-increasing and endless walks, a 60 kB
//! OCTET STRING; then a thousand silent devices beside a hundred live ones, the global
//! in-flight cap, and the retry backoff towards a mute agent. octopoll must stay healthy,
//! keep the good devices up with correct data, mark each bad one with a clear error, and
//! never pair a reply with the wrong request.

mod common;
mod fault_agent;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use fault_agent::{FaultAgent, Mode};
use octopoll::sim::{DeviceSpec, Fault};
use tokio_util::sync::CancellationToken;

fn spec(name: &str, fault: Fault, seed: u64) -> DeviceSpec {
    DeviceSpec {
        name: name.to_string(),
        interfaces: 4,
        community: "public".into(),
        fault,
        seed,
        ..DeviceSpec::default()
    }
}

/// The last-error cell of a status row (7th cell).
fn last_error(row: &str) -> String {
    row.split("<td>")
        .nth(6)
        .and_then(|c| c.split("</td>").next())
        .unwrap_or_default()
        .to_string()
}

fn vmrss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn hostile_agents_do_not_hurt_octopoll_or_each_other() {
    let rt = runtime();
    let stop = CancellationToken::new();
    let modes = [
        ("garbage", Mode::Garbage),
        ("truncated", Mode::Truncated),
        ("wrong-id", Mode::WrongRequestId),
        ("duplicate", Mode::Duplicate),
        ("other-source", Mode::OtherSource),
        ("non-increasing", Mode::NonIncreasing),
        ("endless", Mode::Endless),
        ("huge-string", Mode::HugeString),
        ("normal", Mode::Normal),
    ];
    let agents: Vec<(&str, FaultAgent)> = rt.block_on(async {
        let mut v = Vec::new();
        for (name, mode) in modes {
            v.push((name, fault_agent::start(mode, name, stop.clone()).await));
        }
        v
    });
    let sim = rt
        .block_on(octopoll::sim::start(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            0,
            vec![spec("sim-live", Fault::None, 7)],
            stop.clone(),
        ))
        .unwrap();

    let mut devices = String::new();
    for (name, a) in &agents {
        // Two repetitions per GETBULK: many requests per poll, so a duplicate or stale
        // reply has every chance to be paired with the wrong request.
        devices.push_str(&format!(
            "  - {{name: {name}, address: {}, max_repetitions: 2}}\n",
            a.addr
        ));
    }
    devices.push_str(&format!(
        "  - {{name: sim-live, address: {}}}\n",
        sim.devices[0].1
    ));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(
        &cfg,
        format!(
            "defaults: {{interval: 3s, timeout: 400ms, retries: 1, auth: pub}}\n\
             auths: {{pub: {{version: 2c, community: public}}}}\ndevices:\n{devices}"
        ),
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &[]);
    let pid = o.proc.child.id();

    // Three full intervals: every device polled at least twice.
    let t0 = Instant::now();
    let all: Vec<&str> = modes.iter().map(|m| m.0).chain(["sim-live"]).collect();
    let polled = wait_for(Duration::from_secs(20), || {
        let (_, b) = o.get("/metrics");
        all.iter()
            .all(|d| {
                let ok = sample(
                    &b,
                    &format!("octopoll_polls_total{{device=\"{d}\",result=\"success\""),
                )
                .unwrap_or(0.0);
                let bad = sample(
                    &b,
                    &format!("octopoll_polls_total{{device=\"{d}\",result=\"failure\""),
                )
                .unwrap_or(0.0);
                ok + bad >= 2.0
            })
            .then_some(())
    });
    assert!(
        polled.is_some(),
        "not every device polled twice; log:\n{}",
        o.log()
    );
    eprintln!("two polls of everything after {:?}", t0.elapsed());
    assert_eq!(o.get("/-/healthy").0, 200, "octopoll must stay healthy");

    let (_, body) = o.get("/metrics");
    let up = |d: &str| sample(&body, &format!("snmp_device_up{{device=\"{d}\""));
    let mut report = Vec::new();
    for d in &all {
        let row = o.status_row(d);
        let err = last_error(&row);
        report.push(format!("{d:15} up={:?} error={err}", up(d)));
    }
    eprintln!("{}", report.join("\n"));

    // Good data where the agent is usable.
    for d in ["normal", "duplicate", "huge-string", "sim-live"] {
        assert_eq!(up(d), Some(1.0), "{d}: {}", o.status_row(d));
    }
    for d in ["normal", "duplicate"] {
        // Exactly the agent's three interfaces with their own counters, and no warning:
        // a stale or duplicate reply paired with a later request would show up here as a
        // missing interface or a non-increasing-OID warning.
        for i in 1..=fault_agent::IFACES {
            let v = sample(
                &body,
                &format!("ifHCInOctets_total{{device=\"{d}\",ifIndex=\"{i}\""),
            );
            assert_eq!(v, Some(1000.0 * f64::from(i)), "{d} ifIndex {i}\n{body}");
            let out = sample(
                &body,
                &format!("ifHCOutOctets_total{{device=\"{d}\",ifIndex=\"{i}\""),
            );
            assert_eq!(out, Some(2000.0 * f64::from(i)));
        }
        assert!(!body.contains(&format!("ifHCInOctets_total{{device=\"{d}\",ifIndex=\"4\"")));
        assert_eq!(last_error(&o.status_row(d)), "", "{d} has a warning");
    }
    // The 60 kB ifAlias arrives whole (tooBig made the walk shrink its requests).
    assert!(body.contains(&format!("ifAlias=\"{}\"", "a".repeat(fault_agent::HUGE))));
    assert!(sample(
        &body,
        "ifHCInOctets_total{device=\"huge-string\",ifIndex=\"3\""
    )
    .is_some());
    assert!(sample(
        &body,
        "ifHCInOctets_total{device=\"sim-live\",ifIndex=\"4\""
    )
    .is_some());

    // Non-increasing: up, the columns cut short, and a warning saying so.
    assert_eq!(up("non-increasing"), Some(1.0));
    assert!(last_error(&o.status_row("non-increasing")).contains("non-increasing OID"));

    // Everything else: down, with a clear error.
    for (d, want) in [
        ("garbage", "no response"),
        ("truncated", "no response"),
        ("wrong-id", "no response"),
        ("other-source", "no response"),
    ] {
        assert_eq!(up(d), Some(0.0), "{d}");
        let err = last_error(&o.status_row(d));
        assert!(err.contains(want), "{d}: {err}");
    }
    assert_eq!(up("endless"), Some(0.0));
    let err = last_error(&o.status_row("endless"));
    assert!(
        err.contains("exceeded") || err.contains("deadline"),
        "endless: {err}"
    );
    // The hostile agents were actually asked (the faults were exercised).
    for (d, a) in &agents {
        assert!(a.requests.load(Ordering::Relaxed) >= 2, "{d} never asked");
    }
    // octopoll threw the junk away rather than using it.
    assert!(sample(&body, "octopoll_snmp_discarded_datagrams_total").unwrap_or(0.0) > 0.0);
    eprintln!("octopoll VmRSS after hostile polls: {} kB", vmrss_kb(pid));
    drop(o);
    stop.cancel();
}

/// A thousand devices that never answer beside a hundred live ones, interval 5 s: the live
/// devices keep their schedule and octopoll's memory stays flat.
#[test]
fn thousand_silent_devices_do_not_delay_live_ones() {
    let rt = runtime();
    let stop = CancellationToken::new();
    let mut specs = Vec::new();
    for i in 0..1000 {
        specs.push(spec(&format!("dead{i}"), Fault::NoAnswer, i));
    }
    for i in 0..100 {
        specs.push(spec(&format!("live{i}"), Fault::None, 5000 + i));
    }
    let sim = rt
        .block_on(octopoll::sim::start(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            0,
            specs,
            stop.clone(),
        ))
        .unwrap();
    let mut devices = String::new();
    for (name, addr) in &sim.devices {
        devices.push_str(&format!("  - {{name: {name}, address: {addr}}}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(
        &cfg,
        format!(
            "defaults: {{interval: 5s, timeout: 1s, retries: 1, auth: pub}}\n\
             auths: {{pub: {{version: 2c, community: public}}}}\ndevices:\n{devices}"
        ),
    )
    .unwrap();
    // Silent devices hold a permit for timeout x attempts = 2 s of every 5 s: about 400
    // requests in flight on average; 512 bounds it with room for the live ones.
    let o = Octopoll::start(&cfg, &["--max-in-flight", "512", "--no-watch"]);
    let pid = o.proc.child.id();
    let live_ok = |b: &str| -> Vec<f64> {
        (0..100)
            .map(|i| {
                sample(
                    b,
                    &format!("octopoll_polls_total{{device=\"live{i}\",result=\"success\""),
                )
                .unwrap_or(0.0)
            })
            .collect()
    };
    // Warm up: one full interval so every device has had its first (phase-spread) poll.
    std::thread::sleep(Duration::from_secs(6));
    let (_, b0) = o.get("/metrics");
    let start_counts = live_ok(&b0);
    let t0 = Instant::now();
    let mut rss = vec![vmrss_kb(pid)];
    for _ in 0..6 {
        std::thread::sleep(Duration::from_secs(5));
        rss.push(vmrss_kb(pid));
        assert_eq!(o.get("/-/healthy").0, 200);
    }
    let (_, b1) = o.get("/metrics");
    let secs = t0.elapsed().as_secs_f64();
    let end_counts = live_ok(&b1);
    let expected = secs / 5.0;
    let mut worst = f64::MAX;
    let mut total = 0.0;
    for (a, b) in start_counts.iter().zip(&end_counts) {
        worst = worst.min(b - a);
        total += b - a;
    }
    let dead_down = (0..1000)
        .filter(|i| sample(&b1, &format!("snmp_device_up{{device=\"dead{i}\"")) == Some(0.0))
        .count();
    let timeouts = sample(&b1, "octopoll_snmp_timeouts_total").unwrap_or(0.0);
    eprintln!(
        "over {secs:.1}s: expected {expected:.2} polls per live device; got mean {:.2}, worst {worst}; \
         dead devices down: {dead_down}; snmp timeouts: {timeouts}; VmRSS kB every 5 s: {rss:?}",
        total / 100.0
    );
    // Slots: a window of `secs` holds floor or ceil of secs/5 slots per device.
    assert!(
        total / 100.0 >= 0.9 * expected.floor(),
        "live devices lost polls: mean {}",
        total / 100.0
    );
    assert!(
        worst >= expected.floor() - 1.0,
        "a live device lost polls: {worst}"
    );
    assert!(dead_down >= 990, "dead devices not all down: {dead_down}");
    // Memory flat after warm-up: no growth beyond 20% (or 8 MB) across 30 s of timeouts.
    let first = rss[1] as f64;
    let last = *rss.last().unwrap() as f64;
    assert!(
        last <= (first * 1.2).max(first + 8192.0),
        "RSS grew: {rss:?}"
    );
    drop(o);
    stop.cancel();
}

/// `--max-in-flight N` bounds the requests in flight across all devices. 200 silent
/// devices are added by a reload, so all of them poll at once (timeout 1 s, no retries,
/// interval 60 s: the poll deadline of 54 s never cancels a request, which would free its
/// permit early). With N = 10 the agents must see the requests trickle in at about N per
/// second: never more than 2N datagrams start within any 1 s window, and about 10 x 12 in
/// 12 s, where without the cap all 200 would arrive at once.
#[test]
fn max_in_flight_bounds_concurrency() {
    let rt = runtime();
    let stop = CancellationToken::new();
    let agents: Vec<FaultAgent> = rt.block_on(async {
        let mut v = Vec::new();
        for i in 0..201 {
            v.push(fault_agent::start(Mode::Blackhole, &format!("bh{i}"), stop.clone()).await);
        }
        v
    });
    let config = |n: usize| {
        let mut devices = String::new();
        for (i, a) in agents.iter().enumerate().take(n) {
            devices.push_str(&format!("  - {{name: bh{i}, address: {}}}\n", a.addr));
        }
        format!(
            "defaults: {{interval: 60s, timeout: 1s, retries: 0, auth: pub}}\n\
             auths: {{pub: {{version: 2c, community: public}}}}\ndevices:\n{devices}"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(&cfg, config(1)).unwrap();
    let o = Octopoll::start(&cfg, &["--max-in-flight", "10", "--no-watch"]);
    std::fs::write(&cfg, config(201)).unwrap();
    let (status, body) = http(&o.addr, "POST", "/-/reload").unwrap();
    assert_eq!(status, 200, "{body}");
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(12));
    let (_, b) = o.get("/metrics");
    let timeouts = sample(&b, "octopoll_snmp_timeouts_total").unwrap_or(0.0);
    drop(o);
    let mut times: Vec<Instant> = agents[1..]
        .iter()
        .flat_map(|a| a.arrivals.lock().unwrap().clone())
        .filter(|t| *t >= t0)
        .collect();
    times.sort();
    let mut max_window = 0;
    let mut j = 0;
    for i in 0..times.len() {
        while times[i].duration_since(times[j]) >= Duration::from_secs(1) {
            j += 1;
        }
        max_window = max_window.max(i - j + 1);
    }
    eprintln!(
        "{} requests reached the 200 silent agents in 12 s (timeouts counted: {timeouts}); \
         most in any 1 s window: {max_window}",
        times.len()
    );
    assert!(
        max_window <= 20,
        "more than 2 x max-in-flight per timeout: {max_window}"
    );
    assert!(
        max_window >= 8,
        "the cap was not reached, test proves nothing"
    );
    assert!(
        (90..=140).contains(&times.len()),
        "expected about 10 per second: {}",
        times.len()
    );
    stop.cancel();
}

/// Retransmissions to an agent that never answers back off: retry k waits
/// timeout + min(timeout/4, 250 ms) × 2^k (±25% jitter) after the previous send, and the
/// request id stays the same (a late reply to any copy still counts).
#[test]
fn retransmissions_back_off_and_keep_the_request_id() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(6)))
        .unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(
        &cfg,
        format!(
            "defaults: {{interval: 4s, timeout: 400ms, retries: 2, auth: v2}}\n\
             auths: {{v2: {{version: 2c, community: public}}}}\n\
             devices:\n  - {{name: mute, address: 127.0.0.1:{port}}}\n"
        ),
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &[]);
    // The first request and its two retransmissions.
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while got.len() < 3 {
        let (n, _) = silent
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("no request from octopoll ({e}); log:\n{}", o.log()));
        got.push((Instant::now(), buf[..n].to_vec()));
    }
    let gap = |i: usize| got[i].0.duration_since(got[i - 1].0);
    let (g1, g2) = (gap(1), gap(2));
    eprintln!("retransmission gaps: {g1:?}, {g2:?}");
    // Nominal backoffs 100 ms then 200 ms, each ±25% (gaps 475-525 and 550-650 ms); the
    // bounds leave room for a loaded machine (other tests of this file run beside it),
    // while back-to-back retries (the old behaviour) would give gaps of about 400 ms.
    assert!(g1 >= Duration::from_millis(440), "first retry after {g1:?}");
    assert!(
        g2 >= Duration::from_millis(510),
        "second retry after {g2:?}"
    );
    assert!(g1 < Duration::from_millis(1200) && g2 < Duration::from_millis(1300));
    assert_eq!(got[0].1, got[1].1, "a retransmission is the same datagram");
    assert_eq!(got[1].1, got[2].1);
}

/// More slot time wanted than there is (`--max-in-flight 1`, three mute devices that
/// each hold the slot for three 500 ms attempts every 2 s): polls that would start late
/// give up at once with a "poll did not start" error, and octopoll stays responsive.
#[test]
fn polls_without_a_free_slot_give_up_cleanly() {
    let mutes: Vec<std::net::UdpSocket> = (0..3)
        .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let mut devices = String::new();
    for (i, s) in mutes.iter().enumerate() {
        let port = s.local_addr().unwrap().port();
        devices.push_str(&format!(
            "  - {{name: mute{i}, address: 127.0.0.1:{port}}}\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(
        &cfg,
        format!(
            "defaults: {{interval: 2s, timeout: 500ms, retries: 2, auth: v2}}\n\
             auths: {{v2: {{version: 2c, community: public}}}}\n\
             devices:\n{devices}"
        ),
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &["--max-in-flight", "1"]);
    let seen = wait_for(Duration::from_secs(12), || {
        let (_, page) = o.get("/");
        page.contains("poll did not start within 900ms (half its deadline): all 1 poll slots")
            .then_some(page)
    });
    assert!(
        seen.is_some(),
        "no poll gave up for want of a slot; log:\n{}",
        o.log()
    );
    assert_eq!(o.get("/-/healthy").0, 200);
}
