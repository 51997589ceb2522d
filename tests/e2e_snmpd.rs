//! End to end against a real net-snmp snmpd on loopback: values, labels, up/down, the
//! HTTP endpoints.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;

fn config(snmpd_port: u16, dead_port: u16) -> String {
    format!(
        r#"
defaults:
  interval: 2s
  timeout: 500ms
  retries: 1
auths:
  pub: {{version: 2c, community: public}}
  v1: {{version: 1, community: v1only}}
modules:
  host:
    - {{name: hrSystemProcesses, oid: 1.3.6.1.2.1.25.1.6.0, type: gauge}}
    - {{name: hrStorageSize, oid: 1.3.6.1.2.1.25.2.3.1.5, type: gauge, walk: true}}
    - {{name: hrStorageDescr, oid: 1.3.6.1.2.1.25.2.3.1.3, type: info, walk: true}}
devices:
  - name: live
    address: 127.0.0.1:{snmpd_port}
    auth: pub
    modules: [if_mib, host]
    labels: {{site: lab, role: "core \"A\""}}
  - name: live-v1
    address: 127.0.0.1:{snmpd_port}
    auth: v1
  - name: dead
    address: 127.0.0.1:{dead_port}
    auth: pub
"#
    )
}

/// Interface names snmpd reports, by snmpbulkwalk of ifDescr.
fn snmpd_ifdescr(port: u16) -> BTreeSet<String> {
    let out = snmp_tool(
        "snmpbulkwalk",
        &["-v2c", "-c", "public"],
        port,
        &["1.3.6.1.2.1.2.2.1.2"],
    )
    .unwrap();
    out.lines()
        .filter_map(|l| {
            l.split_once("STRING: ")
                .map(|(_, v)| v.trim().trim_matches('"').to_string())
        })
        .collect()
}

/// octopoll on [`config`]: the snmpd device and a silent one. The silent device is a bound
/// socket that never answers, so no parallel test can take its port over; keep the
/// returned directory and socket alive for the test's duration.
fn start_with_silent_device(snmpd: &Snmpd) -> (tempfile::TempDir, std::net::UdpSocket, Octopoll) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    std::fs::write(
        &cfg,
        config(snmpd.port, silent.local_addr().unwrap().port()),
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &[]);
    (dir, silent, o)
}

#[test]
fn polls_real_snmpd_and_serves_metrics() {
    let Some(snmpd) = Snmpd::start("") else {
        return;
    };
    let (_dir, _silent, o) = start_with_silent_device(&snmpd);

    // Wait until all three devices have been polled (first polls are phase-spread).
    let body = wait_for(Duration::from_secs(15), || {
        let (_, b) = o.get("/metrics");
        let done = ["live", "live-v1", "dead"]
            .iter()
            .all(|d| b.contains(&format!("snmp_device_up{{device=\"{d}\"")));
        done.then_some(b)
    })
    .unwrap_or_else(|| panic!("devices never polled; log:\n{}", o.log()));

    assert_eq!(
        sample(&body, "snmp_device_up{device=\"live\""),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "snmp_device_up{device=\"live-v1\""),
        Some(1.0)
    );
    assert_eq!(
        sample(&body, "snmp_device_up{device=\"dead\""),
        Some(0.0),
        "{body}\n{}",
        o.log()
    );
    // Label values are escaped, device labels on every series.
    assert!(
        body.contains(r#"snmp_device_up{device="live",role="core \"A\"",site="lab"} 1"#),
        "{body}"
    );

    // Every interface snmpd reports appears with its ifDescr, 64-bit counters on v2c.
    let names = snmpd_ifdescr(snmpd.port);
    assert!(!names.is_empty());
    for n in &names {
        let line = r#"ifHCInOctets_total{device="live",role="core \"A\"",site="lab",ifIndex="#;
        assert!(
            body.lines()
                .any(|l| l.starts_with(line) && l.contains(&format!("ifDescr=\"{n}\""))),
            "no ifHCInOctets_total for {n}:\n{body}"
        );
    }
    // SNMPv1 cannot carry Counter64: the v1 device falls back to 32-bit names, never lying.
    assert!(body.contains("ifInOctets_total{device=\"live-v1\""));
    assert!(!body.contains("ifHCInOctets_total{device=\"live-v1\""));
    assert!(!body.contains("ifInOctets_total{device=\"live\""));

    // Loopback counter on snmpd is at least what snmpget saw before octopoll's poll.
    let lo_index = snmp_tool(
        "snmpbulkwalk",
        &["-v2c", "-c", "public"],
        snmpd.port,
        &["1.3.6.1.2.1.2.2.1.2"],
    )
    .unwrap()
    .lines()
    .find(|l| l.ends_with("\"lo\""))
    .and_then(|l| {
        l.split(" = ")
            .next()?
            .rsplit('.')
            .next()
            .map(str::to_string)
    });
    if let Some(idx) = lo_index {
        let v = sample(&body, &format!("ifHCInOctets_total{{device=\"live\",role=\"core \\\"A\\\"\",site=\"lab\",ifIndex=\"{idx}\"")).unwrap();
        assert!(v > 0.0, "lo counter should have moved");
        assert_eq!(sample(&body, &format!("ifOperStatus{{device=\"live\",role=\"core \\\"A\\\"\",site=\"lab\",ifIndex=\"{idx}\"")), Some(1.0));
    }

    // System group and info.
    assert!(body.contains("sysName=\"octopoll-snmpd\""), "{body}");
    assert!(body.contains("sysLocation=\"octopoll-test-lab\""));
    assert!(sample(&body, "sysUpTime{device=\"live\"").unwrap() > 0.0);
    // The dead device keeps its info line (address) but has no interface series.
    assert!(body.contains("snmp_device_info{device=\"dead\""));
    assert!(!body.contains("ifHCInOctets_total{device=\"dead\""));

    // User OIDs: scalar gauge, walked gauge with index, info with value label.
    assert!(sample(&body, "hrSystemProcesses{device=\"live\"").unwrap() >= 1.0);
    assert!(body
        .lines()
        .any(|l| l.starts_with("hrStorageSize{device=\"live\"") && l.contains("index=\"")));
    assert!(body
        .lines()
        .any(|l| l.starts_with("hrStorageDescr_info{device=\"live\"") && l.contains("value=\"")));

    // Own metrics.
    assert!(sample(&body, "octopoll_snmp_requests_total").unwrap() > 3.0);
    assert!(sample(&body, "octopoll_snmp_timeouts_total").unwrap() >= 1.0);
    assert_eq!(sample(&body, "octopoll_devices"), Some(3.0));
    assert_eq!(
        sample(&body, "octopoll_config_last_reload_successful"),
        Some(1.0)
    );
    assert!(body.ends_with("# EOF\n"));
}

