//! Devices as they are in the field, end to end: the octopoll binary polls simulated agents
//! that cap their replies (1,500 bytes, as Cisco IOS does) over loopback.
//!
//! - A chassis with 30,000 interfaces (and, `#[ignore]`d for its time, 100,000) is up with
//!   every interface exposed and its labels right: one GETBULK walk of 13 columns, more
//!   rows than the old all-columns guard of 200,000 allowed.
//! - A capped agent is polled in the number of requests its cap implies, and no more, from
//!   the second poll on: every reply is as full as the cap allows (counted at the agent),
//!   and an agent that refuses with tooBig is not asked too much again; also between two
//!   refreshes of the label columns, when only counters and status are walked.
//! - A chassis whose ifIndexes are renumbered between two polls carries the agent's labels
//!   on the very next poll, although its labels were not due for a refresh.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::*;
use octopoll::sim::{self, DeviceSpec, Running, Stats};
use tokio_util::sync::CancellationToken;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Simulated devices plus an octopoll polling them, added by a reload so that they are
/// polled at once (a first start spreads first polls over the interval).
struct Field {
    _rt: tokio::runtime::Runtime,
    sim: Running,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
    octopoll: Octopoll,
}

impl Field {
    fn start(specs: Vec<DeviceSpec>, defaults: &str) -> Field {
        let rt = runtime();
        let stop = CancellationToken::new();
        let mut all = vec![DeviceSpec {
            name: "warm-up".into(),
            interfaces: 2,
            ..DeviceSpec::default()
        }];
        all.extend(specs);
        let sim = rt
            .block_on(sim::start(LOCALHOST, 0, all, stop.clone()))
            .unwrap();
        let config = |devices: &[(String, SocketAddr)]| {
            let mut y = format!(
                "defaults: {{{defaults}, auth: pub}}\n\
                 auths: {{pub: {{version: 2c, community: public}}}}\ndevices:\n"
            );
            for (name, addr) in devices {
                y.push_str(&format!("  - {{name: {name}, address: \"{addr}\"}}\n"));
            }
            y
        };
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("octopoll.yml");
        std::fs::write(&cfg, config(&sim.devices[..1])).unwrap();
        let octopoll = Octopoll::start(&cfg, &["--no-watch"]);
        std::fs::write(&cfg, config(&sim.devices)).unwrap();
        let (status, body) = http(&octopoll.addr, "POST", "/-/reload").unwrap();
        assert_eq!(status, 200, "{body}");
        Field {
            _rt: rt,
            sim,
            stop,
            _dir: dir,
            octopoll,
        }
    }

    /// Successful polls of `device` so far (octopoll's own counter).
    fn polls_ok(&self, device: &str) -> u64 {
        let (_, body) = self.octopoll.get("/metrics?devices=false");
        sample(
            &body,
            &format!("octopoll_polls_total{{device=\"{device}\",result=\"success\"}}"),
        )
        .unwrap_or(0.0) as u64
    }

    /// Waits until `device` has `n` successful polls; fails on a failed one.
    fn wait_polls(&self, device: &str, n: u64, timeout: Duration) {
        let done = wait_for(timeout, || {
            let (_, body) = self.octopoll.get("/metrics?devices=false");
            let failed = sample(
                &body,
                &format!("octopoll_polls_total{{device=\"{device}\",result=\"failure\"}}"),
            )
            .unwrap_or(0.0);
            assert_eq!(
                failed,
                0.0,
                "{device} failed a poll: {}",
                self.octopoll.status_row(device)
            );
            (self.polls_ok(device) >= n).then_some(())
        });
        assert!(
            done.is_some(),
            "{device}: {n} polls not done in {timeout:?}: {}\n{}",
            self.octopoll.status_row(device),
            self.octopoll.log()
        );
    }
}

impl Drop for Field {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The value of label `name` in a sample line.
fn label<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!(",{name}=\""))? + name.len() + 3;
    let rest = &line[start..];
    Some(&rest[..rest.find('"')?])
}

