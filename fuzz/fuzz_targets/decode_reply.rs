//! The reply path: a datagram decoded by `decode_message` (octopoll's own BER decoder for
//! SNMPv1/v2c, async-snmp's for anything else), which must agree with async-snmp's decoder
//! (`decode_with_async_snmp`, what the client used before) on every datagram: both refuse
//! it, or both accept it with the same varbinds. Then the varbinds are fed as
//! GETBULK/GETNEXT replies to `walk_columns`, which must end (per-column row limit, no
//! progress, end of subtree) without panicking, whatever the agent sends.
//!
//! Input: a mode byte, then either length-prefixed datagrams (mode even) or a compact
//! description of varbinds (mode odd) that lands inside the walked columns far more often
//! than random BER would.
#![no_main]

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use octopoll::snmp::{
    decode_message, decode_with_async_snmp, walk_columns, Oid, Requester, SnmpError, Value,
};

/// `decode_message`, checked against async-snmp's decoder.
fn decode_checked(d: &[u8]) -> Result<Vec<(Oid, Value)>, SnmpError> {
    let ours = decode_message(d);
    let theirs = decode_with_async_snmp(d);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the decoders disagree on {d:02x?}"),
        (Err(_), Err(_)) => {}
        _ => panic!("one decoder refuses what the other accepts: ours {ours:?}, async-snmp {theirs:?}: {d:02x?}"),
    }
    ours
}

struct Replay {
    v1: bool,
    replies: Mutex<VecDeque<Result<Vec<(Oid, Value)>, SnmpError>>>,
}

impl Replay {
    fn next(&self) -> Result<Vec<(Oid, Value)>, SnmpError> {
        self.replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Err(SnmpError::Timeout {
                attempts: 1,
                timeout: std::time::Duration::ZERO,
            }))
    }
}

impl Requester for Replay {
    fn is_v1(&self) -> bool {
        self.v1
    }
    async fn get_bulk(&self, _: &[Oid], _: u32, _: u32) -> Result<Vec<(Oid, Value)>, SnmpError> {
        self.next()
    }
    async fn get_next(&self, _: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        self.next()
    }
}

/// The replay's futures are always ready; poll until done.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

const COLUMNS: [&str; 3] = [
    "1.3.6.1.2.1.2.2.1.2",
    "1.3.6.1.2.1.2.2.1.8",
    "1.3.6.1.2.1.31.1.1.1.6",
];

fn structured(mut b: &[u8], columns: &[Oid]) -> VecDeque<Result<Vec<(Oid, Value)>, SnmpError>> {
    let mut take = || -> Option<u8> {
        let (x, rest) = b.split_first()?;
        b = rest;
        Some(*x)
    };
    let mut out = VecDeque::new();
    while let Some(n) = take() {
        let mut reply = Vec::new();
        match n % 8 {
            0 => out.push_back(Err(SnmpError::TooBig)),
            1 => out.push_back(Err(SnmpError::NoSuchName {
                index: u32::from(n >> 3),
            })),
            _ => {
                for _ in 0..(n >> 3) {
                    let Some(c) = take() else { break };
                    let mut arcs = columns[usize::from(c) % columns.len()].arcs().to_vec();
                    if c & 0x80 != 0 {
                        arcs.truncate(usize::from(c >> 4) & 7);
                    }
                    for _ in 0..(c >> 2) & 3 {
                        arcs.push(u32::from(take().unwrap_or(0)));
                    }
                    let v = match take().unwrap_or(0) % 4 {
                        0 => Value::EndOfMibView,
                        1 => Value::Counter64(7),
                        2 => Value::OctetString(b"x".to_vec()),
                        _ => Value::NoSuchInstance,
                    };
                    reply.push((Oid::from_arcs(arcs), v));
                }
                out.push_back(Ok(reply));
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let columns: Vec<Oid> = COLUMNS.iter().map(|s| s.parse().unwrap()).collect();
    let replies = if mode % 2 == 0 {
        let mut replies = VecDeque::new();
        let mut r = rest;
        while r.len() >= 2 {
            let n = usize::from(u16::from_le_bytes([r[0], r[1]])).min(r.len() - 2);
            let (d, tail) = r[2..].split_at(n);
            r = tail;
            replies.push_back(decode_checked(d));
        }
        let _ = decode_checked(rest);
        replies
    } else {
        structured(rest, &columns)
    };
    let replay = Replay {
        v1: mode & 2 != 0,
        replies: Mutex::new(replies),
    };
    let max_rep = u32::from(mode >> 2) + 1;
    if let Ok(w) = block_on(walk_columns(&replay, &columns, max_rep, 500)) {
        // Every kept row is inside its column and strictly increasing.
        for (col, rows) in columns.iter().zip(&w.columns) {
            for pair in rows.windows(2) {
                assert!(pair[0].0 < pair[1].0);
            }
            assert!(rows.iter().all(|(o, _)| o.starts_with(col)));
        }
        assert!(w.columns.iter().all(|rows| rows.len() <= 500));
    }
});
