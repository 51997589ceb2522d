//! A fault-injecting SNMPv2c agent for tests: a tokio UDP socket on loopback that serves a
//! small, fixed MIB (system group, three interfaces) and misbehaves in one chosen way.
//! Requests are decoded and replies encoded with async-snmp's public message types (as
//! `src/sim/responder.rs` does); the faults are applied to the encoded bytes or the PDU.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_snmp::message::{CommunityMessage, CommunityPdu};
use async_snmp::{
    CommunityVersion, DecodeConfig, Oid, Pdu, PduBody, StandardPduType, Value, VarBind, Version,
};
use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

/// How the agent misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers correctly.
    Normal,
    /// Answers every request with bytes that are not SNMP.
    Garbage,
    /// Answers with the first half of a correct reply.
    Truncated,
    /// Answers correctly but with request-id + 1.
    WrongRequestId,
    /// Sends every correct reply twice, the copy 20 ms later (after the next request).
    Duplicate,
    /// Correct replies, but sent from another socket (127.0.0.2, or another port).
    OtherSource,
    /// Walks go backwards: the row after row 2 of any column is row 1 again.
    NonIncreasing,
    /// Every GETNEXT/GETBULK answer is a new, increasing OID inside the column, forever.
    Endless,
    /// ifAlias.1 is a 60 000-byte OCTET STRING.
    HugeString,
    /// Reads requests, counts them, never answers.
    Blackhole,
}

/// Interface count of the served MIB.
pub const IFACES: u32 = 3;
/// Length of the huge ifAlias.
pub const HUGE: usize = 60_000;
/// Largest reply we build (GETBULK repetitions are cut to stay under it).
const MAX_REPLY: usize = 65_000;

fn oid(s: &str) -> Vec<u32> {
    s.split('.').map(|a| a.parse().unwrap()).collect()
}

/// The served MIB.
pub fn mib(mode: Mode, name: &str) -> BTreeMap<Vec<u32>, Value> {
    let mut m = BTreeMap::new();
    let s = |t: &str| Value::OctetString(Bytes::from(t.to_string()));
    m.insert(
        oid("1.3.6.1.2.1.1.1.0"),
        s(&format!("fault agent {mode:?}")),
    );
    m.insert(
        oid("1.3.6.1.2.1.1.2.0"),
        Value::ObjectIdentifier(Oid::from_slice(&[1, 3, 6, 1, 4, 1, 8072, 3, 2, 10])),
    );
    m.insert(oid("1.3.6.1.2.1.1.3.0"), Value::TimeTicks(123_456));
    m.insert(oid("1.3.6.1.2.1.1.5.0"), s(name));
    m.insert(oid("1.3.6.1.2.1.1.6.0"), s("loopback"));
    for i in 1..=IFACES {
        let col = |c: &str| {
            let mut o = oid(c);
            o.push(i);
            o
        };
        m.insert(col("1.3.6.1.2.1.2.2.1.1"), Value::Integer(i as i32));
        m.insert(col("1.3.6.1.2.1.2.2.1.2"), s(&format!("eth{i}")));
        m.insert(col("1.3.6.1.2.1.2.2.1.7"), Value::Integer(1));
        m.insert(col("1.3.6.1.2.1.2.2.1.8"), Value::Integer(1));
        for c in ["13", "14", "19", "20"] {
            m.insert(col(&format!("1.3.6.1.2.1.2.2.1.{c}")), Value::Counter32(i));
        }
        m.insert(col("1.3.6.1.2.1.31.1.1.1.1"), s(&format!("eth{i}")));
        m.insert(
            col("1.3.6.1.2.1.31.1.1.1.6"),
            Value::Counter64(1000 * u64::from(i)),
        );
        m.insert(
            col("1.3.6.1.2.1.31.1.1.1.10"),
            Value::Counter64(2000 * u64::from(i)),
        );
        m.insert(col("1.3.6.1.2.1.31.1.1.1.15"), Value::Gauge32(1000));
        let alias = if mode == Mode::HugeString && i == 1 {
            "a".repeat(HUGE)
        } else {
            format!("alias{i}")
        };
        m.insert(col("1.3.6.1.2.1.31.1.1.1.18"), s(&alias));
    }
    m
}

/// A running fault agent.
pub struct FaultAgent {
    /// Where requests go.
    pub addr: SocketAddr,
    /// Requests received (decodable or not).
    pub requests: Arc<AtomicU64>,
    /// Arrival time of every datagram (Blackhole only).
    pub arrivals: Arc<Mutex<Vec<Instant>>>,
}

/// Starts an agent in `mode` on 127.0.0.1 (ephemeral port); it stops when `stop` fires.
pub async fn start(mode: Mode, name: &str, stop: CancellationToken) -> FaultAgent {
    let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let reply_sock = if mode == Mode::OtherSource {
        // Another loopback address if the host routes 127/8 (Linux does), else another port.
        let s = match UdpSocket::bind("127.0.0.2:0").await {
            Ok(s) => s,
            Err(_) => UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        };
        Arc::new(s)
    } else {
        sock.clone()
    };
    let agent = FaultAgent {
        addr: sock.local_addr().unwrap(),
        requests: Arc::new(AtomicU64::new(0)),
        arrivals: Arc::new(Mutex::new(Vec::new())),
    };
    let table = Arc::new(mib(mode, name));
    let (requests, arrivals) = (agent.requests.clone(), agent.arrivals.clone());
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        loop {
            let (n, peer) = tokio::select! {
                _ = stop.cancelled() => return,
                r = sock.recv_from(&mut buf) => match r {
                    Ok(x) => x,
                    Err(_) => continue,
                },
            };
            requests.fetch_add(1, Ordering::Relaxed);
            if mode == Mode::Blackhole {
                arrivals.lock().unwrap().push(Instant::now());
                continue;
            }
            let data = Bytes::copy_from_slice(&buf[..n]);
            let Some(reply) = respond(mode, &table, data) else {
                continue;
            };
            match mode {
                Mode::Garbage => {
                    let junk: &[u8] = b"\x30\x82\xff\xffthis is not an SNMP message\x00\x01";
                    let _ = reply_sock.send_to(junk, peer).await;
                }
                Mode::Truncated => {
                    let _ = reply_sock.send_to(&reply[..reply.len() / 2], peer).await;
                }
                Mode::Duplicate => {
                    let _ = reply_sock.send_to(&reply, peer).await;
                    let s = reply_sock.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        let _ = s.send_to(&reply, peer).await;
                    });
                }
                _ => {
                    let _ = reply_sock.send_to(&reply, peer).await;
                }
            }
        }
    });
    agent
}

