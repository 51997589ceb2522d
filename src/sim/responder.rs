//! A direct SNMPv1/v2c command responder over a device's [`View`].
//!
//! We decode and encode with async-snmp's message types but answer GET / GETNEXT /
//! GETBULK ourselves: a bulk walk then advances by position in the view (`i + 1`) instead
//! of a handler lookup per varbind, and the values are computed only for OIDs actually
//! returned.
//!
//! Replies are capped like a real agent's: at most [`Cap::max_reply_bytes`] per encoded
//! message (Cisco IOS's default `snmp-server packetsize` is 1,500 bytes). A GETBULK reply
//! over it is cut after the last varbind that fits (RFC 3416 4.2.3 lets an agent drop
//! trailing repetitions; net-snmp and IOS do), or answered tooBig when the device is set
//! to refuse instead; a GET or GETNEXT reply over it is tooBig.

use super::view::View;
use super::DeviceStats;
use crate::snmp::ber::{int_content_size, tlv_size as tlv};
use async_snmp::message::{CommunityMessage, CommunityPdu};
use async_snmp::{
    CommunityVersion, DecodeConfig, Oid, Pdu, PduBody, PduType, StandardPduType, Value, VarBind,
    Version,
};
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

/// Largest response we build whatever the cap (0 = unlimited); fits a UDP datagram on
/// loopback.
pub(crate) const MAX_RESPONSE_BYTES: usize = 65_000;

const NO_ERROR: i32 = 0;
const TOO_BIG: i32 = 1;
const NO_SUCH_NAME: i32 = 2;
const NOT_WRITABLE: i32 = 17;

/// How big a device's replies may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cap {
    /// Most bytes of an encoded reply message; 0 = [`MAX_RESPONSE_BYTES`].
    pub(crate) max_reply_bytes: usize,
    /// Answer tooBig to a GETBULK whose reply would be over the cap, instead of cutting it.
    pub(crate) too_big: bool,
}

impl Cap {
    fn bytes(&self) -> usize {
        match self.max_reply_bytes {
            0 => MAX_RESPONSE_BYTES,
            n => n.min(MAX_RESPONSE_BYTES),
        }
    }
}

/// Exact size of a v1/v2c Response message whose varbinds encode to `varbinds` bytes.
fn message_size(community: usize, request_id: i32, error_index: i32, varbinds: usize) -> usize {
    let integer = |v: i32| tlv(int_content_size(i64::from(v)));
    let pdu = integer(request_id)
        + 3 // error-status, always < 128
        + integer(error_index)
        + tlv(varbinds);
    tlv(3 + tlv(community) + tlv(pdu))
}

