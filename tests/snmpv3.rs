//! SNMPv3 end to end against a real net-snmp snmpd on loopback: every USM security level
//! and auth/priv protocol octopoll offers, clear errors for bad credentials, an agent that
//! reboots between polls (engine boots jump, time restarts) and an agent replaced by one
//! with a new engine ID on the same address.
//!
//! net-snmp 5.9.3 (Debian) supports `AES192`/`AES256` in `createUser`; its persistent file
//! stores them as `1.3.6.1.4.1.14832.1.3`/`.4`, the Blumenthal key extension
//! (draft-blumenthal-aes-usm-04), which is what octopoll's `AES192`/`AES256` mean. Its
//! `AES192C`/`AES256C` are the Reeder ("Cisco") extension, octopoll's `AES192C`/`AES256C`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A net-snmp snmpd whose persistent state lives in a directory we choose, so it can be
/// restarted as "the same agent" (same engine ID, engine boots + 1) or as a replacement
/// (new directory: new engine ID) on the same port.
struct Agent {
    port: u16,
    dir: tempfile::TempDir,
    extra: String,
    /// Extra environment for snmpd (the idle test's libfaketime).
    env: Vec<(String, String)>,
    proc: Option<Proc>,
}

impl Agent {
    fn start(extra: &str) -> Option<Agent> {
        Agent::start_with_env(extra, Vec::new())
    }

    fn start_with_env(extra: &str, env: Vec<(String, String)>) -> Option<Agent> {
        tool("/usr/sbin/snmpd")?;
        let mut a = Agent {
            port: free_udp_port(),
            dir: tempfile::tempdir().unwrap(),
            extra: extra.to_string(),
            env,
            proc: None,
        };
        a.spawn("persist-0");
        Some(a)
    }

    /// Starts snmpd with its persistent state in `persist` (relative to the temp dir).
    /// The config is a separate file: snmpd rewrites `$SNMP_PERSISTENT_DIR/snmpd.conf`.
    fn spawn(&mut self, persist: &str) {
        assert!(self.proc.is_none());
        let persist: PathBuf = self.dir.path().join(persist);
        std::fs::create_dir_all(&persist).unwrap();
        let conf = self.dir.path().join("agent.conf");
        std::fs::write(
            &conf,
            format!(
                "rocommunity public 127.0.0.1\nsysName octopoll-v3\n{}\n",
                self.extra
            ),
        )
        .unwrap();
        let log = self.dir.path().join("snmpd.log");
        // `-C` skips the persistent file too, so name it explicitly once it exists.
        let mut confs = conf.display().to_string();
        let saved = persist.join("snmpd.conf");
        if saved.exists() {
            confs = format!("{confs},{}", saved.display());
        }
        let child = Command::new("/usr/sbin/snmpd")
            .args(["-f", "-Lf"])
            .arg(&log)
            .args(["-C", "-c"])
            .arg(&confs)
            .env("SNMP_PERSISTENT_DIR", &persist)
            .env("MIBS", "")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg(format!("udp:127.0.0.1:{}", self.port))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start snmpd");
        self.proc = Some(Proc {
            child,
            name: "snmpd",
        });
        let ok = wait_for(Duration::from_secs(10), || self.engine());
        assert!(ok.is_some(), "snmpd did not answer; log: {}", self.log());
    }

