//! Notifications end to end: net-snmp's `snmptrap` and `snmpinform` send SNMPv1, v2c and
//! v3 (authNoPriv, authPriv) traps and informs to the octopoll binary on loopback; a real
//! snmpd is the polled device (interface names, re-polls). Checked on `/metrics`, the log
//! and the tools' exit codes (an inform is acknowledged or it times out).

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Where net-snmp keeps its engine boots and IDs: per test, not in the home directory.
fn tools_dir(dir: &Path) -> PathBuf {
    let p = dir.join("net-snmp");
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// Runs `snmptrap`/`snmpinform` with `args`; true when it exited 0 (for an inform: it
/// was acknowledged).
fn send(dir: &Path, tool_name: &str, args: &[&str]) -> bool {
    let out = Command::new(format!("/usr/bin/{tool_name}"))
        .args(args)
        .env("MIBS", "")
        .env("SNMP_PERSISTENT_DIR", tools_dir(dir))
        .env("SNMPCONFPATH", tools_dir(dir))
        .output()
        .expect("run net-snmp tool");
    out.status.success()
}

fn trap_target(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

const AUTH_PASS: &str = "trapauth123";
const PRIV_PASS: &str = "trappriv123";

/// The config: `lab` is snmpd on 127.0.0.1, `edge` a silent agent on 127.0.0.2.
fn config(snmpd_port: u16, trap_port: u16, extra_traps: &str, secret_file: &Path) -> String {
    format!(
        "auths:
  v2: {{version: 2c, community: public}}
  v3auth: {{version: 3, username: authuser, security_level: authNoPriv, auth_protocol: SHA, auth_password: {AUTH_PASS}}}
  v3priv: {{version: 3, username: privuser, security_level: authPriv, auth_protocol: SHA256, auth_password: {AUTH_PASS}, priv_protocol: AES, priv_password: {PRIV_PASS}}}
defaults: {{auth: v2, interval: 1h, timeout: 1s, retries: 0}}
traps:
  listen: 127.0.0.1:{trap_port}
  communities:
    - public
    - community_file: {}
  users: [v3auth, v3priv]
  repoll_limit: 3s
{extra_traps}
notifications:
  1.3.6.1.4.1.8072.2.3.0.1:
    name: netSnmpExampleHeartbeat
    labels: {{rate: 1.3.6.1.4.1.8072.2.3.2.1}}
  1.3.6.1.4.1.99999.0.1:
    name: vendorFanFailure
devices:
  - {{name: lab, address: '127.0.0.1:{snmpd_port}', labels: {{site: lab1}}}}
  - {{name: edge, address: '127.0.0.2:1'}}
",
        secret_file.display()
    )
}

struct Lab {
    dir: tempfile::TempDir,
    trap_port: u16,
    octopoll: Octopoll,
    config: PathBuf,
    _snmpd: Snmpd,
}

impl Lab {
    fn start(extra_traps: &str) -> Option<Lab> {
        tool("/usr/bin/snmptrap")?;
        tool("/usr/bin/snmpinform")?;
        let snmpd = Snmpd::start("")?;
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("trap_community");
        std::fs::write(&secret, "s3cret-community\n").unwrap();
        let trap_port = free_udp_port();
        let path = dir.path().join("octopoll.yml");
        std::fs::write(&path, config(snmpd.port, trap_port, extra_traps, &secret)).unwrap();
        let octopoll = Octopoll::start(&path, &[]);
        Some(Lab {
            dir,
            trap_port,
            octopoll,
            config: path,
            _snmpd: snmpd,
        })
    }

    fn send(&self, tool_name: &str, args: &[&str]) -> bool {
        send(self.dir.path(), tool_name, args)
    }

    fn metric(&self, series: &str) -> f64 {
        self.octopoll.sample(series).unwrap_or(0.0)
    }

    /// Every notification counted under any device.
    fn all_traps(&self) -> f64 {
        self.octopoll
            .get("/metrics")
            .1
            .lines()
            .filter(|l| l.starts_with("snmp_traps_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Waits until `series` reaches `want` (notifications are handled asynchronously).
    fn expect(&self, series: &str, want: f64) {
        let got = wait_for(Duration::from_secs(10), || {
            let v = self.metric(series);
            (v == want).then_some(v)
        });
        assert!(
            got.is_some(),
            "{series} is {}, want {want}; metrics:\n{}\nlog:\n{}",
            self.metric(series),
            self.octopoll.get("/metrics").1,
            self.octopoll.log()
        );
    }
}

fn traps_total(device: &str, trap: &str) -> String {
    format!("snmp_traps_total{{device=\"{device}\",")
        + &if device == "lab" {
            format!("site=\"lab1\",trap=\"{trap}\"}}")
        } else {
            format!("trap=\"{trap}\"}}")
        }
}

#[test]
fn v1_v2c_v3_traps_and_informs_are_named_counted_and_acknowledged() {
    let Some(lab) = Lab::start("") else { return };
    let t = trap_target(lab.trap_port);
    let t = t.as_str();
    let link = ["1.3.6.1.2.1.2.2.1.1.1", "i", "1"];

    // SNMPv1: generic linkDown (RFC 3584: snmpTraps.3), enterprise-specific to
    // enterprise.0.specific, one of them named in the config.
    let mut v1_link = vec![
        "-v1",
        "-c",
        "public",
        t,
        "1.3.6.1.4.1.8072",
        "127.0.0.1",
        "2",
        "0",
        "",
    ];
    v1_link.extend(link);
    assert!(lab.send("snmptrap", &v1_link));
    assert!(lab.send(
        "snmptrap",
        &[
            "-v1",
            "-c",
            "public",
            t,
            "1.3.6.1.4.1.8072",
            "127.0.0.1",
            "6",
            "17",
            ""
        ]
    ));
    assert!(lab.send(
        "snmptrap",
        &[
            "-v1",
            "-c",
            "public",
            t,
            "1.3.6.1.4.1.99999",
            "127.0.0.1",
            "6",
            "1",
            ""
        ]
    ));
    // SNMPv2c: a trap, the community from a file, an inform with a labelled varbind.
    assert!(lab.send(
        "snmptrap",
        &["-v2c", "-c", "public", t, "", "1.3.6.1.6.3.1.1.5.1"]
    ));
    assert!(lab.send(
        "snmptrap",
        &[
            "-v2c",
            "-c",
            "s3cret-community",
            t,
            "",
            "1.3.6.1.6.3.1.1.5.2"
        ]
    ));
    assert!(
        lab.send(
            "snmpinform",
            &[
                "-v2c",
                "-c",
                "public",
                "-t",
                "2",
                "-r",
                "1",
                t,
                "",
                "1.3.6.1.4.1.8072.2.3.0.1",
                "1.3.6.1.4.1.8072.2.3.2.1",
                "i",
                "42"
            ]
        ),
        "v2c inform not acknowledged; log:\n{}",
        lab.octopoll.log()
    );
    // From 127.0.0.2: the other device.
    assert!(lab.send(
        "snmptrap",
        &[
            "--clientaddr=127.0.0.2",
            "-v2c",
            "-c",
            "public",
            t,
            "",
            "1.3.6.1.6.3.1.1.5.5"
        ]
    ));
    // SNMPv3: authNoPriv trap (the sender's engine ID, as a device has), authPriv trap and
    // inform (snmpinform discovers octopoll's engine ID first).
    let auth = [
        "-v3",
        "-u",
        "authuser",
        "-l",
        "authNoPriv",
        "-a",
        "SHA",
        "-A",
        AUTH_PASS,
    ];
    let privacy = [
        "-v3", "-u", "privuser", "-l", "authPriv", "-a", "SHA-256", "-A", AUTH_PASS, "-x", "AES",
        "-X", PRIV_PASS,
    ];
    let mut a = auth.to_vec();
    a.extend(["-e", "0x80001f8880aabbccdd01", t, "", "1.3.6.1.6.3.1.1.5.5"]);
    assert!(lab.send("snmptrap", &a));
    let mut p = privacy.to_vec();
    p.extend(["-e", "0x80001f8880aabbccdd02", t, "", "1.3.6.1.6.3.1.1.5.4"]);
    p.extend(link);
    assert!(lab.send("snmptrap", &p));
    let mut p = privacy.to_vec();
    p.extend(["-t", "2", "-r", "1", t, "", "1.3.6.1.4.1.99999.0.1"]);
    assert!(
        lab.send("snmpinform", &p),
        "v3 authPriv inform not acknowledged; log:\n{}",
        lab.octopoll.log()
    );

    for (device, trap, n) in [
        ("lab", "linkDown", 1.0),
        ("lab", "1.3.6.1.4.1.8072.0.17", 1.0),
        ("lab", "vendorFanFailure", 2.0),
        ("lab", "coldStart", 1.0),
        ("lab", "warmStart", 1.0),
        ("lab", "netSnmpExampleHeartbeat", 1.0),
        ("lab", "authenticationFailure", 1.0),
        ("lab", "linkUp", 1.0),
        ("edge", "authenticationFailure", 1.0),
    ] {
        lab.expect(&traps_total(device, trap), n);
    }
    assert!(
        lab.metric(
            "snmp_traps_last_timestamp_seconds{device=\"edge\",trap=\"authenticationFailure\"}"
        ) > 1.7e9
    );

    // One structured log line each, with the configured label and the interface.
    let log = lab.octopoll.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("octopoll::trap") && !l.contains("octopoll::traps"))
        .collect();
    assert_eq!(lines.len(), 10, "{log}");
    assert!(
        lines.iter().any(
            |l| l.contains("netSnmpExampleHeartbeat (v2c inform from 127.0.0.1:")
                && l.contains("rate=42")
        ),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("linkDown (v1 trap from 127.0.0.1:") && l.contains("ifIndex 1")),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("vendorFanFailure (v3 inform")),
        "{log}"
    );

    // The status page lists the device's recent ones, newest first.
    let row = lab.octopoll.status_row("lab");
    assert!(
        row.contains("vendorFanFailure (v3 inform")
            && row.contains("netSnmpExampleHeartbeat (v2c inform"),
        "{row}"
    );

    // Bad credentials: dropped, counted, never attributed; an inform is not acknowledged.
    let before = lab.all_traps();
    assert!(lab.send(
        "snmptrap",
        &["-v2c", "-c", "wrong", t, "", "1.3.6.1.6.3.1.1.5.1"]
    ));
    assert!(lab.send(
        "snmptrap",
        &[
            "-v1",
            "-c",
            "wrong",
            t,
            "1.3.6.1.4.1.8072",
            "127.0.0.1",
            "0",
            "0",
            ""
        ]
    ));
    assert!(
        !lab.send(
            "snmpinform",
            &[
                "-v2c",
                "-c",
                "wrong",
                "-t",
                "1",
                "-r",
                "0",
                t,
                "",
                "1.3.6.1.6.3.1.1.5.1"
            ]
        ),
        "an inform with a wrong community was acknowledged"
    );
    let mut a = auth.to_vec();
    a[8] = "wrongauth123";
    a.extend(["-e", "0x80001f8880aabbccdd01", t, "", "1.3.6.1.6.3.1.1.5.1"]);
    assert!(lab.send("snmptrap", &a));
    let mut p = privacy.to_vec();
    p[12] = "wrongpriv123";
    p.extend(["-e", "0x80001f8880aabbccdd02", t, "", "1.3.6.1.6.3.1.1.5.1"]);
    assert!(lab.send("snmptrap", &p));
    // The authPriv user without privacy: below its level.
    assert!(lab.send(
        "snmptrap",
        &[
            "-v3",
            "-u",
            "privuser",
            "-l",
            "authNoPriv",
            "-a",
            "SHA-256",
            "-A",
            AUTH_PASS,
            "-e",
            "0x80001f8880aabbccdd02",
            t,
            "",
            "1.3.6.1.6.3.1.1.5.1"
        ]
    ));
    assert!(lab.send(
        "snmptrap",
        &[
            "-v3",
            "-u",
            "nobody",
            "-l",
            "noAuthNoPriv",
            "-e",
            "0x80001f8880aabbccdd03",
            t,
            "",
            "1.3.6.1.6.3.1.1.5.1"
        ]
    ));
    // Right community, unknown source: counted by source, dropped.
    assert!(lab.send(
        "snmptrap",
        &[
            "--clientaddr=127.0.0.3",
            "-v2c",
            "-c",
            "public",
            t,
            "",
            "1.3.6.1.6.3.1.1.5.1"
        ]
    ));

    lab.expect("octopoll_traps_dropped_total{reason=\"community\"}", 3.0);
    lab.expect("octopoll_traps_dropped_total{reason=\"wrong_digest\"}", 1.0);
    lab.expect("octopoll_traps_dropped_total{reason=\"malformed\"}", 1.0);
    lab.expect(
        "octopoll_traps_dropped_total{reason=\"security_level\"}",
        1.0,
    );
    lab.expect("octopoll_traps_dropped_total{reason=\"unknown_user\"}", 1.0);
    lab.expect(
        "octopoll_traps_unattributed_total{source=\"127.0.0.3\"}",
        1.0,
    );
    let after = lab.all_traps();
    assert_eq!(
        before, after,
        "a dropped notification was counted under a device"
    );

    // Secrets stay out of /config and the log.
    let (_, shown) = lab.octopoll.get("/config");
    assert!(
        shown.contains("traps:") && shown.contains("<secret>"),
        "{shown}"
    );
    for secret in ["s3cret-community", AUTH_PASS, PRIV_PASS] {
        assert!(
            !shown.contains(secret) && !lab.octopoll.log().contains(secret),
            "{secret} leaked"
        );
    }
}

#[test]
fn link_and_restart_notifications_poll_the_device_at_once_rate_limited() {
    let Some(lab) = Lab::start("") else { return };
    let t = trap_target(lab.trap_port);
    let polls = || lab.metric("octopoll_polls_total{device=\"lab\",result=\"success\"}");
    // The interval is an hour: a poll seen here is a re-poll (the first regular one is at
    // a slot spread over the hour: it falls into these 15 s in 0.4 % of runs).
    std::thread::sleep(Duration::from_millis(500));
    let start = polls();
    let sent = Instant::now();
    assert!(lab.send(
        "snmptrap",
        &[
            "-v2c",
            "-c",
            "public",
            &t,
            "",
            "1.3.6.1.6.3.1.1.5.3",
            "1.3.6.1.2.1.2.2.1.1.1",
            "i",
            "1"
        ]
    ));
    let first = wait_for(Duration::from_secs(5), || {
        (polls() > start).then(Instant::now)
    })
    .unwrap_or_else(|| panic!("no poll after a linkDown; log:\n{}", lab.octopoll.log()));
    let took = first - sent;
    eprintln!("linkDown -> poll done in {took:?}");
    assert!(took < Duration::from_secs(3), "re-poll took {took:?}");
    assert!(
        lab.octopoll.sample("ifOperStatus{device=\"lab\"").is_some(),
        "fresh interface state"
    );
    let after_first = polls();
    // Three more within the 3 s limit: one more poll, at the end of the limit.
    for trap in [
        "1.3.6.1.6.3.1.1.5.4",
        "1.3.6.1.6.3.1.1.5.1",
        "1.3.6.1.6.3.1.1.5.2",
    ] {
        assert!(lab.send("snmptrap", &["-v2c", "-c", "public", &t, "", trap]));
    }
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(polls(), after_first, "re-polled within the limit");
    let deferred = wait_for(Duration::from_secs(6), || {
        (polls() > after_first).then(Instant::now)
    })
    .expect("the deferred re-poll never came");
    eprintln!("deferred re-poll {:?} after the first", deferred - first);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        polls(),
        after_first + 1.0,
        "one deferred re-poll, not one per notification"
    );
    // authenticationFailure does not re-poll.
    std::thread::sleep(Duration::from_secs(3));
    let quiet = polls();
    assert!(lab.send(
        "snmptrap",
        &["-v2c", "-c", "public", &t, "", "1.3.6.1.6.3.1.1.5.5"]
    ));
    lab.expect(&traps_total("lab", "authenticationFailure"), 1.0);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(polls(), quiet);
}

#[test]
fn reload_rebinds_and_a_bad_listen_keeps_the_old_listener() {
    let Some(lab) = Lab::start("") else { return };
    let old = lab.trap_port;
    let trap = |port: u16, from: &str| {
        let from = format!("--clientaddr={from}");
        assert!(lab.send(
            "snmptrap",
            &[
                &from,
                "-v2c",
                "-c",
                "public",
                &trap_target(port),
                "",
                "1.3.6.1.6.3.1.1.5.1"
            ]
        ));
    };
    let reload = || http(&lab.octopoll.addr, "POST", "/-/reload").expect("POST /-/reload");
    trap(old, "127.0.0.1");
    lab.expect(&traps_total("lab", "coldStart"), 1.0);

    // A port another socket holds: rejected with file, line and key; the old one stays.
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let text = std::fs::read_to_string(&lab.config).unwrap();
    write_atomic(
        &lab.config,
        &text.replace(
            &format!("127.0.0.1:{old}"),
            &format!("127.0.0.1:{taken_port}"),
        ),
    );
    let (status, body) = reload();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains(
            "octopoll.yml:7: traps.listen: cannot listen for notifications on 127.0.0.1:"
        ),
        "{body}"
    );
    trap(old, "127.0.0.1");
    lab.expect(&traps_total("lab", "coldStart"), 2.0);
    assert_eq!(lab.metric("octopoll_config_last_reload_successful"), 0.0);

    // A free port: rebound; the old one is closed. Unknown sources accepted now.
    let new = free_udp_port();
    write_atomic(
        &lab.config,
        &text
            .replace(&format!("127.0.0.1:{old}"), &format!("127.0.0.1:{new}"))
            .replace(
                "repoll_limit: 3s",
                "repoll_limit: 3s\n  accept_unknown_sources: true",
            ),
    );
    let (status, body) = reload();
    assert_eq!(status, 200, "{body}");
    trap(new, "127.0.0.1");
    lab.expect(&traps_total("lab", "coldStart"), 3.0);
    trap(new, "127.0.0.3");
    lab.expect(&traps_total("127.0.0.3", "coldStart"), 1.0);
    let (_, page) = lab.octopoll.get("/");
    assert!(
        page.contains("Notifications from unknown sources") && page.contains("<td>127.0.0.3</td>"),
        "{page}"
    );
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    probe.send_to(b"x", ("127.0.0.1", old)).unwrap();
    // Nothing listens on the old port any more: it can be bound again.
    assert!(
        UdpSocket::bind(("127.0.0.1", old)).is_ok(),
        "old port still bound"
    );

    // New users with the same port: rebuilt in place, counters kept.
    write_atomic(
        &lab.config,
        &std::fs::read_to_string(&lab.config)
            .unwrap()
            .replace("users: [v3auth, v3priv]", "users: [v3auth]"),
    );
    let (status, body) = reload();
    assert_eq!(status, 200, "{body}");
    trap(new, "127.0.0.1");
    lab.expect(&traps_total("lab", "coldStart"), 4.0);
    drop(taken);
}