/// ifName of `if_index` on the agent, read with net-snmp's snmpget (not through octopoll).
fn agent_if_name(addr: SocketAddr, if_index: u32) -> String {
    let out = snmp_tool(
        "snmpget",
        &["-v2c", "-c", "public", "-t", "2", "-r", "1", "-Oqv"],
        addr.port(),
        &[&format!("1.3.6.1.2.1.31.1.1.1.1.{if_index}")],
    )
    .expect("snmpget ifName");
    out.trim().trim_matches('"').to_string()
}

/// A device with `interfaces` interfaces is up with every one of them exposed, each with
/// the ifName the agent gives it.
fn big_device_is_exposed_completely(interfaces: usize, timeout: Duration) {
    let name = "chassis";
    let field = Field::start(
        vec![DeviceSpec {
            name: name.into(),
            interfaces,
            seed: 9,
            ..DeviceSpec::default()
        }],
        "interval: 5m, timeout: 5s, retries: 2",
    );
    field.wait_polls(name, 1, timeout);
    let (status, body) = field.octopoll.get(&format!("/probe?device={name}"));
    assert_eq!(status, 200);
    assert_eq!(
        sample(&body, &format!("snmp_device_up{{device=\"{name}\"")),
        Some(1.0)
    );
    let mut indexes = BTreeSet::new();
    let mut names = std::collections::HashMap::new();
    for line in body
        .lines()
        .filter(|l| l.starts_with("ifHCInOctets_total{"))
    {
        let idx: u32 = label(line, "ifIndex").unwrap().parse().unwrap();
        assert!(indexes.insert(idx), "ifIndex {idx} twice");
        names.insert(idx, label(line, "ifName").unwrap().to_string());
    }
    assert_eq!(indexes.len(), interfaces, "interfaces exposed");
    assert_eq!(indexes.first(), Some(&1));
    assert_eq!(indexes.last(), Some(&(interfaces as u32)));
    // Every other per-interface family too.
    for family in ["ifOperStatus{", "ifHighSpeed{", "ifInErrors_total{"] {
        let n = body.lines().filter(|l| l.starts_with(family)).count();
        assert_eq!(n, interfaces, "{family}");
    }
    // Labels as the agent has them, at the start, the middle and the end of the table.
    let addr = field.sim.devices[1].1;
    let n = interfaces as u32;
    for idx in [1, 2, n / 3, n / 2 + 1, n - 2, n - 1, n] {
        assert_eq!(names[&idx], agent_if_name(addr, idx), "ifName of {idx}");
    }
    let requests = field.sim.stats(name).unwrap();
    eprintln!(
        "{interfaces} interfaces: one poll, {} requests to the agent ({} cut by its cap), \
         {}",
        requests.requests,
        requests.cut,
        field.octopoll.status_row(name)
    );
}

#[test]
fn thirty_thousand_interfaces_are_exposed() {
    big_device_is_exposed_completely(30_000, Duration::from_secs(240));
}

/// `cargo test --release --test field -- --ignored hundred_thousand`
#[test]
#[ignore]
fn hundred_thousand_interfaces_are_exposed() {
    big_device_is_exposed_completely(100_000, Duration::from_secs(280));
}

/// What the agent counted during one poll: the difference of two snapshots.
fn delta(after: Stats, before: Stats) -> Stats {
    Stats {
        requests: after.requests - before.requests,
        cut: after.cut - before.cut,
        too_big: after.too_big - before.too_big,
        full: after.full - before.full,
        varbinds_asked: after.varbinds_asked - before.varbinds_asked,
        varbinds_sent: after.varbinds_sent - before.varbinds_sent,
    }
}

