//! The notification path as it runs: bytes sent as UDP datagrams on loopback to octopoll's
//! listener (async-snmp's receiver: v1/v2c/v3 decoding, USM keys and privacy, the
//! acceptance policy), then octopoll's handling of what is accepted (naming, RFC 3584
//! mapping, labels, interface, counters, the store, the log line).
//!
//! Each input is followed by a valid v2c trap (the sentinel); the input has been dealt
//! with once the sentinel is handled. What must hold: no panic, and the listener keeps
//! answering (a sentinel not handled within 2 s is a hang, reported as a crash).
//!
//! Input: a mode byte, then one datagram (mode even) or datagrams each prefixed by a
//! little-endian u16 length (mode odd).
#![no_main]

use std::net::UdpSocket;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use octopoll::poller::{PollTrigger, Store};
use octopoll::traps::{TrapMetrics, Traps};

const CONFIG: &str = "auths:
  v2: {version: 2c, community: public}
  an: {version: 3, username: authuser, security_level: authNoPriv, auth_protocol: SHA, auth_password: trapauth123}
  ap: {version: 3, username: privuser, security_level: authPriv, auth_protocol: SHA, auth_password: trapauth123, priv_protocol: AES, priv_password: trappriv123}
defaults: {auth: v2}
traps: {listen: '127.0.0.1:0', communities: [public], users: [an, ap], accept_unknown_sources: true}
notifications:
  1.3.6.1.4.1.8072.2.3.0.1: {name: heartbeat, labels: {rate: 1.3.6.1.4.1.8072.2.3.2.1}}
  1.3.6.1.4.1.99999.0.1: {name: fan, labels: {text: 1.3.6.1.4.1.99999.1.1}}
  1.3.6.1.4.1.1.0.9: {name: sentinel, alert: false}
devices:
  - {name: lab, address: 127.0.0.1}
";

/// A v2c trap `1.3.6.1.4.1.1.0.9` (the sentinel), community `public`, as net-snmp's
/// snmptrap encoded it.
const SENTINEL: &[u8] = &[
    0x30, 0x42, 0x02, 0x01, 0x01, 0x04, 0x06, 0x70, 0x75, 0x62, 0x6c, 0x69, 0x63, 0xa7, 0x35,
    0x02, 0x04, 0x1e, 0x9c, 0xbd, 0x50, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x27, 0x30,
    0x0d, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x03, 0x00, 0x43, 0x01, 0x01, 0x30,
    0x16, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x06, 0x03, 0x01, 0x01, 0x04, 0x01, 0x00, 0x06, 0x08,
    0x2b, 0x06, 0x01, 0x04, 0x01, 0x01, 0x00, 0x09,
];

struct World {
    rt: tokio::runtime::Runtime,
    traps: Traps,
    store: Arc<Store>,
    sender: UdpSocket,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = octopoll::config::load_str(CONFIG, Path::new("fuzz.yml")).unwrap();
        let store = Arc::new(Store::default());
        let (traps, addr) = rt.block_on(async {
            let traps = Traps::new(
                store.clone(),
                PollTrigger::default(),
                Arc::new(TrapMetrics::default()),
                tokio_util::sync::CancellationToken::new(),
            );
            let prepared = traps.prepare(&config).await.unwrap();
            traps.commit(prepared, &config).await;
            let addr = traps.local_addr().await.unwrap();
            (traps, addr)
        });
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.connect(addr).unwrap();
        World {
            rt,
            traps,
            store,
            sender,
        }
    })
}

fn last_is_sentinel(store: &Store) -> bool {
    store
        .notifications("lab")
        .last()
        .is_some_and(|n| n.trap == "sentinel")
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut datagrams: Vec<&[u8]> = Vec::new();
    if mode % 2 == 0 {
        datagrams.push(rest);
    } else {
        let mut r = rest;
        while r.len() >= 2 && datagrams.len() < 16 {
            let n = usize::from(u16::from_le_bytes([r[0], r[1]])).min(r.len() - 2);
            datagrams.push(&r[2..2 + n]);
            r = &r[2 + n..];
        }
    }
    let before = w.traps.handled();
    for d in &datagrams {
        // Larger than a UDP datagram: the kernel refuses it, nothing to test.
        let _ = w.sender.send(&d[..d.len().min(65_507)]);
    }
    w.sender.send(SENTINEL).unwrap();
    let handled = w.rt.block_on(async {
        let end = Instant::now() + Duration::from_secs(2);
        // Yielding lets the receive task run; the runtime polls the socket every few
        // dozen yields (a sleep would cost a timer tick, about a millisecond, per input).
        while Instant::now() < end {
            tokio::task::yield_now().await;
            if w.traps.handled() > before && last_is_sentinel(&w.store) {
                return true;
            }
        }
        false
    });
    assert!(handled, "the listener stopped handling notifications");
});
