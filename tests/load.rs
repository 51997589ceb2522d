//! Load test (ignored by default; prints figures): `/metrics` of 1,000 simulated devices ×
//! 55 interfaces hammered from several client threads while polling continues. Bounded in
//! time and request count; loopback only.
//!
//! Run: `cargo test --release --test load -- --ignored --nocapture`

mod common;

use std::time::{Duration, Instant};

use common::*;

const DEVICES: usize = 1000;
const CLIENTS: usize = 2;
const WINDOW: Duration = Duration::from_secs(30);
const MAX_REQUESTS: usize = 5000;

fn sum(body: &str, prefix: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// GET /metrics reading the body into a small reused buffer, as a scraper that parses as it
/// reads would: the client should not be what the figures measure.
fn scrape_discarding(addr: &str) -> usize {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    let mut head = Vec::new();
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        if head.len() < 12 {
            head.extend_from_slice(&buf[..n.min(12)]);
        }
        total += n;
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "bad status");
    total
}

#[test]
#[ignore]
fn metrics_under_load_while_polling() {
    let (_sim, yaml) = simulator_config(DEVICES, 55);
    let yaml = yaml.replace(
        "defaults:\n",
        "defaults:\n  interval: 10s\n  timeout: 2s\n  retries: 1\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(&cfg, yaml).unwrap();
    let o = Octopoll::start(&cfg, &["--no-watch"]);
    // One full cycle so every device has data.
    wait_for(Duration::from_secs(40), || {
        let (_, b) = o.get("/metrics");
        (sum(&b, "snmp_device_up{") as usize == DEVICES).then_some(())
    })
    .expect("all devices up");
    let (_, before) = o.get("/metrics");
    let series = before.lines().filter(|l| !l.starts_with('#')).count();
    let polls_before = sum(&before, "octopoll_polls_total{");
    let skipped_before = sum(&before, "octopoll_polls_skipped_total{");

    let start = Instant::now();
    let addr = o.addr.clone();
    let handles: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let mut bytes = 0usize;
                while start.elapsed() < WINDOW && lat.len() < MAX_REQUESTS / CLIENTS {
                    let t = Instant::now();
                    bytes = scrape_discarding(&addr);
                    lat.push(t.elapsed());
                }
                (lat, bytes)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut bytes = 0;
    for h in handles {
        let (l, b) = h.join().unwrap();
        lat.extend(l);
        bytes = b;
    }
    let elapsed = start.elapsed();
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    let (_, after) = o.get("/metrics");
    let polls = sum(&after, "octopoll_polls_total{") - polls_before;
    let skipped = sum(&after, "octopoll_polls_skipped_total{") - skipped_before;
    let expected = DEVICES as f64 * elapsed.as_secs_f64() / 10.0;
    println!(
        "load: {} requests in {:.1}s from {CLIENTS} clients = {:.1} req/s; body {:.1} MB, {series} series; \
         latency p50 {:?} p99 {:?} max {:?}",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        bytes as f64 / 1e6,
        p(0.5),
        p(0.99),
        lat.last().unwrap()
    );
    println!(
        "polling meanwhile: {polls} polls (expected ~{expected:.0} at 10 s), {skipped} skipped"
    );
    // Scrapes and polls share 2 cores with the simulator: polls may start late, never skip.
    assert!(polls >= expected * 0.8, "polling fell behind under load");
    assert_eq!(skipped, 0.0);
}