/// Per poll, what each agent counted: polls 1 to `polls` of every device in `names`.
fn per_poll(field: &Field, names: &[&str], polls: u64) -> Vec<Vec<Stats>> {
    let mut last: Vec<Stats> = names.iter().map(|_| Stats::default()).collect();
    let mut out: Vec<Vec<Stats>> = names.iter().map(|_| Vec::new()).collect();
    for k in 1..=polls {
        for (i, name) in names.iter().enumerate() {
            field.wait_polls(name, k, Duration::from_secs(20));
            // The next poll is at least half an interval (1.5 s) away: these are poll k's
            // requests.
            let now = field.sim.stats(name).unwrap();
            out[i].push(delta(now, last[i]));
            last[i] = now;
        }
    }
    out
}

/// Two 55-interface agents capped at 1,500 bytes, one that cuts replies and one that
/// answers tooBig, polled every 3 s with `extra` defaults: what each agent counted in
/// polls 1 to `polls`, printed.
fn cut_and_refusing_agents(extra: &str, polls: u64) -> (Vec<Stats>, Vec<Stats>) {
    let spec = |name: &str, too_big: bool| DeviceSpec {
        name: name.into(),
        interfaces: 55,
        too_big_over_cap: too_big,
        seed: 3,
        ..DeviceSpec::default()
    };
    let field = Field::start(
        vec![spec("cuts", false), spec("refuses", true)],
        &format!("interval: 3s, timeout: 1s, retries: 1, max_repetitions: 25{extra}"),
    );
    let mut per = per_poll(&field, &["cuts", "refuses"], polls).into_iter();
    let (cuts, refuses) = (per.next().unwrap(), per.next().unwrap());
    eprintln!("agent that cuts replies, per poll: {cuts:#?}");
    eprintln!("agent that answers tooBig, per poll: {refuses:#?}");
    (cuts, refuses)
}

#[test]
fn capped_agents_are_polled_in_the_requests_the_cap_implies() {
    // Every poll walks all 13 columns here (labels refreshed each time); the kept-label
    // polls of the default cadence are the next test's.
    let (cuts, refuses) = &cut_and_refusing_agents(", refresh: 1", 3);

    // The system group and 13 IF-MIB columns of 55 interfaces: 721 varbinds at least.
    for p in cuts.iter().chain(refuses) {
        assert!(p.varbinds_sent >= 6 + 13 * 55, "{p:?}");
    }
    // An agent that cuts: every reply is as full as its cap allows, but the last (which
    // ends past the table) may not be: no request more than the cap implies. From the
    // second poll on the agent computes at most two rows (of 13) per request beyond what
    // it sends, where asking 25 repetitions makes it compute 325 varbinds to send ~40.
    for (k, p) in cuts.iter().enumerate() {
        assert_eq!(p.too_big, 0, "poll {}: {p:?}", k + 1);
        assert!(p.requests - p.cut <= 1, "poll {}: {p:?}", k + 1);
    }
    for p in &cuts[1..] {
        assert_eq!(p.requests, cuts[0].requests);
        assert!(
            p.varbinds_asked <= p.varbinds_sent + p.requests * 2 * 13,
            "{p:?}"
        );
    }
    assert!(
        cuts[0].varbinds_asked > cuts[0].varbinds_sent + 200,
        "{:?}",
        cuts[0]
    );
    // An agent that refuses: the first poll finds its size with tooBig, the next ones ask
    // what fits from their first request on, and that is within two rows of what the
    // same cap lets the other agent send per reply.
    assert!(refuses[0].too_big >= 1, "{:?}", refuses[0]);
    let per_request = |p: &Stats| p.varbinds_sent as f64 / p.requests as f64;
    for p in &refuses[1..] {
        assert_eq!(p.too_big, 0, "{p:?}");
        refusing_agent_is_asked_whole_rows_to_the_cap(p);
        assert_eq!(p.requests, refuses[1].requests, "{p:?}");
        assert!(p.requests < refuses[0].requests, "{p:?}");
        assert!(
            per_request(p) >= per_request(&cuts[1]) - 2.0 * 13.0,
            "{p:?} vs {:?}",
            cuts[1]
        );
    }
}