/// The varbind after `o` in `mode`'s view of the MIB, or `None` at the end.
fn next(mode: Mode, table: &BTreeMap<Vec<u32>, Value>, o: &[u32]) -> Option<(Vec<u32>, Value)> {
    if mode == Mode::Endless {
        // Inside the interface tables: column -> row 1, row n -> row n + 1, forever.
        let depth = if o.starts_with(&[1, 3, 6, 1, 2, 1, 2, 2, 1]) {
            10
        } else if o.starts_with(&[1, 3, 6, 1, 2, 1, 31, 1, 1, 1]) {
            11
        } else {
            usize::MAX
        };
        if o.len() >= depth {
            let row = o.get(depth).map_or(1, |r| r + 1);
            let mut n = o[..depth].to_vec();
            n.push(row);
            return Some((n, Value::Counter32(7)));
        }
    }
    if mode == Mode::NonIncreasing && o.len() > 1 && o.last() == Some(&2) && table.contains_key(o) {
        let mut back = o.to_vec();
        *back.last_mut().unwrap() = 1;
        if let Some(v) = table.get(&back) {
            return Some((back, v.clone()));
        }
    }
    table
        .range::<Vec<u32>, _>((
            std::ops::Bound::Excluded(o.to_vec()),
            std::ops::Bound::Unbounded,
        ))
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
}

fn vb(o: Vec<u32>, v: Value) -> VarBind {
    VarBind::new(Oid::new(o), v)
}

/// A correct (for `mode`'s MIB) reply to one v2c datagram, or `None`.
pub fn respond(mode: Mode, table: &BTreeMap<Vec<u32>, Value>, data: Bytes) -> Option<Bytes> {
    let msg = CommunityMessage::decode(data, DecodeConfig::default())
        .ok()?
        .value;
    let (version, community, pdu) = msg.into_parts();
    if version != Version::V2c || community.as_bytes() != b"public" {
        return None;
    }
    let CommunityPdu::Standard(pdu) = pdu else {
        return None;
    };
    let (request_id, body, req) = pdu.into_raw_parts();
    let end = |o: &Oid| vb(o.arcs().to_vec(), Value::EndOfMibView);
    let mut status = 0;
    let vbs: Vec<VarBind> = match body {
        PduBody::Standard {
            pdu_type: StandardPduType::GetRequest,
            ..
        } => req
            .iter()
            .map(|r| {
                let k = r.oid.arcs().to_vec();
                let v = table.get(&k).cloned().unwrap_or(Value::NoSuchObject);
                vb(k, v)
            })
            .collect(),
        PduBody::Standard {
            pdu_type: StandardPduType::GetNextRequest,
            ..
        } => req
            .iter()
            .map(|r| match next(mode, table, r.oid.arcs()) {
                Some((o, v)) => vb(o, v),
                None => end(&r.oid),
            })
            .collect(),
        PduBody::GetBulk {
            non_repeaters,
            max_repetitions,
        } => {
            // Non-repeaters: one GETNEXT each, first in the reply (RFC 3416 4.2.3).
            let (single, repeat) = req.split_at((non_repeaters as usize).min(req.len()));
            let mut out: Vec<VarBind> = single
                .iter()
                .map(|r| match next(mode, table, r.oid.arcs()) {
                    Some((o, v)) => vb(o, v),
                    None => end(&r.oid),
                })
                .collect();
            let mut cursors: Vec<Vec<u32>> = repeat.iter().map(|r| r.oid.arcs().to_vec()).collect();
            let mut size: usize = out.iter().map(VarBind::encoded_size).sum();
            'reps: for rep in 0..max_repetitions.max(1) {
                let mut row = Vec::new();
                for c in cursors.iter_mut() {
                    let v = match next(mode, table, c) {
                        Some((o, v)) => {
                            *c = o.clone();
                            vb(o, v)
                        }
                        None => vb(c.clone(), Value::EndOfMibView),
                    };
                    row.push(v);
                }
                let row_size: usize = row.iter().map(VarBind::encoded_size).sum();
                if size + row_size + 100 > MAX_REPLY {
                    if rep == 0 {
                        status = 1; // tooBig
                    }
                    break 'reps;
                }
                size += row_size;
                out.extend(row);
            }
            if status == 1 {
                Vec::new()
            } else {
                out
            }
        }
        _ => return None,
    };
    let id = if mode == Mode::WrongRequestId {
        request_id.wrapping_add(1)
    } else {
        request_id
    };
    let body = PduBody::Standard {
        pdu_type: StandardPduType::Response,
        error_status: status,
        error_index: 0,
    };
    CommunityMessage::new(
        CommunityVersion::V2c,
        community,
        Pdu::from_raw_parts(id, body, vbs),
    )
    .ok()?
    .encode()
    .ok()
}