/// A real Alertmanager on a loopback port with its own storage, stopped by its PID.
struct Alertmanager {
    port: u16,
    dir: PathBuf,
    proc: Option<Proc>,
}

impl Alertmanager {
    fn start(dir: &Path) -> Option<Alertmanager> {
        tool("/usr/bin/prometheus-alertmanager")?;
        let dir = dir.join("alertmanager");
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(
            dir.join("am.yml"),
            "route: {receiver: 'null', group_wait: 1s}\nreceivers: [{name: 'null'}]\n",
        )
        .unwrap();
        let mut am = Alertmanager {
            port: free_tcp_port(),
            dir,
            proc: None,
        };
        am.run();
        Some(am)
    }

    fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("am.log"))
            .unwrap();
        let child = Command::new("/usr/bin/prometheus-alertmanager")
            .arg(format!(
                "--config.file={}",
                self.dir.join("am.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                self.dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            // No gossip: a single instance, nothing beyond loopback.
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start alertmanager");
        self.proc = Some(Proc {
            child,
            name: "alertmanager",
        });
        let ready = wait_for(Duration::from_secs(20), || {
            http(&self.addr(), "GET", "/-/ready").filter(|(s, _)| *s == 200)
        });
        assert!(ready.is_some(), "alertmanager not ready: {}", self.log());
    }

    fn stop(&mut self) {
        self.proc = None; // killed by its PID on drop
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("am.log")).unwrap_or_default()
    }

    /// Active alerts named `alertname`.
    fn alerts(&self, alertname: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/v2/alerts?filter=alertname%3D%22{alertname}%22");
        let (status, body) = http(&self.addr(), "GET", &path).expect("GET alerts");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Vec<serde_json::Value>>(&body).unwrap()
    }

    /// Waits for the active `alertname` alert whose labels include `labels`.
    fn wait_alert(
        &self,
        alertname: &str,
        labels: &[(&str, &str)],
        present: bool,
    ) -> Option<serde_json::Value> {
        let found = wait_for(Duration::from_secs(25), || {
            let hit = self.alerts(alertname).into_iter().find(|a| {
                labels
                    .iter()
                    .all(|(k, v)| a["labels"][k].as_str() == Some(v))
            });
            match (hit, present) {
                (Some(a), true) => Some(Some(a)),
                (None, false) => Some(None),
                _ => None,
            }
        });
        assert!(
            found.is_some(),
            "{alertname} {labels:?} {} in Alertmanager; alerts: {:?}",
            if present {
                "never appeared"
            } else {
                "still active"
            },
            self.alerts(alertname)
        );
        found.flatten()
    }
}

