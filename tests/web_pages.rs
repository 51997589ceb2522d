//! The status page and the device page as a technician sees them: octopoll polls the
//! simulator, headless Chromium (Debian's `chromium`) loads both pages, and what the
//! browser rendered is checked against net-snmp's own reading of the simulator's
//! counters: every interface row shows its name and two rates in bit/s, and the rates
//! agree with the counters' increase over a few seconds. Screenshots of both pages are
//! kept in target/web-pages/ (artifacts, not committed).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const IFACES: usize = 24;

/// target/web-pages, where the screenshots go.
fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("web-pages");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Headless Chromium with the flags this machine needs (no sandbox as root, no
/// background traffic to the closed network), a fresh profile each time.
fn chromium(bin: &Path, profile: &Path, args: &[&str], url: &str) -> String {
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium {args:?} {url} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DOM Chromium built from `url` (it parses the HTML the way a browser does).
fn dom(bin: &Path, profile: &Path, url: &str) -> String {
    chromium(bin, profile, &["--dump-dom"], url)
}

fn screenshot(bin: &Path, profile: &Path, url: &str, file: &Path, height: u32) {
    let _ = std::fs::remove_file(file);
    chromium(
        bin,
        profile,
        &[
            &format!("--screenshot={}", file.display()),
            &format!("--window-size=1400,{height}"),
        ],
        url,
    );
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        file.display()
    );
}

/// Text of an element's inner HTML: tags dropped, entities decoded.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

/// Inner HTML of the first `<td class="...CLASS...">` in `row`.
fn cell<'a>(row: &'a str, class: &str) -> Option<&'a str> {
    let start = row.find(&format!("class=\"{class}"))?;
    let rest = &row[start..];
    let open = rest.find('>')? + 1;
    let close = rest.find("</td>")?;
    Some(&rest[open..close])
}

/// `12.3 Mbit/s` -> 12.3e6; None unless it is a rate in bit/s with an SI prefix.
fn parse_bps(s: &str) -> Option<f64> {
    let (n, unit) = s.split_once(' ')?;
    let mult = match unit {
        "bit/s" => 1.0,
        "kbit/s" => 1e3,
        "Mbit/s" => 1e6,
        "Gbit/s" => 1e9,
        "Tbit/s" => 1e12,
        _ => return None,
    };
    Some(n.parse::<f64>().ok()? * mult)
}

/// One interface row of the rendered device page.
#[derive(Debug)]
struct Row {
    name: String,
    in_text: String,
    out_text: String,
}