#[test]
fn capped_agents_between_label_refreshes_take_the_requests_the_cap_implies() {
    // The default cadence: the first poll walks the 13 IF-MIB columns, the next ones only
    // the 8 counter and status columns plus ifNumber and ifTableLastChange. Their varbinds
    // are smaller than the label columns', so what the first poll learned (varbinds per
    // reply) under-asks once; the walk then asks its configured size once and learns again.
    let (cuts, refuses) = &cut_and_refusing_agents("", 4);
    for p in cuts[1..].iter().chain(&refuses[1..]) {
        // 8 columns of 55 rows (7 at least), and fewer varbinds than the full first poll.
        assert!(p.varbinds_sent >= 7 * 55, "{p:?}");
        assert!(p.varbinds_sent < cuts[0].varbinds_sent - 4 * 55, "{p:?}");
        assert_eq!(p.too_big, 0, "{p:?}");
    }
    // The second poll: at most one reply under-asked beside the last; from the third on,
    // every reply full but the last, and the same number of requests in every kept-label
    // poll: the second poll's under-ask cost no request.
    assert!(cuts[1].requests - cuts[1].cut <= 2, "{:?}", cuts[1]);
    for p in &cuts[2..] {
        assert!(p.requests - p.cut <= 1, "{p:?}");
    }
    for p in &cuts[1..] {
        assert_eq!(p.requests, cuts[2].requests, "{p:?}");
        assert!(p.requests < cuts[0].requests, "{p:?}");
    }
    // The refusing agent: no tooBig after the first poll, the same requests every poll,
    // each asking as many rows of the 8 columns as fit (9, where the 13-column walk
    // learned that 5 rows of 13 fit and 6 are refused).
    for p in &refuses[1..] {
        assert_eq!(p.requests, refuses[1].requests, "{p:?}");
        assert!(p.requests < refuses[0].requests, "{p:?}");
        refusing_agent_is_asked_whole_rows_to_the_cap(p);
    }
}

/// A poll of an agent that refuses (tooBig) instead of cutting: every request but two asks
/// as many whole rows as fit, one repetition more would have been refused (counted at the
/// agent). The two: the last, which sees the end of the table, and the first, which
/// carries the system group and asks what is known to fit rather than probe once a poll.
fn refusing_agent_is_asked_whole_rows_to_the_cap(p: &Stats) {
    assert_eq!(p.cut, 0, "{p:?}");
    assert!(p.requests - p.full <= 2, "{p:?}");
}

/// ifIndex → ifName as the agent has them now, read with net-snmp's snmpbulkwalk.
fn agent_if_names(addr: SocketAddr) -> std::collections::BTreeMap<u32, String> {
    let out = snmp_tool(
        "snmpbulkwalk",
        &["-v2c", "-c", "public", "-t", "2", "-r", "1", "-Oq"],
        addr.port(),
        &["1.3.6.1.2.1.31.1.1.1.1"],
    )
    .expect("snmpbulkwalk ifName");
    out.lines()
        .map(|l| {
            let (oid, name) = l.split_once(' ').unwrap();
            let idx = oid.rsplit('.').next().unwrap().parse().unwrap();
            (idx, name.trim().trim_matches('"').to_string())
        })
        .collect()
}

/// ifIndex → ifName of the `ifHCInOctets` series octopoll exposes for `device`.
fn exposed_if_names(field: &Field, device: &str) -> std::collections::BTreeMap<u32, String> {
    let (status, body) = field.octopoll.get(&format!("/probe?device={device}"));
    assert_eq!(status, 200);
    let mut names = std::collections::BTreeMap::new();
    for line in body
        .lines()
        .filter(|l| l.starts_with("ifHCInOctets_total{"))
    {
        let idx: u32 = label(line, "ifIndex").unwrap().parse().unwrap();
        let name = label(line, "ifName").unwrap().to_string();
        assert!(names.insert(idx, name).is_none(), "ifIndex {idx} twice");
    }
    names
}