/// Answer one datagram. `None` means "send nothing": undecodable input, wrong
/// community, or a PDU a command responder does not answer.
pub(crate) fn respond(
    view: &dyn View,
    community: &[u8],
    cap: Cap,
    stats: &DeviceStats,
    data: Bytes,
    elapsed_ms: u64,
) -> Option<Bytes> {
    let msg = CommunityMessage::decode(data, DecodeConfig::default())
        .ok()?
        .value;
    if msg.community().as_bytes() != community {
        // Real agents stay silent (at most they send an authenticationFailure trap).
        return None;
    }
    let (version, community, pdu) = msg.into_parts();
    let CommunityPdu::Standard(pdu) = pdu else {
        return None;
    };
    let cv = match version {
        Version::V1 => CommunityVersion::V1,
        Version::V2c => CommunityVersion::V2c,
        _ => return None,
    };
    let (request_id, body, request_vbs) = pdu.into_raw_parts();
    let v1 = version == Version::V1;
    stats.requests.fetch_add(1, Relaxed);
    // Room for the varbinds of a no-error reply (error-index 0).
    let limit = cap.bytes();
    let fits = |varbinds: usize| {
        message_size(community.as_bytes().len(), request_id, 0, varbinds) <= limit
    };
    let reply = match body {
        PduBody::Standard { pdu_type, .. } => match pdu_type {
            StandardPduType::GetRequest => get(view, &request_vbs, v1, elapsed_ms),
            StandardPduType::GetNextRequest => get_next(view, &request_vbs, v1, elapsed_ms),
            StandardPduType::SetRequest => {
                // Read-only device: v1 says noSuchName, v2c notWritable (RFC 2576 4.3).
                let status = if v1 { NO_SUCH_NAME } else { NOT_WRITABLE };
                Err((status, 1))
            }
            _ => return None,
        },
        PduBody::GetBulk {
            non_repeaters,
            max_repetitions,
        } => {
            let nr = (non_repeaters as usize).min(request_vbs.len());
            let asked = nr + (request_vbs.len() - nr) * max_repetitions as usize;
            stats.varbinds_asked.fetch_add(asked as u64, Relaxed);
            let bulk = get_bulk(
                view,
                &request_vbs,
                nr,
                max_repetitions as usize,
                elapsed_ms,
                fits,
            );
            if !bulk.cut {
                // Would a repetition more have been refused? (Only where it is counted.)
                if cap.too_big
                    && get_bulk(
                        view,
                        &request_vbs,
                        nr,
                        max_repetitions as usize + 1,
                        elapsed_ms,
                        fits,
                    )
                    .cut
                {
                    stats.full.fetch_add(1, Relaxed);
                }
                Ok(bulk.varbinds)
            } else if cap.too_big {
                Err((TOO_BIG, 0))
            } else {
                stats.cut.fetch_add(1, Relaxed);
                Ok(bulk.varbinds)
            }
        }
    };
    // tooBig: v1 echoes the request's varbinds (RFC 1157 4.1.2), v2c sends none
    // (RFC 3416 4.2.1); other errors echo them (RFC 3416 4.2.1).
    let too_big =
        |request_vbs: Vec<VarBind>| (TOO_BIG, 0, if v1 { request_vbs } else { Vec::new() });
    let (status, index, vbs) = match reply {
        Ok(vbs) if fits(vbs.iter().map(VarBind::encoded_size).sum()) => (NO_ERROR, 0, vbs),
        Ok(_) | Err((TOO_BIG, _)) => too_big(request_vbs),
        Err((status, index)) => (status, index, request_vbs),
    };
    if status == TOO_BIG {
        stats.too_big.fetch_add(1, Relaxed);
    }
    stats.varbinds_sent.fetch_add(vbs.len() as u64, Relaxed);
    let body = PduBody::Standard {
        pdu_type: StandardPduType::Response,
        error_status: status,
        error_index: index,
    };
    let pdu = Pdu::from_raw_parts(request_id, body, vbs);
    debug_assert_eq!(pdu.pdu_type(), PduType::Response);
    CommunityMessage::new(cv, community, pdu)
        .ok()?
        .encode()
        .ok()
}

type Reply = Result<Vec<VarBind>, (i32, i32)>;

fn error_index(i: usize) -> i32 {
    i32::try_from(i + 1).unwrap_or(i32::MAX)
}

fn get(view: &dyn View, req: &[VarBind], v1: bool, now: u64) -> Reply {
    let mut out = Vec::with_capacity(req.len());
    for (n, vb) in req.iter().enumerate() {
        let value = match view.position(&vb.oid) {
            Ok(i) => view.value(i, now),
            Err(i) => {
                // noSuchInstance when the object (the OID minus its instance arc) exists.
                let parent = &vb.oid.arcs()[..vb.oid.len().saturating_sub(1)];
                let near = |j: usize| j < view.len() && view.oid(j).arcs().starts_with(parent);
                if !parent.is_empty() && (near(i) || (i > 0 && near(i - 1))) {
                    Value::NoSuchInstance
                } else {
                    Value::NoSuchObject
                }
            }
        };
        if v1 && (matches!(value, Value::Counter64(_)) || value.is_exception()) {
            return Err((NO_SUCH_NAME, error_index(n)));
        }
        out.push(VarBind::new(vb.oid.clone(), value));
    }
    Ok(out)
}

/// The first position at or after `i` whose value the version can carry, with the value.
/// SNMPv1 skips Counter64 objects (RFC 2576 4.1.2.1).
fn next_from(view: &dyn View, mut i: usize, v1: bool, now: u64) -> Option<(usize, Value)> {
    while i < view.len() {
        let value = view.value(i, now);
        if !(v1 && matches!(value, Value::Counter64(_))) {
            return Some((i, value));
        }
        i += 1;
    }
    None
}