    /// Stops snmpd with SIGTERM (by its PID) so it saves engine ID and boots, and waits.
    fn stop(&mut self) {
        let mut p = self.proc.take().expect("running");
        let ok = Command::new("kill")
            .args(["-TERM", &p.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let _ = p.child.wait();
    }

    /// (snmpEngineID, snmpEngineBoots) as read over v2c.
    fn engine(&self) -> Option<(String, u64)> {
        let out = snmp_tool(
            "snmpget",
            &["-v2c", "-c", "public", "-t", "0.3", "-r", "0", "-Ov"],
            self.port,
            &["1.3.6.1.6.3.10.2.1.1.0", "1.3.6.1.6.3.10.2.1.2.0"],
        )?;
        // The hex engine ID may wrap over lines; boots is the last line.
        let (id, boots) = out.trim_end().rsplit_once('\n')?;
        let boots = boots.rsplit(' ').next()?.parse().ok()?;
        Some((id.split_whitespace().collect::<Vec<_>>().join(" "), boots))
    }

    /// An integer scalar of the agent, over v2c.
    fn scalar(&self, oid: &str) -> Option<u64> {
        let out = snmp_tool(
            "snmpget",
            &["-v2c", "-c", "public", "-t", "0.3", "-r", "0", "-Ovq"],
            self.port,
            &[oid],
        )?;
        out.split_whitespace().next()?.parse().ok()
    }

    /// snmpEngineTime (seconds since the agent's engine boots changed).
    fn engine_time(&self) -> Option<u64> {
        self.scalar("1.3.6.1.6.3.10.2.1.3.0")
    }

    /// usmStatsNotInTimeWindows: requests the agent answered with a notInTimeWindow Report.
    fn not_in_time_windows(&self) -> Option<u64> {
        self.scalar("1.3.6.1.6.3.15.1.1.2.0")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("snmpd.log")).unwrap_or_default()
    }
}

const AUTH: &str = "authpass1";
const PRIV: &str = "privpass1";

/// (device/user suffix, net-snmp createUser arguments, rouser level, octopoll auth keys).
fn users() -> Vec<(&'static str, String, &'static str, String)> {
    let auth = |proto: &str| {
        format!("security_level: authNoPriv, auth_protocol: {proto}, auth_password: {AUTH}")
    };
    let privacy = |a: &str, p: &str| {
        format!(
            "security_level: authPriv, auth_protocol: {a}, auth_password: {AUTH}, \
             priv_protocol: {p}, priv_password: {PRIV}"
        )
    };
    let mut v = vec![(
        "noauth",
        String::new(),
        "noauth",
        "security_level: noAuthNoPriv".to_string(),
    )];
    for (name, net, ours) in [
        ("md5", "MD5", "MD5"),
        ("sha", "SHA", "SHA"),
        ("sha224", "SHA-224", "SHA224"),
        ("sha256", "SHA-256", "SHA256"),
        ("sha384", "SHA-384", "SHA384"),
        ("sha512", "SHA-512", "SHA512"),
    ] {
        v.push((name, format!("{net} \"{AUTH}\""), "auth", auth(ours)));
    }
    for (name, na, np, oa, op) in [
        ("sha-des", "SHA", "DES", "SHA", "DES"),
        ("sha-aes", "SHA", "AES", "SHA", "AES"),
        ("sha256-aes192", "SHA-256", "AES192", "SHA256", "AES192"),
        ("sha512-aes256", "SHA-512", "AES256", "SHA512", "AES256"),
        // SHA-1's 20-byte key is shorter than AES-192/256 needs, so the key extension
        // matters: Blumenthal (net-snmp's AES192/AES256) vs Reeder (AES192C/AES256C).
        ("sha-aes256", "SHA", "AES256", "SHA", "AES256"),
        ("sha-aes192c", "SHA", "AES192C", "SHA", "AES192C"),
        ("sha-aes256c", "SHA", "AES256C", "SHA", "AES256C"),
    ] {
        v.push((
            name,
            format!("{na} \"{AUTH}\" {np} \"{PRIV}\""),
            "priv",
            privacy(oa, op),
        ));
    }
    v
}

fn agent_conf() -> String {
    let mut s = String::new();
    for (name, args, level, _) in users() {
        s.push_str(&format!(
            "createUser u-{name} {args}\nrouser u-{name} {level}\n"
        ));
    }
    s
}

fn device_up(o: &Octopoll, device: &str) -> Option<f64> {
    o.sample(&format!("snmp_device_up{{device=\"{device}\""))
}

fn polls(o: &Octopoll, device: &str, result: &str) -> f64 {
    o.sample(&format!(
        "octopoll_polls_total{{device=\"{device}\",result=\"{result}\""
    ))
    .unwrap_or(0.0)
}

fn write_config(dir: &Path, port: u16, interval: &str, extra_devices: &str) -> PathBuf {
    let mut auths = String::new();
    let mut devices = String::new();
    for (name, _, _, keys) in users() {
        auths.push_str(&format!(
            "  a-{name}: {{version: 3, username: u-{name}, {keys}}}\n"
        ));
        devices.push_str(&format!(
            "  - {{name: v3-{name}, address: 127.0.0.1:{port}, auth: a-{name}}}\n"
        ));
    }
    for (name, keys) in [
        ("bad-user", format!("username: nobody, security_level: authNoPriv, auth_protocol: SHA, auth_password: {AUTH}")),
        ("bad-auth", format!("username: u-sha-aes, security_level: authPriv, auth_protocol: SHA, auth_password: wrongpass9, priv_protocol: AES, priv_password: {PRIV}")),
        ("bad-priv", format!("username: u-sha-aes, security_level: authPriv, auth_protocol: SHA, auth_password: {AUTH}, priv_protocol: AES, priv_password: wrongpass9")),
        ("bad-priv-des", format!("username: u-sha-des, security_level: authPriv, auth_protocol: SHA, auth_password: {AUTH}, priv_protocol: DES, priv_password: wrongpass9")),
        // Right passwords, wrong AES-256 key extension (Blumenthal for a Reeder user).
        ("bad-ext", format!("username: u-sha-aes256c, security_level: authPriv, auth_protocol: SHA, auth_password: {AUTH}, priv_protocol: AES256, priv_password: {PRIV}")),
    ] {
        auths.push_str(&format!("  {name}: {{version: 3, {keys}}}\n"));
    }
    let cfg = dir.join("octopoll.yml");
    std::fs::write(
        &cfg,
        format!(
            "defaults: {{interval: {interval}, timeout: 500ms, retries: 1}}\n\
             auths:\n{auths}devices:\n{devices}{extra_devices}"
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn every_usm_combination_polls_and_bad_credentials_fail_clearly() {
    let Some(agent) = Agent::start(&agent_conf()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = agent.port;
    let bad = format!(
        "  - {{name: wrong-user, address: 127.0.0.1:{port}, auth: bad-user}}\n\
         \x20 - {{name: wrong-auth, address: 127.0.0.1:{port}, auth: bad-auth}}\n\
         \x20 - {{name: wrong-priv, address: 127.0.0.1:{port}, auth: bad-priv}}\n\
         \x20 - {{name: wrong-priv-des, address: 127.0.0.1:{port}, auth: bad-priv-des}}\n\
         \x20 - {{name: wrong-key-extension, address: 127.0.0.1:{port}, auth: bad-ext}}\n"
    );
    let cfg = write_config(dir.path(), port, "3s", &bad);
    let o = Octopoll::start(&cfg, &[]);
    let mut names: Vec<String> = users().iter().map(|u| format!("v3-{}", u.0)).collect();
    let bad_names = [
        "wrong-user",
        "wrong-auth",
        "wrong-priv",
        "wrong-priv-des",
        "wrong-key-extension",
    ];
    names.extend(bad_names.iter().map(|s| s.to_string()));

    // Every device polled at least once; bounded by a few intervals (the first poll is
    // phase-spread over the 3 s interval, each poll's deadline is 2.7 s).
    let started = Instant::now();
    let body = wait_for(Duration::from_secs(20), || {
        let (_, b) = o.get("/metrics");
        names
            .iter()
            .all(|d| sample(&b, &format!("snmp_device_up{{device=\"{d}\"")).is_some())
            .then_some(b)
    })
    .unwrap_or_else(|| panic!("not every device polled; log:\n{}", o.log()));
    eprintln!("all devices polled after {:?}", started.elapsed());

    for (name, ..) in users() {
        let d = format!("v3-{name}");
        // Allow one more interval for a device whose first poll raced snmpd's start.
        let up = wait_for(Duration::from_secs(6), || {
            (device_up(&o, &d) == Some(1.0)).then_some(())
        });
        assert!(
            up.is_some(),
            "{d} not up: {}\n{}",
            o.status_row(&d),
            o.log()
        );
        let (_, b) = o.get("/metrics");
        assert!(
            b.lines().any(|l| l
                .starts_with(&format!("ifHCInOctets_total{{device=\"{d}\",ifIndex="))
                && l.contains("ifDescr=\"lo\"")),
            "{d}: no interface series\n{b}"
        );
        assert!(b.contains(&format!("ifOperStatus{{device=\"{d}\",ifIndex=")));
        assert!(b.contains("sysName=\"octopoll-v3\""));
    }

    // Bad credentials: down, never hanging past the deadline, with distinct messages.
    let (_, b) = o.get("/metrics");
    let _ = body;
    for d in bad_names {
        assert_eq!(
            sample(&b, &format!("snmp_device_up{{device=\"{d}\"")),
            Some(0.0),
            "{d}"
        );
        let dur = sample(
            &b,
            &format!("snmp_device_poll_duration_seconds{{device=\"{d}\""),
        )
        .unwrap();
        // The deadline (2.7 s) ends a poll; on a loaded machine its timer fires a little
        // late, so the measured duration may pass it by a few scheduling delays.
        assert!(
            dur < 2.7 + 0.3,
            "{d} took {dur}s, past the poll deadline: {}",
            o.status_row(d)
        );
    }
    let expect = [
        ("wrong-user", "unknown user name"),
        ("wrong-auth", "wrong digest"),
        ("wrong-priv", "privacy password"),
        ("wrong-priv-des", "privacy password"),
        ("wrong-key-extension", "privacy password or protocol"),
    ];
    let mut seen = Vec::new();
    for (d, phrase) in expect {
        let row = o.status_row(d);
        eprintln!("{d}: {row}");
        assert!(row.contains(phrase), "{d}: want {phrase:?} in\n{row}");
        seen.push(row);
    }
    assert!(
        !seen[0].contains("wrong digest") && !seen[1].contains("unknown user"),
        "messages must differ"
    );
    assert!(!seen[2].contains("wrong digest") && !seen[2].contains("unknown user"));
}

/// "Idle for five minutes, then the first request fails" is the USM time window (RFC 3414
/// 3.2 step 7b: 150 s) or engine boots moving under a session that octopoll keeps across
/// polls. Waiting five minutes in a test is impractical, so this tests the mechanism
/// directly: between two polls of a kept (healthy) session, snmpd is restarted with the
/// same persistent directory: same engine ID, engine boots + 1 and engine time back near
/// zero, exactly what the agent's time-window check rejects. The next poll must succeed
/// with no failed poll in between: snmpd answers an authenticated notInTimeWindow Report
/// and async-snmp resynchronises with one authenticated correction. The same correction
/// covers a stale time after a long idle (and the shared engine cache's 300 s TTL just
/// makes a session rediscover).
#[test]
fn agent_reboot_between_polls_is_absorbed_without_a_failed_poll() {
    let Some(mut agent) = Agent::start(&agent_conf()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), agent.port, "4s", "");
    let o = Octopoll::start(&cfg, &[]);
    let dev = "v3-sha512-aes256";
    let ok = wait_for(Duration::from_secs(15), || {
        (polls(&o, dev, "success") >= 1.0).then_some(())
    });
    assert!(ok.is_some(), "{}\n{}", o.status_row(dev), o.log());
    let (id0, boots0) = agent.engine().unwrap();

    // Right after a successful poll, restart the agent (the next poll is ~4 s away).
    let before = polls(&o, dev, "success");
    wait_for(Duration::from_secs(6), || {
        (polls(&o, dev, "success") > before).then_some(())
    })
    .unwrap();
    let t = Instant::now();
    agent.stop();
    agent.spawn("persist-0");
    eprintln!("snmpd restarted in {:?}", t.elapsed());
    let (id1, boots1) = agent.engine().unwrap();
    assert_eq!(id0, id1, "same persistent dir must keep the engine ID");
    assert!(boots1 > boots0, "engine boots {boots0} -> {boots1}");
    let failures = polls(&o, dev, "failure");
    let success = polls(&o, dev, "success");

    let next = wait_for(Duration::from_secs(10), || {
        (polls(&o, dev, "success") > success || polls(&o, dev, "failure") > failures).then_some(())
    });
    assert!(next.is_some());
    assert_eq!(
        polls(&o, dev, "failure"),
        failures,
        "first poll after the reboot failed: {}",
        o.status_row(dev)
    );
    assert_eq!(device_up(&o, dev), Some(1.0));
}

/// A device replaced by another (new engine ID, same address): octopoll must notice and
/// recover within a few polls, not keep using the old engine ID from its engine cache.
#[test]
fn replaced_agent_with_new_engine_id_recovers() {
    let Some(mut agent) = Agent::start(&agent_conf()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), agent.port, "2s", "");
    let o = Octopoll::start(&cfg, &[]);
    let devs = ["v3-sha-aes", "v3-md5", "v3-noauth", "v3-sha256-aes192"];
    let ok = wait_for(Duration::from_secs(15), || {
        devs.iter()
            .all(|d| device_up(&o, d) == Some(1.0))
            .then_some(())
    });
    assert!(ok.is_some(), "{}", o.log());
    let (id0, _) = agent.engine().unwrap();

    agent.stop();
    // Let every device fail at least once against the dead address.
    let fails: Vec<f64> = devs.iter().map(|d| polls(&o, d, "failure")).collect();
    let down = wait_for(Duration::from_secs(10), || {
        devs.iter()
            .zip(&fails)
            .all(|(d, f)| polls(&o, d, "failure") > *f)
            .then_some(())
    });
    assert!(down.is_some());
    agent.spawn("persist-1");
    let (id1, _) = agent.engine().unwrap();
    assert_ne!(id0, id1, "a new persistent dir must give a new engine ID");
    let t = Instant::now();
    let succ: Vec<f64> = devs.iter().map(|d| polls(&o, d, "success")).collect();
    // Within a few polls (2 s interval).
    let back = wait_for(Duration::from_secs(12), || {
        devs.iter()
            .zip(&succ)
            .all(|(d, s)| polls(&o, d, "success") > *s && device_up(&o, d) == Some(1.0))
            .then_some(())
    });
    let rows: Vec<String> = devs.iter().map(|d| o.status_row(d)).collect();
    assert!(
        back.is_some(),
        "not recovered after new engine ID: {rows:#?}"
    );
    eprintln!("recovered after {:?}", t.elapsed());
}

/// A poll after a long idle: the first request's engine time is the client's estimate of
/// the agent's clock, and if that estimate went stale (snmp2 did not advance it: every
/// first request after ~170 s idle failed) the agent answers notInTimeWindow.
///
/// Waiting 5 real minutes in CI is too slow, so the test moves the agent's clock instead:
/// snmpd runs under libfaketime with its offset read from a file (`FAKETIME_NO_CACHE`),
/// and after a successful poll the file jumps the agent's clocks (monotonic included,
/// which net-snmp's engine time uses) 310 s ahead. To the agent, octopoll's next request
/// then carries an engine time 310 s old, exactly what a client with a stale estimate
/// sends after 5+ minutes of idle, and beyond the 150 s window. The next poll must still
/// succeed, with no failed poll in between.
#[test]
fn stale_engine_time_after_long_idle_does_not_fail_a_poll() {
    let Some(lib) = tool("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let offset_file = dir.path().join("faketime");
    std::fs::write(&offset_file, "+0\n").unwrap();
    let Some(mut agent) = Agent::start_with_env(
        &agent_conf(),
        vec![
            ("LD_PRELOAD".into(), lib.display().to_string()),
            (
                "FAKETIME_TIMESTAMP_FILE".into(),
                offset_file.display().to_string(),
            ),
            ("FAKETIME_NO_CACHE".into(), "1".into()),
        ],
    ) else {
        return;
    };
    let cfg = write_config(dir.path(), agent.port, "3s", "");
    let o = Octopoll::start(&cfg, &[]);
    let devs = ["v3-sha-aes", "v3-sha512-aes256", "v3-md5", "v3-sha-des"];
    let up = wait_for(Duration::from_secs(15), || {
        devs.iter()
            .all(|d| polls(&o, d, "success") >= 1.0)
            .then_some(())
    });
    assert!(up.is_some(), "{}\n{}", agent.log(), o.log());

    let t0 = agent.engine_time().expect("engine time before");
    let nitw0 = agent
        .not_in_time_windows()
        .expect("usmStatsNotInTimeWindows");
    let success: Vec<f64> = devs.iter().map(|d| polls(&o, d, "success")).collect();
    let failures: Vec<f64> = devs.iter().map(|d| polls(&o, d, "failure")).collect();
    std::fs::write(&offset_file, "+310\n").unwrap();
    let t1 = agent.engine_time().expect("engine time after");
    assert!(
        t1 >= t0 + 300,
        "libfaketime did not move the agent's engine time: {t0} -> {t1}"
    );

    // Two more polls of every device (3 s interval).
    let next = wait_for(Duration::from_secs(12), || {
        devs.iter()
            .zip(&success)
            .all(|(d, s)| polls(&o, d, "success") >= s + 2.0)
            .then_some(())
    });
    let rows: Vec<String> = devs.iter().map(|d| o.status_row(d)).collect();
    assert!(
        next.is_some(),
        "no poll after the jump: {rows:#?}\n{}",
        o.log()
    );
    for (d, f) in devs.iter().zip(&failures) {
        assert_eq!(polls(&o, d, "failure"), *f, "{d} failed a poll: {rows:#?}");
        assert_eq!(device_up(&o, d), Some(1.0));
    }
    // The agent did see a stale time (else this test proved nothing). One Report is
    // enough for all four: their sessions share the engine's boots/time.
    let nitw1 = agent.not_in_time_windows().unwrap();
    assert!(
        nitw1 > nitw0,
        "usmStatsNotInTimeWindows {nitw0} -> {nitw1}: the stale-time case never happened"
    );
    eprintln!("notInTimeWindow Reports: {}", nitw1 - nitw0);
    agent.stop();
}
