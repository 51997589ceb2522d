//! `octopoll demo` end to end: the simulator and the exporter together, checked against
//! net-snmp's own view of the simulated devices; and the README's promise that the
//! first command shows traffic moving on a simulated switch within seconds.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn demo_serves_every_device_and_reports_the_dead_one() {
    let port = free_tcp_port();
    let addr = format!("127.0.0.1:{port}");
    let out = tempfile::NamedTempFile::new().unwrap();
    let started = std::time::Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_octopoll"))
        .args(["demo", "--listen", &addr, "--sim-base-port", "0"])
        .stdout(out.reopen().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _proc = Proc {
        child,
        name: "octopoll demo",
    };
    let devices = [
        "core-sw1",
        "access-sw1",
        "access-sw2",
        "edge-rtr1",
        "old-sw1",
        "branch-rtr1",
    ];
    let body = wait_for(Duration::from_secs(30), || {
        let (_, b) = http(&addr, "GET", "/metrics")?;
        devices
            .iter()
            .all(|d| b.contains(&format!("snmp_device_up{{device=\"{d}\"")))
            .then_some(b)
    })
    .expect("every demo device polled within 30 s");
    for d in devices {
        let want = if d == "branch-rtr1" { 0.0 } else { 1.0 };
        assert_eq!(
            sample(&body, &format!("snmp_device_up{{device=\"{d}\"")),
            Some(want),
            "{d}"
        );
    }
    // The 32-bit-only device is exposed under the 32-bit names only.
    assert!(body.contains("ifInOctets_total{device=\"old-sw1\""));
    assert!(!body.contains("ifHCInOctets_total{device=\"old-sw1\""));
    assert!(!body.contains("ifInOctets_total{device=\"core-sw1\""));

    // Compare with what snmpbulkwalk sees on the simulated core switch.
    let stdout = std::fs::read_to_string(out.path()).unwrap();
    let sim_port: u16 = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("core-sw1"))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.trim().parse().ok())
        .expect("demo prints the core switch address");
    let Some(walk) = snmp_tool(
        "snmpbulkwalk",
        &["-v2c", "-c", "public"],
        sim_port,
        &["1.3.6.1.2.1.31.1.1.1"],
    ) else {
        assert!(!in_ci(), "snmpbulkwalk failed");
        return;
    };
    let mut names = BTreeMap::new();
    let mut speeds = BTreeMap::new();
    for l in walk.lines() {
        let Some((oid, val)) = l.split_once(" = ") else {
            continue;
        };
        let idx = oid.rsplit('.').next().unwrap().to_string();
        if oid.starts_with(".1.3.6.1.2.1.31.1.1.1.1.") {
            names.insert(
                idx,
                val.trim_start_matches("STRING: ")
                    .trim_matches('"')
                    .to_string(),
            );
        } else if oid.starts_with(".1.3.6.1.2.1.31.1.1.1.15.") {
            speeds.insert(idx, val.rsplit(' ').next().unwrap().parse::<f64>().unwrap());
        }
    }
    assert_eq!(names.len(), 48);
    for (idx, name) in &names {
        let prefix = format!("ifHighSpeed{{device=\"core-sw1\",role=\"core\",site=\"paris\",ifIndex=\"{idx}\",ifName=\"{name}\"");
        assert_eq!(sample(&body, &prefix), Some(speeds[idx]), "{prefix}");
    }
    // The demo prints its device page first, and that page shows traffic within seconds.
    let stdout = std::fs::read_to_string(out.path()).unwrap();
    let open = stdout
        .lines()
        .find(|l| l.starts_with("open:"))
        .unwrap_or_else(|| panic!("the demo prints no page to open:\n{stdout}"));
    let path = open
        .split_whitespace()
        .nth(1)
        .and_then(|u| u.split_once(&addr))
        .map(|(_, p)| p.to_string())
        .unwrap_or_else(|| panic!("{open}"));
    assert_eq!(path, "/devices/core-sw1");
    let page = wait_for(Duration::from_secs(20), || {
        let (s, b) = http(&addr, "GET", &path)?;
        (s == 200 && b.contains("Rates between the last two polls")).then_some(b)
    })
    .expect("the demo's device page shows rates");
    let moving = started.elapsed();
    // The uplinks (Te1/1/1, Te1/1/2) carry at least 2 % of 10 Gbit/s: Mbit/s or Gbit/s.
    let uplink = page
        .split("data-ifindex=\"48\"")
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_default();
    assert!(
        uplink.contains("Mbit/s") || uplink.contains("Gbit/s"),
        "no traffic on the core switch's uplink: {uplink}"
    );
    assert!(
        moving < Duration::from_secs(20),
        "traffic showed only after {moving:?}"
    );
    eprintln!("demo: traffic on the device page {moving:?} after start");

    // Counters advance between polls (interval 2 s in the demo config).
    let series = r#"ifHCInOctets_total{device="core-sw1",role="core",site="paris",ifIndex="48""#;
    let first = sample(&body, series).unwrap();
    let later = wait_for(Duration::from_secs(15), || {
        let (_, b) = http(&addr, "GET", "/metrics")?;
        sample(&b, series).filter(|v| *v > first)
    });
    assert!(later.is_some(), "uplink counter did not advance");
}