#[test]
fn renumbered_interfaces_carry_the_agents_labels_on_the_next_poll() {
    let name = "chassis";
    // Labels due only every 100th poll: what refreshes them here is the renumbering.
    let field = Field::start(
        vec![DeviceSpec {
            name: name.into(),
            interfaces: 60,
            seed: 5,
            ..DeviceSpec::default()
        }],
        "interval: 3s, timeout: 1s, retries: 1, refresh: 100",
    );
    let addr = field.sim.devices[1].1;
    field.wait_polls(name, 2, Duration::from_secs(20));
    let before = exposed_if_names(&field, name);
    assert_eq!(before, agent_if_names(addr));
    assert_eq!(
        before.keys().copied().collect::<Vec<_>>(),
        (1..=60).collect::<Vec<_>>()
    );

    // Shift by one: 59 of the 60 ifIndexes still exist, each now another port's. Kept
    // labels would put port k's name on port k+1's counters. Done right after poll 2 ends,
    // so poll 3 (an interval later) is the first to see it.
    assert!(field.sim.set_if_index_offset(name, 1));
    let agent = agent_if_names(addr);
    assert_eq!(
        agent.keys().copied().collect::<Vec<_>>(),
        (2..=61).collect::<Vec<_>>()
    );
    assert_ne!(agent[&2], before[&2], "the renumbering moved the names");
    // After snmpbulkwalk's own requests.
    let at_poll_2 = field.sim.stats(name).unwrap();
    field.wait_polls(name, 3, Duration::from_secs(20));
    assert_eq!(
        exposed_if_names(&field, name),
        agent,
        "poll 3: the agent's labels"
    );

    // Poll 3 walked the label columns again (ifDescr, ifName, ifHighSpeed, ifAlias,
    // ifIndex: 5 of 13), poll 4 does not: the labels are kept again, and still right.
    let at_poll_3 = field.sim.stats(name).unwrap();
    field.wait_polls(name, 4, Duration::from_secs(20));
    let at_poll_4 = field.sim.stats(name).unwrap();
    let (p3, p4) = (delta(at_poll_3, at_poll_2), delta(at_poll_4, at_poll_3));
    eprintln!("poll 3 (renumbered): {p3:?}\npoll 4: {p4:?}");
    assert!(p3.varbinds_sent >= 13 * 60, "{p3:?}");
    assert!(
        p4.varbinds_sent < p3.varbinds_sent - 5 * 60,
        "{p4:?} vs {p3:?}"
    );
    assert_eq!(
        exposed_if_names(&field, name),
        agent,
        "poll 4: still the agent's labels"
    );
}

#[test]
fn a_column_over_max_rows_fails_the_poll_naming_column_and_limit() {
    // 55 interfaces against a limit of 40 rows per column: the device is down with an
    // error that says which column and which limit; the 2-interface device beside it is
    // polled as usual.
    let field = Field::start(
        vec![DeviceSpec {
            name: "wide".into(),
            interfaces: 55,
            ..DeviceSpec::default()
        }],
        "interval: 3s, timeout: 1s, retries: 1, max_rows: 40",
    );
    field.wait_polls("warm-up", 2, Duration::from_secs(20));
    let row = field.octopoll.status_row("wide");
    assert!(
        row.contains("returned more than 40 rows") && row.contains("max_rows"),
        "{row}"
    );
    assert!(row.contains("1.3.6.1.2.1."), "the column is named: {row}");
    let (_, body) = field.octopoll.get("/probe?device=wide");
    assert_eq!(
        sample(&body, "snmp_device_up{device=\"wide\""),
        Some(0.0),
        "{body}"
    );
}

