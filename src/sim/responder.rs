//! A direct SNMPv1/v2c command responder over a device's [`View`].
//!
//! We decode and encode with async-snmp's message types but answer GET / GETNEXT /
//! GETBULK ourselves: a bulk walk then advances by position in the sorted table
//! (`i + 1`) instead of a handler lookup per varbind, and the values are computed only
//! for OIDs actually returned.

use super::view::View;
use async_snmp::message::{CommunityMessage, CommunityPdu};
use async_snmp::{
    CommunityVersion, DecodeConfig, Oid, Pdu, PduBody, PduType, StandardPduType, Value, VarBind,
    Version,
};
use bytes::Bytes;

/// Largest response we build. GETBULK responses are cut (RFC 3416 4.2.3 allows dropping
/// trailing repetitions) to stay under it; fits a UDP datagram on loopback.
pub(crate) const MAX_RESPONSE_BYTES: usize = 65_000;
/// Room for the message envelope and PDU header around the varbind list.
const ENVELOPE_ALLOWANCE: usize = 100;

const NO_ERROR: i32 = 0;
const TOO_BIG: i32 = 1;
const NO_SUCH_NAME: i32 = 2;
const NOT_WRITABLE: i32 = 17;

/// Answer one datagram. `None` means "send nothing": undecodable input, wrong
/// community, or a PDU a command responder does not answer.
pub(crate) fn respond(
    view: &dyn View,
    community: &[u8],
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
        } => Ok(get_bulk(
            view,
            &request_vbs,
            non_repeaters as usize,
            max_repetitions as usize,
            elapsed_ms,
        )),
    };
    let (status, index, vbs) = match reply {
        Ok(vbs) => {
            let size: usize = vbs.iter().map(VarBind::encoded_size).sum();
            if size + ENVELOPE_ALLOWANCE > MAX_RESPONSE_BYTES {
                let vbs = if v1 { request_vbs } else { Vec::new() };
                (TOO_BIG, 0, vbs)
            } else {
                (NO_ERROR, 0, vbs)
            }
        }
        // Error responses echo the request's varbinds (RFC 1157 4.1.2, RFC 3416 4.2.1).
        Err((status, index)) => (status, index, request_vbs),
    };
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
    let oids = view.oids();
    let mut out = Vec::with_capacity(req.len());
    for (n, vb) in req.iter().enumerate() {
        let value = match view.position(&vb.oid) {
            Ok(i) => view.value(i, now),
            Err(i) => {
                // noSuchInstance when the object (the OID minus its instance arc) exists.
                let parent = &vb.oid.arcs()[..vb.oid.len().saturating_sub(1)];
                let near = |j: usize| oids.get(j).is_some_and(|o| o.arcs().starts_with(parent));
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
    while i < view.oids().len() {
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
            Some((i, value)) => out.push(VarBind::new(view.oids()[i].clone(), value)),
            None if v1 => return Err((NO_SUCH_NAME, error_index(n))),
            None => out.push(end_of_view(&vb.oid)),
        }
    }
    Ok(out)
}

/// GETBULK (RFC 3416 4.2.3), cut short when the response would exceed
/// [`MAX_RESPONSE_BYTES`] or every repeater has reached the end of the view.
fn get_bulk(view: &dyn View, req: &[VarBind], nr: usize, reps: usize, now: u64) -> Vec<VarBind> {
    let oids = view.oids();
    let nr = nr.min(req.len());
    let budget = MAX_RESPONSE_BYTES - ENVELOPE_ALLOWANCE;
    let mut size = 0;
    let mut out = Vec::with_capacity(nr + (req.len() - nr) * reps.min(64));
    let mut push = |out: &mut Vec<VarBind>, vb: VarBind| {
        size += vb.encoded_size();
        if size > budget {
            return false;
        }
        out.push(vb);
        true
    };
    for vb in &req[..nr] {
        let i = view.next_after(&vb.oid);
        let next = match oids.get(i) {
            Some(oid) => VarBind::new(oid.clone(), view.value(i, now)),
            None => end_of_view(&vb.oid),
        };
        if !push(&mut out, next) {
            return out;
        }
    }
    // Current position of each repeater: the next table row it returns.
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
            let vb = match oids.get(*pos) {
                Some(oid) => {
                    all_ended = false;
                    let vb = VarBind::new(oid.clone(), view.value(*pos, now));
                    *pos += 1;
                    *last = oid.clone();
                    vb
                }
                None => end_of_view(last),
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
        assert!(respond(&view(), b"public", msg.encode().unwrap(), 0).is_none());
        assert!(respond(&view(), b"nope", msg.encode().unwrap(), 0).is_some());
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
        let pdu = decode(respond(&view(), b"public", msg.encode().unwrap(), 0).unwrap());
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
        let pdu = decode(respond(&view(), b"public", msg.encode().unwrap(), 0).unwrap());
        assert_eq!(pdu.varbinds()[0].value, Value::Integer(4));
        let req =
            RequestPdu::get_next(Version::V1, 2, &[Oid::from_slice(&[1, 3, 6, 1, 4])]).unwrap();
        let msg = CommunityMessage::v1(Bytes::from_static(b"public"), req).unwrap();
        let pdu = decode(respond(&view(), b"public", msg.encode().unwrap(), 0).unwrap());
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
        let pdu = decode(respond(&view(), b"public", msg.encode().unwrap(), 0).unwrap());
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
}
