//! Notifications under load and bad input, against the binary on loopback:
//!
//! - 10,000 SNMPv2c traps per second for 5 seconds (a datagram captured from net-snmp's
//!   `snmptrap`, replayed) while octopoll polls 20 simulated devices every 2 s: polls
//!   keep their deadline (no failure, no skipped slot, no device late), and the figures
//!   (sent, counted, dropped by the kernel, poll durations) are printed;
//! - garbage, every truncation of real v1/v2c/v3 traps, corrupted bytes, a 65,507-byte
//!   datagram and a 60 kB trap: octopoll stays up, counts them as malformed, and still
//!   counts the valid trap sent after them.
//!
//! The figures are for a loaded 2-core machine shared with the simulator and the sender;
//! the assertions are about polls and survival, not about the share of traps received.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const DEVICES: usize = 20;

/// The two tests one after the other: the flood's figures are not about the other test.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
const RATE: u64 = 10_000;
const SECONDS: u64 = 5;

/// One datagram as net-snmp's tool sends it (to a socket of ours).
fn capture(dir: &Path, tool_name: &str, args: &[&str]) -> Vec<u8> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let target = format!("127.0.0.1:{}", sock.local_addr().unwrap().port());
    let mut full: Vec<&str> = Vec::new();
    let (opts, rest) = args.split_at(args.iter().position(|a| *a == "TARGET").unwrap());
    full.extend(opts);
    full.push(&target);
    full.extend(&rest[1..]);
    let status = Command::new(format!("/usr/bin/{tool_name}"))
        .args(&full)
        .env("MIBS", "")
        .env("SNMP_PERSISTENT_DIR", dir)
        .env("SNMPCONFPATH", dir)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{tool_name} {full:?}");
    let mut buf = vec![0u8; 70_000];
    let n = sock.recv(&mut buf).expect("captured datagram");
    buf.truncate(n);
    buf
}

fn sum(body: &str, prefix: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn failed_polls(body: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with("octopoll_polls_total{") && l.contains("result=\"failure\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn max(body: &str, prefix: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, f64::max)
}

/// Datagrams the kernel dropped for the UDP socket on `port` (Linux).
fn kernel_drops(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/udp").ok()?;
    let want = format!(":{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.len() > 12 && f[1].ends_with(&want)).then(|| f[12].parse().ok())?
    })
}

#[test]
fn ten_thousand_traps_per_second_do_not_delay_polls() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if tool("/usr/bin/snmptrap").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let trap = capture(
        dir.path(),
        "snmptrap",
        &[
            "-v2c",
            "-c",
            "public",
            "TARGET",
            "",
            "1.3.6.1.6.3.1.1.5.3",
            "1.3.6.1.2.1.2.2.1.1.3",
            "i",
            "3",
        ],
    );
    let (_sim, yaml) = simulator_config(DEVICES, 24);
    let trap_port = free_udp_port();
    let yaml = yaml.replace(
        "defaults:\n",
        &format!(
            "traps: {{listen: '127.0.0.1:{trap_port}', communities: [public], repoll_limit: 10s}}\n\
             defaults:\n  interval: 2s\n  timeout: 500ms\n  retries: 1\n"
        ),
    );
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(&cfg, yaml).unwrap();
    let o = Octopoll::start(&cfg, &["--no-watch"]);
    wait_for(Duration::from_secs(20), || {
        (sum(&o.get("/metrics").1, "snmp_device_up{") as usize == DEVICES).then_some(())
    })
    .expect("all simulated devices up");
    let (_, before) = o.get("/metrics");
    let polls_before = sum(&before, "octopoll_polls_total{");
    let failed_before = failed_polls(&before);
    let skipped_before = sum(&before, "octopoll_polls_skipped_total{");
    let drops_before = kernel_drops(trap_port).unwrap_or(0);

    // Sender: RATE per second, paced in 1 ms steps.
    let sender = {
        let trap = trap.clone();
        std::thread::spawn(move || {
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            sock.connect(("127.0.0.1", trap_port)).unwrap();
            let start = Instant::now();
            let total = RATE * SECONDS;
            let mut sent = 0u64;
            while sent < total {
                let due = (start.elapsed().as_micros() as u64 * RATE / 1_000_000).min(total);
                while sent < due {
                    if sock.send(&trap).is_ok() {
                        sent += 1;
                    }
                }
                std::thread::sleep(Duration::from_micros(500));
            }
            (sent, start.elapsed())
        })
    };
    // Meanwhile: how late is the latest successful poll of each device, and how long do
    // polls take (sampled every 250 ms).
    let mut worst_age = 0.0f64;
    let mut worst_duration = 0.0f64;
    let watch_until = Instant::now() + Duration::from_secs(SECONDS + 1);
    while Instant::now() < watch_until {
        let (_, body) = o.get("/metrics");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        for l in body
            .lines()
            .filter(|l| l.starts_with("snmp_device_last_poll_success_timestamp_seconds{"))
        {
            if let Some(ts) = l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
                worst_age = worst_age.max(now - ts);
            }
        }
        worst_duration = worst_duration.max(max(&body, "snmp_device_poll_duration_seconds{"));
        std::thread::sleep(Duration::from_millis(250));
    }
    let (sent, took) = sender.join().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let (_, after) = o.get("/metrics");
    let counted = sum(&after, "snmp_traps_total{");
    let drops = kernel_drops(trap_port).unwrap_or(0) - drops_before;
    let polls = sum(&after, "octopoll_polls_total{") - polls_before;
    let failed = failed_polls(&after) - failed_before;
    let skipped = sum(&after, "octopoll_polls_skipped_total{") - skipped_before;
    println!(
        "traps: sent {sent} in {:.2}s ({:.0}/s); counted {counted} ({:.1}%), kernel drops {drops}; \
         polls meanwhile {polls} ({failed} failed, {skipped} skipped) of {DEVICES} devices every 2s; \
         worst poll duration {worst_duration:.3}s (deadline 1.8s), worst time since a device's last \
         successful poll {worst_age:.2}s",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64(),
        100.0 * counted / sent as f64
    );
    assert!(o.proc.child.id() > 0 && o.get("/-/healthy").0 == 200);
    assert!(counted > 0.0, "no trap counted");
    assert!(counted + drops as f64 <= sent as f64 + 1.0);
    assert_eq!(failed, 0.0, "polls failed under the trap flood");
    assert_eq!(skipped, 0.0, "poll slots skipped under the trap flood");
    // A poll every 2 s, finishing within its 1.8 s deadline: no device's last success is
    // older than interval + deadline, even on a loaded machine.
    assert!(worst_duration < 1.8, "a poll took {worst_duration}s");
    assert!(
        worst_age < 3.8,
        "a device went {worst_age:.2}s without a successful poll"
    );
}