/// `column`'s rows on the agent at `port` (ifIndex → value), read with net-snmp's
/// snmpbulkwalk (not through octopoll).
fn agent_column(port: u16, column: &str) -> std::collections::BTreeMap<u32, u64> {
    let out = snmp_tool(
        "snmpbulkwalk",
        &["-v2c", "-c", "public", "-t", "2", "-r", "1", "-Oq"],
        port,
        &[column],
    )
    .expect("snmpbulkwalk");
    out.lines()
        .filter_map(|l| {
            let (oid, v) = l.split_once(' ')?;
            let idx = oid.strip_prefix(&format!(".{column}."))?.parse().ok()?;
            Some((idx, v.trim().parse().ok()?))
        })
        .collect()
}

/// A recorded switch with a few ports lacking 64-bit counters (a Catalyst 3750: 4 of its 59
/// interfaces) exposes those ports' 32-bit octet counters as the agent has them, and no
/// other port's. octopoll fetches them by GET instead of walking both 32-bit columns (the
/// poller's unit test `a_few_interfaces_without_64_bit_counters_get_theirs_by_get_many_by_a_walk`
/// checks which requests; this one the values, over UDP).
#[test]
fn a_recorded_switch_exposes_the_32_bit_counters_of_its_few_ports_without_64_bit_ones() {
    let gz =
        std::path::Path::new("/usr/share/doc/snmpsim/examples/data/cisco_16_switch.snmprec.gz");
    if !gz.exists() {
        assert!(!in_ci(), "snmpsim's recordings are not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("cisco_16_switch.snmprec");
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(gz)
        .output()
        .unwrap();
    std::fs::write(&rec, out.stdout).unwrap();
    let sim = Simulator::start(&[rec]);
    let port = sim.ports["cisco_16_switch"];
    let hc = agent_column(port, "1.3.6.1.2.1.31.1.1.1.6");
    let in32 = agent_column(port, "1.3.6.1.2.1.2.2.1.10");
    let out32 = agent_column(port, "1.3.6.1.2.1.2.2.1.16");
    let lacking: BTreeSet<u32> = in32
        .keys()
        .copied()
        .filter(|i| !hc.contains_key(i))
        .collect();
    assert!(
        !lacking.is_empty() && lacking.len() * 4 <= in32.len(),
        "the recording should have a few ports without 64-bit counters: {lacking:?} of {}",
        in32.len()
    );

    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(
        &cfg,
        format!(
            "defaults: {{interval: 2s, timeout: 500ms, retries: 1, auth: pub}}\n\
             auths: {{pub: {{version: 2c, community: public}}}}\n\
             devices:\n  - {{name: c3750, address: \"127.0.0.1:{port}\"}}\n"
        ),
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &["--no-watch"]);
    let polled = wait_for(Duration::from_secs(30), || {
        let (_, body) = o.get("/metrics?devices=false");
        (sample(
            &body,
            "octopoll_polls_total{device=\"c3750\",result=\"success\"}",
        )? >= 3.0)
            .then_some(())
    });
    assert!(polled.is_some(), "3 polls not done: {}", o.log());
    let (_, body) = o.get("/metrics");
    let exposed = |family: &str| -> std::collections::BTreeMap<u32, u64> {
        body.lines()
            .filter(|l| l.starts_with(&format!("{family}{{device=\"c3750\"")))
            .map(|l| {
                let idx = label(l, "ifIndex").expect("ifIndex label").parse().unwrap();
                let v: f64 = l.rsplit(' ').next().unwrap().parse().unwrap();
                (idx, v as u64)
            })
            .collect()
    };
    let want = |col: &std::collections::BTreeMap<u32, u64>| {
        lacking
            .iter()
            .map(|i| (*i, col[i]))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(exposed("ifInOctets_total"), want(&in32));
    assert_eq!(exposed("ifOutOctets_total"), want(&out32));
    // The others keep their 64-bit counters, as the agent has them.
    let hc_exposed = exposed("ifHCInOctets_total");
    assert_eq!(hc_exposed.len(), hc.len());
    assert!(hc_exposed.keys().all(|i| !lacking.contains(i)));
}
