//! Hot reload end to end: file watch (atomic rename), removal, a broken file, SIGHUP,
//! POST /-/reload — against a real snmpd.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn devices(port: u16, names: &[&str]) -> String {
    let mut s = String::from(
        "defaults:\n  interval: 2s\n  timeout: 500ms\n  retries: 1\nauths:\n  pub: {version: 2c, community: public}\ndevices:\n",
    );
    for n in names {
        s.push_str(&format!(
            "  - {{name: {n}, address: \"127.0.0.1:{port}\", auth: pub}}\n"
        ));
    }
    s
}

fn up(o: &Octopoll, device: &str) -> Option<f64> {
    o.sample(&format!("snmp_device_up{{device=\"{device}\""))
}

#[test]
fn file_watch_adds_removes_and_rejects() {
    let Some(snmpd) = Snmpd::start("") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(&cfg, devices(snmpd.port, &["a"])).unwrap();
    let o = Octopoll::start(&cfg, &[]);
    wait_for(Duration::from_secs(10), || {
        up(&o, "a").filter(|v| *v == 1.0)
    })
    .expect("a polled");

    // Add a device by atomic rename (how editors and git replace files).
    let t0 = Instant::now();
    write_atomic(&cfg, &devices(snmpd.port, &["a", "b"]));
    wait_for(Duration::from_secs(5), || up(&o, "b").filter(|v| *v == 1.0))
        .unwrap_or_else(|| panic!("b not polled after reload; log:\n{}", o.log()));
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(2), "new device took {took:?}");
    eprintln!("new device polled {took:?} after the file change");

    // Remove one: its series go at once.
    write_atomic(&cfg, &devices(snmpd.port, &["b"]));
    wait_for(Duration::from_secs(5), || {
        up(&o, "a").is_none().then_some(())
    })
    .expect("a removed");
    let (_, body) = o.get("/metrics");
    assert!(!body.contains("device=\"a\""), "{body}");
    assert_eq!(sample(&body, "octopoll_devices"), Some(1.0));

    // Break it: the old config stays, the metric says so, polling goes on.
    let ts_before = o
        .sample("octopoll_config_last_reload_success_timestamp_seconds")
        .unwrap();
    write_atomic(&cfg, "devices:\n  - name: b\n    adress: typo\n");
    wait_for(Duration::from_secs(5), || {
        o.sample("octopoll_config_last_reload_successful")
            .filter(|v| *v == 0.0)
    })
    .unwrap_or_else(|| panic!("bad config not noticed; log:\n{}", o.log()));
    assert_eq!(up(&o, "b"), Some(1.0));
    assert_eq!(
        o.sample("octopoll_config_last_reload_success_timestamp_seconds")
            .unwrap(),
        ts_before
    );
    let log = o.log();
    assert!(
        log.contains("config_rejected") && log.contains("adress"),
        "{log}"
    );
    let (_, page) = o.get("/");
    assert!(page.contains("config rejected"));

    // The HTTP reload answers with the errors, file and line included.
    let (status, text) = http(&o.addr, "POST", "/-/reload").unwrap();
    assert_eq!(status, 400);
    assert!(
        text.contains("octopoll.yml:3") && text.contains("adress"),
        "{text}"
    );

    // Fixed again: success, metric back to 1.
    write_atomic(&cfg, &devices(snmpd.port, &["b", "c"]));
    wait_for(Duration::from_secs(5), || up(&o, "c")).expect("c polled");
    assert_eq!(
        o.sample("octopoll_config_last_reload_successful"),
        Some(1.0)
    );
}

#[test]
fn sighup_and_http_reload_without_watch() {
    let Some(snmpd) = Snmpd::start("") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(&cfg, devices(snmpd.port, &["a"])).unwrap();
    let o = Octopoll::start(&cfg, &["--no-watch"]);
    wait_for(Duration::from_secs(10), || up(&o, "a")).expect("a polled");

    std::fs::write(&cfg, devices(snmpd.port, &["a", "b"])).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(up(&o, "b"), None, "--no-watch must not pick up the change");
    o.signal("HUP");
    wait_for(Duration::from_secs(5), || up(&o, "b"))
        .unwrap_or_else(|| panic!("SIGHUP ignored; log:\n{}", o.log()));

    std::fs::write(&cfg, devices(snmpd.port, &["b"])).unwrap();
    let (status, text) = http(&o.addr, "POST", "/-/reload").unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("1 removed"), "{text}");
    assert_eq!(up(&o, "a"), None);
}

#[test]
fn unchanged_devices_keep_their_state_across_reload() {
    let Some(snmpd) = Snmpd::start("") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(&cfg, devices(snmpd.port, &["a"])).unwrap();
    let o = Octopoll::start(&cfg, &["--no-watch"]);
    wait_for(Duration::from_secs(10), || up(&o, "a")).expect("a polled");
    let polls = |o: &Octopoll| {
        o.sample("octopoll_polls_total{device=\"a\",result=\"success\"")
            .unwrap_or(0.0)
    };
    wait_for(Duration::from_secs(10), || (polls(&o) >= 2.0).then_some(())).expect("two polls");
    let before = polls(&o);
    std::fs::write(&cfg, devices(snmpd.port, &["a", "b"])).unwrap();
    let (status, _) = http(&o.addr, "POST", "/-/reload").unwrap();
    assert_eq!(status, 200);
    // The counter was not reset: a was not restarted.
    assert!(polls(&o) >= before);
}