fn end_of_view(oid: &Oid) -> VarBind {
    VarBind::new(oid.clone(), Value::EndOfMibView)
}

fn get_next(view: &dyn View, req: &[VarBind], v1: bool, now: u64) -> Reply {
    let mut out = Vec::with_capacity(req.len());
    for (n, vb) in req.iter().enumerate() {
        match next_from(view, view.next_after(&vb.oid), v1, now) {
            Some((i, value)) => out.push(VarBind::new(view.oid(i), value)),
            None if v1 => return Err((NO_SUCH_NAME, error_index(n))),
            None => out.push(end_of_view(&vb.oid)),
        }
    }
    Ok(out)
}

/// A GETBULK reply's varbinds, and whether the size cap cut it short.
struct Bulk {
    varbinds: Vec<VarBind>,
    cut: bool,
}

/// GETBULK (RFC 3416 4.2.3), cut short at the last varbind for which `fits(bytes of the
/// varbinds)` holds, or when every repeater has reached the end of the view.
fn get_bulk(
    view: &dyn View,
    req: &[VarBind],
    nr: usize,
    reps: usize,
    now: u64,
    fits: impl Fn(usize) -> bool,
) -> Bulk {
    let mut size = 0;
    let mut out = Bulk {
        varbinds: Vec::with_capacity(nr + (req.len() - nr) * reps.min(64)),
        cut: false,
    };
    let mut push = |out: &mut Bulk, vb: VarBind| {
        let next = size + vb.encoded_size();
        if !fits(next) {
            out.cut = true;
            return false;
        }
        size = next;
        out.varbinds.push(vb);
        true
    };
    for vb in &req[..nr] {
        let i = view.next_after(&vb.oid);
        let next = if i < view.len() {
            VarBind::new(view.oid(i), view.value(i, now))
        } else {
            end_of_view(&vb.oid)
        };
        if !push(&mut out, next) {
            return out;
        }
    }
    // Current position of each repeater: the next row it returns, and the last OID sent.
    let mut cursors: Vec<(usize, Oid)> = req[nr..]
        .iter()
        .map(|vb| (view.next_after(&vb.oid), vb.oid.clone()))
        .collect();
    if cursors.is_empty() {
        return out;
    }
    for _ in 0..reps {
        let mut all_ended = true;
        for (pos, last) in cursors.iter_mut() {
            let vb = if *pos < view.len() {
                all_ended = false;
                let oid = view.oid(*pos);
                let vb = VarBind::new(oid.clone(), view.value(*pos, now));
                *pos += 1;
                *last = oid;
                vb
            } else {
                end_of_view(last)
            };
            if !push(&mut out, vb) {
                return out;
            }
        }
        if all_ended {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::view::StaticView;
    use async_snmp::{GetBulkPdu, RequestPdu};

    fn view() -> StaticView {
        StaticView::new(vec![
            (Oid::from_slice(&[1, 3, 6, 1, 2]), Value::Integer(2)),
            (Oid::from_slice(&[1, 3, 6, 1, 1]), Value::Integer(1)),
            (Oid::from_slice(&[1, 3, 6, 1, 3]), Value::Counter64(3)),
            (Oid::from_slice(&[1, 3, 6, 1, 4]), Value::Integer(4)),
        ])
    }

    const UNCAPPED: Cap = Cap {
        max_reply_bytes: 0,
        too_big: false,
    };

    fn stats() -> DeviceStats {
        DeviceStats::default()
    }

    /// The uncapped test view's reply to `request`.
    fn ask(request: Bytes) -> Pdu {
        decode(respond(&view(), b"public", UNCAPPED, &stats(), request, 0).unwrap())
    }

    fn decode(b: Bytes) -> Pdu {
        CommunityMessage::decode(b, DecodeConfig::default())
            .expect("decodes")
            .value
            .into_pdu()
            .expect("standard")
    }

    #[test]
    fn wrong_community_is_silent() {
        let req = RequestPdu::get_next(Version::V2c, 7, &[Oid::from_slice(&[1, 3])]).unwrap();
        let msg = CommunityMessage::v2c(Bytes::from_static(b"nope"), req).unwrap();
        assert!(respond(
            &view(),
            b"public",
            UNCAPPED,
            &stats(),
            msg.encode().unwrap(),
            0
        )
        .is_none());
        assert!(respond(
            &view(),
            b"nope",
            UNCAPPED,
            &stats(),
            msg.encode().unwrap(),
            0
        )
        .is_some());
    }

    #[test]
    fn bulk_walk_and_end_of_view() {
        let req = GetBulkPdu::new(
            Version::V2c,
            9,
            0,
            10,
            vec![VarBind::null(Oid::from_slice(&[1, 3, 6, 1, 2]))],
        )
        .unwrap();
        let msg = CommunityMessage::v2c(Bytes::from_static(b"public"), req).unwrap();
        let pdu = ask(msg.encode().unwrap());
        let vbs = pdu.varbinds();
        assert_eq!(vbs.len(), 3, "{vbs:?}");
        assert_eq!(vbs[0].value, Value::Counter64(3));
        assert_eq!(vbs[1].value, Value::Integer(4));
        assert_eq!(vbs[2].value, Value::EndOfMibView);
    }

    #[test]
    fn v1_getnext_skips_counter64_and_errors_at_end() {
        let req =
            RequestPdu::get_next(Version::V1, 1, &[Oid::from_slice(&[1, 3, 6, 1, 2])]).unwrap();
        let msg = CommunityMessage::v1(Bytes::from_static(b"public"), req).unwrap();
        let pdu = ask(msg.encode().unwrap());
        assert_eq!(pdu.varbinds()[0].value, Value::Integer(4));
        let req =
            RequestPdu::get_next(Version::V1, 2, &[Oid::from_slice(&[1, 3, 6, 1, 4])]).unwrap();
        let msg = CommunityMessage::v1(Bytes::from_static(b"public"), req).unwrap();
        let pdu = ask(msg.encode().unwrap());
        assert_eq!(pdu.error_status(), NO_SUCH_NAME);
        assert_eq!(pdu.error_index(), 1);
    }

    #[test]
    fn get_distinguishes_missing_object_and_instance() {
        let oids = [
            Oid::from_slice(&[1, 3, 6, 1, 1]),
            Oid::from_slice(&[1, 3, 6, 1, 9]),
            Oid::from_slice(&[1, 3, 6, 2, 9, 9]),
        ];
        let req = RequestPdu::get(Version::V2c, 3, &oids).unwrap();
        let msg = CommunityMessage::v2c(Bytes::from_static(b"public"), req).unwrap();
        let pdu = ask(msg.encode().unwrap());
        let v: Vec<_> = pdu.varbinds().iter().map(|vb| vb.value.clone()).collect();
        assert_eq!(
            v,
            vec![
                Value::Integer(1),
                Value::NoSuchInstance,
                Value::NoSuchObject
            ]
        );
    }

    #[test]
    fn message_size_is_exact() {
        // (community, request id, varbinds of a 20-byte string): sizes around every
        // length-of-length step of the three nested TLVs.
        let cases = [
            ("public", 1, 0),
            ("public", 127, 1),
            ("public", 128, 3),
            ("", -1, 4),
            ("a-long-community-string", 40_000, 5),
            ("public", i32::MAX, 50),
            ("public", i32::MIN, 200),
            ("x", 99, 2_000),
        ];
        for (community, request_id, n) in cases {
            let vbs: Vec<VarBind> = (0..n)
                .map(|i| {
                    VarBind::new(
                        Oid::from_slice(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 2, i + 1]),
                        Value::OctetString(Bytes::from_static(b"GigabitEthernet1/0/1")),
                    )
                })
                .collect();
            let size: usize = vbs.iter().map(VarBind::encoded_size).sum();
            let body = PduBody::Standard {
                pdu_type: StandardPduType::Response,
                error_status: 0,
                error_index: 0,
            };
            let pdu = Pdu::from_raw_parts(request_id, body, vbs);
            let msg = CommunityMessage::new(
                CommunityVersion::V2c,
                Bytes::copy_from_slice(community.as_bytes()),
                pdu,
            )
            .unwrap();
            assert_eq!(
                msg.encode().unwrap().len(),
                message_size(community.len(), request_id, 0, size),
                "{community:?} {request_id} {n}"
            );
        }
    }

    fn strings(n: u32) -> StaticView {
        StaticView::new(
            (1..=n)
                .map(|i| {
                    (
                        Oid::from_slice(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 2, i]),
                        Value::OctetString(Bytes::from(format!("GigabitEthernet1/0/{i}"))),
                    )
                })
                .collect(),
        )
    }

    fn bulk(reps: u32) -> Bytes {
        let req = GetBulkPdu::new(
            Version::V2c,
            77,
            0,
            reps,
            vec![VarBind::null(Oid::from_slice(&[
                1, 3, 6, 1, 2, 1, 2, 2, 1, 2,
            ]))],
        )
        .unwrap();
        CommunityMessage::v2c(Bytes::from_static(b"public"), req)
            .unwrap()
            .encode()
            .unwrap()
    }

    #[test]
    fn capped_bulk_replies_are_cut_to_fit() {
        let view = strings(200);
        for cap in [200, 500, 1_500, 4_000] {
            let stats = stats();
            let c = Cap {
                max_reply_bytes: cap,
                too_big: false,
            };
            let reply = respond(&view, b"public", c, &stats, bulk(150), 0).unwrap();
            assert!(reply.len() <= cap, "cap {cap}: {} bytes", reply.len());
            let pdu = decode(reply.clone());
            assert_eq!(pdu.error_status(), NO_ERROR);
            let n = pdu.varbinds().len();
            assert!(n > 0 && n < 150, "cap {cap}: {n} varbinds");
            // Full: the next varbind would not have fitted.
            let next = VarBind::new(view.oid(n), view.value(n, 0)).encoded_size();
            assert!(reply.len() + next > cap, "cap {cap}: room left for another");
            let st = stats.snapshot();
            assert_eq!((st.requests, st.cut, st.too_big), (1, 1, 0));
            assert_eq!(st.varbinds_asked, 150);
            assert_eq!(st.varbinds_sent, n as u64);
        }
        // Under the cap: whole, not counted as cut.
        let stats = stats();
        let c = Cap {
            max_reply_bytes: 1_500,
            too_big: false,
        };
        let pdu = decode(respond(&view, b"public", c, &stats, bulk(5), 0).unwrap());
        assert_eq!(pdu.varbinds().len(), 5);
        assert_eq!(stats.snapshot().cut, 0);
    }

    #[test]
    fn too_big_agents_refuse_instead_of_cutting() {
        let view = strings(200);
        let stats = stats();
        let c = Cap {
            max_reply_bytes: 1_500,
            too_big: true,
        };
        let pdu = decode(respond(&view, b"public", c, &stats, bulk(150), 0).unwrap());
        assert_eq!(pdu.error_status(), TOO_BIG);
        assert!(pdu.varbinds().is_empty());
        let pdu = decode(respond(&view, b"public", c, &stats, bulk(10), 0).unwrap());
        assert_eq!(pdu.error_status(), NO_ERROR);
        assert_eq!(pdu.varbinds().len(), 10);
        let st = stats.snapshot();
        assert_eq!((st.requests, st.cut, st.too_big), (2, 0, 1));
        assert_eq!(st.full, 0);
        // Counted full when it was asked the most that fits (what an agent that cuts
        // sends), not one less.
        let cuts = Cap {
            too_big: false,
            ..c
        };
        let most = decode(respond(&view, b"public", cuts, &stats, bulk(150), 0).unwrap())
            .varbinds()
            .len() as u32;
        let pdu = decode(respond(&view, b"public", c, &stats, bulk(most), 0).unwrap());
        assert_eq!(pdu.error_status(), NO_ERROR);
        assert_eq!(stats.snapshot().full, 1);
        respond(&view, b"public", c, &stats, bulk(most - 1), 0).unwrap();
        assert_eq!(stats.snapshot().full, 1);
        let pdu = decode(respond(&view, b"public", c, &stats, bulk(most + 1), 0).unwrap());
        assert_eq!(pdu.error_status(), TOO_BIG);
    }
}