#[test]
fn http_endpoints_behave() {
    let Some(snmpd) = Snmpd::start("") else {
        return;
    };
    let (_dir, _silent, o) = start_with_silent_device(&snmpd);
    wait_for(Duration::from_secs(15), || {
        let (s, b) = o.get("/probe?device=live");
        (s == 200 && b.contains("ifHCInOctets_total")).then_some(())
    })
    .unwrap_or_else(|| panic!("probe never ready; log:\n{}", o.log()));

    let (_, probe) = o.get("/probe?device=live");
    assert!(!probe.contains("device=\"dead\""));
    assert!(
        !probe.contains("octopoll_"),
        "probe carries only the device"
    );
    assert_eq!(o.get("/probe").0, 400);
    assert_eq!(o.get("/probe?device=nope").0, 404);
    let (_, own) = o.get("/metrics?devices=false");
    assert!(own.contains("octopoll_build_info{version="));
    assert!(!own.contains("snmp_device_up"));

    let (s, targets) = o.get("/targets");
    assert_eq!(s, 200);
    let t: serde_json::Value = serde_json::from_str(&targets).unwrap();
    let live = t
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["targets"][0] == "live")
        .unwrap();
    assert_eq!(live["labels"]["site"], "lab");
    assert_eq!(t.as_array().unwrap().len(), 3);

    let (_, cfg_text) = o.get("/config");
    assert!(cfg_text.contains("live"));
    assert!(
        !cfg_text.contains("v1only"),
        "community leaked in /config:\n{cfg_text}"
    );
    let (_, page) = o.get("/");
    assert!(page.contains("live") && page.contains("down") && page.contains("up"));

    assert_eq!(http(&o.addr, "POST", "/metrics").unwrap().0, 405);
    assert_eq!(http(&o.addr, "GET", "/-/reload").unwrap().0, 405);
    assert_eq!(http(&o.addr, "HEAD", "/metrics").unwrap().0, 200);
    assert_eq!(o.get("/-/ready").0, 200);
    assert_eq!(o.get("/nope").0, 404);
    let log = o.log();
    assert!(!log.contains("v1only"), "community leaked into the log");
}

#[test]
fn check_subcommand_accepts_a_good_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(&cfg, config(161, 162)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_octopoll"))
        .arg("check")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ok: 3 devices, 2 auths, 2 modules from 1 files"
    );
}