fn interface_rows(dom: &str) -> BTreeMap<u32, Row> {
    let mut out = BTreeMap::new();
    for chunk in dom.split("<tr class=\"iface").skip(1) {
        let row = &chunk[..chunk.find("</tr>").unwrap_or(chunk.len())];
        let idx: u32 = row
            .split("data-ifindex=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|n| n.parse().ok())
            .expect("row without data-ifindex");
        let name_cell = cell(row, "ifname").unwrap_or("");
        let name = text(name_cell.split("<br").next().unwrap_or(""));
        out.insert(
            idx,
            Row {
                name,
                in_text: text(cell(row, "num rate in").unwrap_or("")),
                out_text: text(cell(row, "num rate out").unwrap_or("")),
            },
        );
    }
    out
}

/// ifIndex -> value for one column, read from the simulator with net-snmp.
fn walk(port: u16, column: &str) -> Option<BTreeMap<u32, String>> {
    let out = snmp_tool("snmpbulkwalk", &["-v2c", "-c", "public"], port, &[column])?;
    Some(
        out.lines()
            .filter_map(|l| {
                let (oid, val) = l.split_once(" = ")?;
                let idx = oid.rsplit('.').next()?.parse().ok()?;
                let v = val.split_once(": ").map_or(val, |(_, v)| v);
                Some((idx, v.trim().trim_matches('"').to_string()))
            })
            .collect(),
    )
}

/// A counter column and when it was read (the middle of the walk).
fn counters(port: u16, column: &str) -> (BTreeMap<u32, f64>, Instant) {
    let before = Instant::now();
    let values = walk(port, column)
        .unwrap_or_else(|| panic!("snmpbulkwalk {column} failed"))
        .into_iter()
        .map(|(k, v)| (k, v.parse::<f64>().expect("counter")))
        .collect();
    (values, before + before.elapsed() / 2)
}

#[test]
fn device_page_in_chromium_shows_the_simulators_traffic() {
    let Some(browser) = tool("/usr/bin/chromium") else {
        return;
    };
    if tool("/usr/bin/snmpbulkwalk").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("chromium-profile");

    // The simulator in its own process, as `octopoll simulate` users run it.
    let sim_out = dir.path().join("sim.out");
    let child = Command::new(env!("CARGO_BIN_EXE_octopoll"))
        .args([
            "simulate",
            "--devices",
            "1",
            "--interfaces",
            &IFACES.to_string(),
        ])
        .args(["--base-port", "0"])
        .stdout(std::fs::File::create(&sim_out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _sim = Proc {
        child,
        name: "octopoll simulate",
    };
    let sim_addr = wait_for(Duration::from_secs(20), || {
        let t = std::fs::read_to_string(&sim_out).ok()?;
        t.lines()
            .next()
            .and_then(|l| l.split_once(' '))
            .map(|(_, a)| a.trim().to_string())
    })
    .expect("simulator address");
    let sim_port: u16 = sim_addr.rsplit(':').next().unwrap().parse().unwrap();

    // A label with markup in it: the pages must show it as text.
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(
        &cfg,
        format!(
            "defaults: {{interval: 2s, timeout: 500ms, retries: 1, auth: sim}}\n\
             auths: {{sim: {{version: 2c, community: public}}}}\n\
             devices:\n  - {{name: lab-sw1, address: \"{sim_addr}\", labels: {{site: \"<b>lab</b>\"}}}}\n"
        ),
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &["--grafana-url", "http://grafana.example:3000/"]);
    let base = format!("http://{}", o.addr);
    let device_url = format!("{base}/devices/lab-sw1");

    // Rates appear from the second poll on.
    let page = wait_for(Duration::from_secs(30), || {
        let (s, b) = http(&o.addr, "GET", "/devices/lab-sw1")?;
        (s == 200 && b.contains("Rates between the last two polls")).then_some(b)
    })
    .unwrap_or_else(|| panic!("no rates on the device page; log:\n{}", o.log()));
    assert!(
        !page.contains("<script"),
        "the pages work without JavaScript"
    );
    assert!(
        page.contains("http-equiv=\"refresh\" content=\"2\""),
        "the device page refreshes at the poll interval"
    );
    assert!(!page.contains("<b>lab</b>"), "label not escaped");

    // The simulator's counters, read by net-snmp over a few seconds.
    let (in1, tin1) = counters(sim_port, "1.3.6.1.2.1.31.1.1.1.6");
    let (out1, tout1) = counters(sim_port, "1.3.6.1.2.1.31.1.1.1.10");
    std::thread::sleep(Duration::from_secs(4));
    let d = dom(&browser, &profile, &device_url);
    let (in2, tin2) = counters(sim_port, "1.3.6.1.2.1.31.1.1.1.6");
    let (out2, tout2) = counters(sim_port, "1.3.6.1.2.1.31.1.1.1.10");
    let (in_secs, out_secs) = ((tin2 - tin1).as_secs_f64(), (tout2 - tout1).as_secs_f64());
    let names = walk(sim_port, "1.3.6.1.2.1.31.1.1.1.1").expect("ifName walk");
    let oper = walk(sim_port, "1.3.6.1.2.1.2.2.1.8").expect("ifOperStatus walk");

    // The label's markup is text in the browser, not a bold tag.
    assert!(
        d.contains("site=&lt;b&gt;lab&lt;/b&gt;"),
        "label not shown as text"
    );
    let rows = interface_rows(&d);
    assert_eq!(rows.len(), IFACES, "one row per interface in:\n{d}");
    let mut compared = 0;
    let mut worst: f64 = 0.0;
    let mut problems = Vec::new();
    for (idx, row) in &rows {
        assert_eq!(Some(&row.name), names.get(idx), "ifIndex {idx}: name");
        let (Some(pin), Some(pout)) = (parse_bps(&row.in_text), parse_bps(&row.out_text)) else {
            problems.push(format!(
                "ifIndex {idx} ({}): rates {:?} / {:?} are not bit/s",
                row.name, row.in_text, row.out_text
            ));
            continue;
        };
        // A port that is not up (admin down, or flapping) has no steady rate to compare.
        if oper.get(idx).map(String::as_str) != Some("1") {
            continue;
        }
        let sim_in = (in2[idx] - in1[idx]) * 8.0 / in_secs;
        let sim_out = (out2[idx] - out1[idx]) * 8.0 / out_secs;
        for (what, page, sim) in [("in", pin, sim_in), ("out", pout, sim_out)] {
            // Three significant digits on the page, a sinusoidal rate in the simulator
            // that moves by at most a few percent over seconds: 5 % apart at most.
            worst = worst.max((page - sim).abs() / sim.max(1.0));
            if (page - sim).abs() > 0.05 * sim.max(1.0) {
                problems.push(format!(
                    "ifIndex {idx} ({}) {what}: page {page:.0} bit/s, simulator {sim:.0} bit/s",
                    row.name
                ));
            }
        }
        compared += 1;
    }
    assert!(
        compared >= IFACES / 2,
        "only {compared} interfaces compared"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The link to Grafana's Device dashboard, for this device.
    let device_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("grafana/dashboards/device.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let uid = device_json["uid"].as_str().unwrap();
    let want = format!("href=\"http://grafana.example:3000/d/{uid}/");
    let link = d
        .split(&want)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no link to {want}… in the device page"));
    assert!(link.ends_with("?var-device=lab-sw1"), "{link}");

    // The status page: the device, up, linking to its page, with its traffic.
    let s = dom(&browser, &profile, &format!("{base}/"));
    let row = s
        .split("<tr class=\"up\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no up row on the status page:\n{s}"));
    assert!(row.contains("href=\"/devices/lab-sw1\""), "{row}");
    let shown = text(row);
    assert!(
        shown.contains("24in ") && shown.contains(" · out ") && shown.contains("bit/s"),
        "interface count and traffic: {row}"
    );

    let out = artifacts();
    screenshot(
        &browser,
        &profile,
        &device_url,
        &out.join("device.png"),
        1800,
    );
    screenshot(
        &browser,
        &profile,
        &format!("{base}/"),
        &out.join("status.png"),
        700,
    );
    eprintln!(
        "{compared} interfaces agree with the simulator (largest difference {:.2} %); screenshots in {}",
        worst * 100.0,
        out.display()
    );
}

#[test]
fn unknown_device_pages_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(
        &cfg,
        "auths: {sim: {version: 2c, community: public}}\ndefaults: {auth: sim, interval: 2s, timeout: 500ms, retries: 0}\n\
         devices:\n  - {name: \"core:sw.1\", address: \"127.0.0.1:9\"}\n",
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &[]);
    let (status, body) = o.get("/devices/nope");
    assert_eq!(status, 404);
    assert!(body.contains("No device named &#34;nope&#34;"), "{body}");
    // A name with a colon, percent-encoded in the path (and taken as it is, too).
    for path in ["/devices/core%3Asw%2E1", "/devices/core:sw.1"] {
        let (status, body) = o.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains("<h1>core:sw.1"), "{body}");
    }
    assert_eq!(o.get("/devices/a/b").0, 400);
    assert_eq!(o.get("/devices/%FF").0, 400);
    assert_eq!(http(&o.addr, "POST", "/devices/nope").unwrap().0, 405);
    let (status, _) = o.get("/devices/");
    assert_eq!(status, 302);
    // The status page links to the device page with the same encoding.
    let (_, page) = o.get("/");
    assert!(page.contains("href=\"/devices/core:sw.1\""), "{page}");
    // The row layout other tests and scripts read: the last error is the 7th cell.
    let err = wait_for(Duration::from_secs(15), || {
        let row = o.status_row("core:sw.1");
        let cell = row.split("<td>").nth(6)?.split("</td>").next()?.to_string();
        (!cell.is_empty()).then_some(cell)
    });
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("no response") || e.contains("refused")),
        "last error not in the 7th cell: {err:?}\n{}",
        o.status_row("core:sw.1")
    );
}