fn seconds(t: &serde_json::Value) -> f64 {
    humantime::parse_rfc3339_weak(t.as_str().unwrap())
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn link_down_opens_an_alertmanager_alert_and_link_up_resolves_it_queued_while_down() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut am) = Alertmanager::start(dir.path()) else {
        return;
    };
    let Some(lab) = Lab::start(&format!(
        "alertmanager: {{url: 'http://{}', expiry: 1h}}",
        am.addr()
    )) else {
        return;
    };
    let t = trap_target(lab.trap_port);
    let v2c = |args: &[&str]| {
        let mut a = vec!["-v2c", "-c", "public", t.as_str(), ""];
        a.extend(args);
        assert!(lab.send("snmptrap", &a));
    };
    // A coldStart: a one-shot alert, and a re-poll, so the interface names are known.
    v2c(&["1.3.6.1.6.3.1.1.5.1"]);
    lab.expect("snmp_device_up{device=\"lab\",site=\"lab1\"}", 1.0);
    let cold = am
        .wait_alert(
            "SnmpTrap",
            &[
                ("device", "lab"),
                ("trap", "coldStart"),
                ("severity", "info"),
                ("site", "lab1"),
            ],
            true,
        )
        .unwrap();
    let lasts = seconds(&cold["endsAt"]) - seconds(&cold["startsAt"]);
    assert!(
        (lasts - 3600.0).abs() < 5.0,
        "one-shot alert lasts {lasts}s, expiry is 1h"
    );

    v2c(&[
        "1.3.6.1.6.3.1.1.5.3",
        "1.3.6.1.2.1.2.2.1.1.1",
        "i",
        "1",
        "1.3.6.1.2.1.2.2.1.8.1",
        "i",
        "2",
    ]);
    let down = am
        .wait_alert(
            "SnmpLinkDown",
            &[
                ("device", "lab"),
                ("ifIndex", "1"),
                ("ifName", "lo"),
                ("severity", "warning"),
            ],
            true,
        )
        .unwrap();
    assert!(
        down["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("Interface lo on lab is down"),
        "{down}"
    );
    // The same through amtool.
    if let Some(amtool) = tool("/usr/bin/amtool") {
        let out = Command::new(amtool)
            .args([
                "alert",
                "query",
                "--alertmanager.url",
                &format!("http://{}", am.addr()),
                "alertname=SnmpLinkDown",
                "-o",
                "json",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("\"ifName\":\"lo\""),
            "amtool: {text}"
        );
    }

    v2c(&[
        "1.3.6.1.6.3.1.1.5.4",
        "1.3.6.1.2.1.2.2.1.1.1",
        "i",
        "1",
        "1.3.6.1.2.1.2.2.1.8.1",
        "i",
        "1",
    ]);
    am.wait_alert(
        "SnmpLinkDown",
        &[("device", "lab"), ("ifIndex", "1")],
        false,
    );

    // Alertmanager away: the alert waits in the queue, POSTs fail and are retried.
    am.stop();
    v2c(&["1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.7", "i", "7"]);
    let failing = wait_for(Duration::from_secs(10), || {
        (lab.metric("octopoll_alertmanager_post_failures_total") >= 2.0).then_some(())
    });
    assert!(
        failing.is_some(),
        "no failed POST counted:\n{}",
        lab.octopoll.get("/metrics").1
    );
    assert_eq!(lab.metric("octopoll_alertmanager_queue_length"), 1.0);
    let stopped_at = Instant::now();
    am.run();
    am.wait_alert("SnmpLinkDown", &[("device", "lab"), ("ifIndex", "7")], true);
    eprintln!(
        "queued alert delivered {:?} after Alertmanager came back",
        stopped_at.elapsed()
    );
    lab.expect("octopoll_alertmanager_queue_length", 0.0);
    assert_eq!(
        lab.metric("octopoll_alertmanager_alerts_dropped_total"),
        0.0
    );
    assert!(lab.metric("octopoll_alertmanager_alerts_sent_total") >= 4.0);
}

/// The Device dashboard marks notifications and lists them; the compose stack publishes
/// the listener's port.
#[test]
fn dashboard_and_compose_show_notifications() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let d: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("grafana/dashboards/device.json")).unwrap(),
    )
    .unwrap();
    let annotation = d["annotations"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["expr"].as_str().is_some_and(|e| {
                e.contains("snmp_traps_last_timestamp_seconds{device=\"$device\"}")
            })
        })
        .expect("no notification annotation");
    assert_eq!(annotation["titleFormat"], "{{trap}}");
    let panels: Vec<&str> = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    assert!(
        panels.contains(&"Recent notifications") && panels.contains(&"Notifications"),
        "{panels:?}"
    );

    let compose = std::fs::read_to_string(root.join("docker-compose.yml")).unwrap();
    assert!(compose.contains("\"162:1162/udp\""));
    let c = octopoll::config::load(&root.join("examples/compose")).unwrap();
    assert_eq!(c.traps.unwrap().listen.port(), 1162);
    assert_eq!(c.alertmanager.unwrap().url, "http://alertmanager:9093");
}