/// A tiny deterministic generator for garbage (xorshift64).
fn garbage(seed: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed as u8
        })
        .collect()
}

#[test]
fn garbage_truncated_and_oversized_datagrams_never_crash_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if tool("/usr/bin/snmptrap").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v1 = capture(
        dir.path(),
        "snmptrap",
        &[
            "-v1",
            "-c",
            "public",
            "TARGET",
            "1.3.6.1.4.1.8072",
            "127.0.0.1",
            "2",
            "0",
            "",
            "1.3.6.1.2.1.2.2.1.1.1",
            "i",
            "1",
        ],
    );
    let v2 = capture(
        dir.path(),
        "snmptrap",
        &[
            "-v2c",
            "-c",
            "public",
            "TARGET",
            "",
            "1.3.6.1.6.3.1.1.5.3",
            "1.3.6.1.2.1.2.2.1.1.1",
            "i",
            "1",
        ],
    );
    let v3 = capture(
        dir.path(),
        "snmptrap",
        &[
            "-v3",
            "-u",
            "privuser",
            "-l",
            "authPriv",
            "-a",
            "SHA",
            "-A",
            "trapauth123",
            "-x",
            "AES",
            "-X",
            "trappriv123",
            "-e",
            "0x80001f8880aabbccdd02",
            "TARGET",
            "",
            "1.3.6.1.6.3.1.1.5.1",
        ],
    );
    let long = "x".repeat(60_000);
    let big = capture(
        dir.path(),
        "snmptrap",
        &[
            "-v2c",
            "-c",
            "public",
            "TARGET",
            "",
            "1.3.6.1.6.3.1.1.5.1",
            "1.3.6.1.2.1.1.5.0",
            "s",
            &long,
        ],
    );
    assert!(big.len() > 60_000);

    let trap_port = free_udp_port();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(
        &cfg,
        format!(
            "auths:\n  v3: {{version: 3, username: privuser, security_level: authPriv, auth_protocol: SHA, auth_password: trapauth123, priv_protocol: AES, priv_password: trappriv123}}\n\
             traps: {{listen: '127.0.0.1:{trap_port}', communities: [public], users: [v3]}}\n\
             devices:\n  - {{name: lab, address: '127.0.0.1:1', auth: v3}}\n"
        ),
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &["--no-watch"]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(("127.0.0.1", trap_port)).unwrap();
    let mut bad = 0u64;
    let mut send = |d: &[u8]| {
        sock.send(d).unwrap();
        bad += 1;
        // Paced, so the kernel buffer never overflows and every datagram is seen.
        if bad.is_multiple_of(50) {
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..1000 {
        send(&garbage(&mut seed, i % 300));
    }
    for msg in [&v1, &v2, &v3] {
        for cut in 0..msg.len() {
            send(&msg[..cut]);
        }
        for at in 0..msg.len() {
            let mut m = msg.to_vec();
            m[at] ^= 0xff;
            sock.send(&m).unwrap(); // may still decode (a changed value): not counted as bad
        }
    }
    send(&garbage(&mut seed, 65_507));
    send(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]);
    let malformed = || {
        o.sample("octopoll_traps_dropped_total{reason=\"malformed\"}")
            .unwrap_or(0.0)
    };
    // All of it handled before the valid ones follow (a 60 kB datagram behind a full
    // socket buffer would be the kernel's drop, not octopoll's).
    let drained = wait_for(Duration::from_secs(20), || {
        (malformed() >= bad as f64 * 0.9).then_some(())
    });
    println!(
        "bad datagrams sent {bad}, counted malformed {}",
        malformed()
    );
    assert!(
        drained.is_some(),
        "{} of {bad} counted as malformed",
        malformed()
    );
    std::thread::sleep(Duration::from_millis(300));
    // The valid traps after it: counted, the 60 kB one's value shortened in the log line.
    sock.send(&big).unwrap();
    sock.send(&v2).unwrap();
    for (trap, what) in [
        ("linkDown", "the valid trap after the garbage"),
        ("coldStart", "the 60 kB trap"),
    ] {
        let series = format!("snmp_traps_total{{device=\"lab\",trap=\"{trap}\"}}");
        let counted = wait_for(Duration::from_secs(10), || {
            o.sample(&series).filter(|n| *n >= 1.0)
        });
        assert!(counted.is_some(), "{what} was not counted:\n{}", o.log());
    }
    assert_eq!(o.get("/-/healthy").0, 200);
    assert!(o.proc.child.id() > 0);
    let log = o.log();
    assert!(log.len() < 5_000_000, "log too large: {} bytes", log.len());
}
