//! BER for SNMPv1/v2c requests and responses, straight between octopoll's [`Oid`] and
//! [`Value`] and a datagram.
//!
//! The poller's hot path. async-snmp decodes a reply into its own message, PDU and varbind
//! types, slicing a reference-counted `Bytes` for every field, and octopoll then copied
//! each varbind into its own types: a profile of 100 polls/s against capped agents put a
//! quarter of octopoll's user time there. Here a reply is decoded in one pass from the
//! borrowed datagram, each varbind built once, and a request is encoded into a reused
//! buffer. SNMPv3 (USM: keys, encryption, discovery) stays with async-snmp.
//!
//! What is accepted is what async-snmp's default (net-snmp compatible) decoder accepts,
//! which `tests::decodes_what_async_snmp_encodes` and the `decode_reply` fuzz target
//! check against it: long-form lengths up to 8 octets but no indefinite form, INTEGER
//! of up to 8 octets truncated to 32 bits, unsigned 32-bit types of up to 9 octets
//! truncated, an empty Counter64 read as 0, an empty OBJECT IDENTIFIER, OCTET STRING and
//! Opaque lengths clamped to their varbind, exceptions without payload, unknown value
//! tags kept as [`Value::Unknown`], and bytes after the message ignored.

use super::walk::VarbindSink;
use super::{Oid, Value};

/// SNMP version field: v1.
pub(crate) const VERSION_1: i64 = 0;
/// SNMP version field: v2c.
pub(crate) const VERSION_2C: i64 = 1;

/// PDU tags.
pub(crate) const GET: u8 = 0xa0;
pub(crate) const GET_NEXT: u8 = 0xa1;
pub(crate) const RESPONSE: u8 = 0xa2;
pub(crate) const TRAP_V1: u8 = 0xa4;
pub(crate) const GET_BULK: u8 = 0xa5;

const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OBJECT_IDENTIFIER: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const IP_ADDRESS: u8 = 0x40;
const COUNTER32: u8 = 0x41;
const GAUGE32: u8 = 0x42;
const TIMETICKS: u8 = 0x43;
const OPAQUE: u8 = 0x44;
const COUNTER64: u8 = 0x46;
const UINTEGER32: u8 = 0x47;
const NO_SUCH_OBJECT: u8 = 0x80;
const NO_SUCH_INSTANCE: u8 = 0x81;
const END_OF_MIB_VIEW: u8 = 0x82;

/// RFC 2578 3.5: at most 128 sub-identifiers.
const MAX_ARCS: usize = 128;

/// A datagram that is not a well-formed SNMPv1/v2c message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed SNMP message at byte {offset}: {what}")]
pub struct BerError {
    /// Offset in the datagram.
    pub offset: usize,
    /// What was wrong.
    pub what: &'static str,
}

// === encoding ===

/// Bytes of a BER length field for `n` content bytes.
pub(crate) fn length_size(n: usize) -> usize {
    match n {
        0..=0x7f => 1,
        0x80..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xff_ffff => 4,
        _ => 5,
    }
}

/// Bytes of a TLV with `content` bytes of content.
pub(crate) fn tlv_size(content: usize) -> usize {
    1 + length_size(content) + content
}

fn put_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    match length_size(len) {
        1 => out.push(len as u8),
        n => {
            out.push(0x80 | (n - 1) as u8);
            for i in (0..n - 1).rev() {
                out.push((len >> (8 * i)) as u8);
            }
        }
    }
}

/// Content octets of a minimal two's complement INTEGER.
pub(crate) fn int_content_size(v: i64) -> usize {
    let mut n = 1;
    while n < 8 && !(-(1i64 << (8 * n - 1))..(1i64 << (8 * n - 1))).contains(&v) {
        n += 1;
    }
    n
}

fn put_int(out: &mut Vec<u8>, v: i64) {
    let n = int_content_size(v);
    put_header(out, INTEGER, n);
    for i in (0..n).rev() {
        out.push((v >> (8 * i)) as u8);
    }
}

fn subid_size(v: u64) -> usize {
    let mut n = 1;
    while v >> (7 * n) != 0 {
        n += 1;
    }
    n
}

/// Writes `v` base-128 at `dst[k..]`; returns the offset after it.
fn write_subid(dst: &mut [u8], k: usize, v: u64) -> usize {
    let n = subid_size(v);
    for i in 0..n {
        let more = if i + 1 == n { 0 } else { 0x80 };
        dst[k + i] = ((v >> (7 * (n - 1 - i))) & 0x7f) as u8 | more;
    }
    k + n
}

/// The first sub-identifier (arcs 1 and 2 combined, X.690 8.19.4) and the arcs after it.
fn first_subid(arcs: &[u32]) -> (Option<u64>, &[u32]) {
    match arcs {
        [] => (None, &[]),
        [a] => (Some(u64::from(*a) * 40), &[]),
        [a, b, rest @ ..] => (Some(u64::from(*a) * 40 + u64::from(*b)), rest),
    }
}

fn oid_content_size(oid: &Oid) -> usize {
    let (first, rest) = first_subid(oid.arcs());
    first.map_or(0, subid_size)
        + rest
            .iter()
            .map(|&a| {
                if a < 0x80 {
                    1
                } else {
                    subid_size(u64::from(a))
                }
            })
            .sum::<usize>()
}

/// A request of one of the PDU types [`GET`], [`GET_NEXT`] and [`GET_BULK`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    /// [`VERSION_1`] or [`VERSION_2C`].
    pub(crate) version: i64,
    pub(crate) community: &'a [u8],
    pub(crate) pdu: u8,
    pub(crate) request_id: i32,
    /// GETBULK: non-repeaters and max-repetitions; otherwise 0 and 0 (error status and
    /// index).
    pub(crate) non_repeaters: u32,
    pub(crate) max_repetitions: u32,
    pub(crate) oids: &'a [Oid],
}

/// Encodes `req` into `out` (cleared first), every varbind's value NULL.
pub(crate) fn encode_request(out: &mut Vec<u8>, req: &Request<'_>) {
    let varbinds: usize = req
        .oids
        .iter()
        .map(|o| tlv_size(tlv_size(oid_content_size(o)) + 2))
        .sum();
    let fields = [
        i64::from(req.request_id),
        i64::from(req.non_repeaters),
        i64::from(req.max_repetitions),
    ];
    let pdu: usize = fields
        .iter()
        .map(|&v| tlv_size(int_content_size(v)))
        .sum::<usize>()
        + tlv_size(varbinds);
    let message =
        tlv_size(int_content_size(req.version)) + tlv_size(req.community.len()) + tlv_size(pdu);
    out.clear();
    out.reserve(tlv_size(message));
    put_header(out, SEQUENCE, message);
    put_int(out, req.version);
    put_header(out, OCTET_STRING, req.community.len());
    out.extend_from_slice(req.community);
    put_header(out, req.pdu, pdu);
    for v in fields {
        put_int(out, v);
    }
    put_header(out, SEQUENCE, varbinds);
    for oid in req.oids {
        let content = oid_content_size(oid);
        put_header(out, SEQUENCE, tlv_size(content) + 2);
        put_header(out, OBJECT_IDENTIFIER, content);
        // Written in place: a push per octet was most of a request's encoding.
        let start = out.len();
        out.resize(start + content, 0);
        let dst = &mut out[start..];
        let (first, rest) = first_subid(oid.arcs());
        let mut k = first.map_or(0, |f| write_subid(dst, 0, f));
        for &a in rest {
            // Most arcs are below 128: one octet.
            if a < 0x80 {
                dst[k] = a as u8;
                k += 1;
            } else {
                k = write_subid(dst, k, u64::from(a));
            }
        }
        debug_assert_eq!(k, content);
        out.extend_from_slice(&[NULL, 0]);
    }
}

// === decoding ===

/// A cursor over the content of one TLV.
#[derive(Debug, Clone, Copy)]
struct Reader<'a> {
    data: &'a [u8],
    /// Offset of `data[0]` in the datagram (for errors).
    base: usize,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            base: 0,
            pos: 0,
        }
    }

    fn err(&self, what: &'static str) -> BerError {
        BerError {
            offset: self.base + self.pos,
            what,
        }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Tag and length of the next TLV; the content is not consumed.
    fn header(&mut self) -> Result<(u8, usize), BerError> {
        let Some(&tag) = self.data.get(self.pos) else {
            return Err(self.err("truncated: tag expected"));
        };
        if tag & 0x1f == 0x1f {
            return Err(self.err("multi-octet tag"));
        }
        let Some(&first) = self.data.get(self.pos + 1) else {
            return Err(self.err("truncated: length expected"));
        };
        self.pos += 2;
        if first < 0x80 {
            return Ok((tag, usize::from(first)));
        }
        let n = usize::from(first & 0x7f);
        if n == 0 {
            return Err(self.err("indefinite length"));
        }
        if n > 8 {
            return Err(self.err("length of more than 8 octets"));
        }
        let Some(bytes) = self.data.get(self.pos..self.pos + n) else {
            return Err(self.err("truncated length"));
        };
        self.pos += n;
        let mut len: usize = 0;
        for &b in bytes {
            len = len
                .checked_mul(256)
                .and_then(|l| l.checked_add(usize::from(b)))
                .ok_or_else(|| self.err("length overflows"))?;
        }
        Ok((tag, len))
    }

    /// The next `len` content octets.
    fn take(&mut self, len: usize) -> Result<Reader<'a>, BerError> {
        if len > self.remaining() {
            return Err(self.err("truncated: content shorter than its length"));
        }
        let r = Reader {
            data: &self.data[self.pos..self.pos + len],
            base: self.base + self.pos,
            pos: 0,
        };
        self.pos += len;
        Ok(r)
    }

    /// A TLV that must carry `tag`; its content.
    fn expect(&mut self, tag: u8, what: &'static str) -> Result<Reader<'a>, BerError> {
        let at = *self;
        let (t, len) = self.header()?;
        if t != tag {
            return Err(at.err(what));
        }
        self.take(len)
    }

    fn integer(&mut self, what: &'static str) -> Result<i64, BerError> {
        let c = self.expect(INTEGER, what)?;
        signed(c.data).ok_or_else(|| c.err("bad INTEGER"))
    }
}

/// Two's complement of 1 to 8 octets.
fn signed(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
    for &x in b {
        v = (v << 8) | i64::from(x);
    }
    Some(v)
}

/// Unsigned of 1 to 9 octets (9 only with a leading zero octet).
fn unsigned(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 9 || (b.len() == 9 && b[0] != 0) {
        return None;
    }
    Some(b.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x)))
}

fn decode_oid(r: &Reader<'_>) -> Result<Oid, BerError> {
    use super::types::INLINE_ARCS;
    let b = r.data;
    if b.is_empty() {
        return Ok(Oid::from_inline(smallvec::SmallVec::new()));
    }
    let bad = || r.err("bad OID sub-identifier");
    // The first sub-identifier holds two arcs and may reach 2.4294967295 = 4294967375.
    let (first, mut i) = subid(b, 0, u64::from(u32::MAX) + 80).ok_or_else(bad)?;
    let (a, rest) = match first {
        0..40 => (0, first),
        40..80 => (1, first - 40),
        _ => (2, first - 80),
    };
    // Into a plain array while the arcs fit inline (every IF-MIB instance does): a
    // SmallVec push checks its capacity and spill state per arc, a third of this call.
    let mut buf = [0u32; INLINE_ARCS];
    buf[0] = a;
    buf[1] = rest as u32;
    let mut n = 2;
    while i < b.len() && n < INLINE_ARCS {
        // Most arcs are below 128: one octet.
        if b[i] < 0x80 {
            buf[n] = u32::from(b[i]);
            i += 1;
        } else {
            let (v, next) = subid(b, i, u64::from(u32::MAX)).ok_or_else(bad)?;
            buf[n] = v as u32;
            i = next;
        }
        n += 1;
    }
    let mut arcs = smallvec::SmallVec::from_buf_and_len(buf, n);
    while i < b.len() {
        let (v, next) = subid(b, i, u64::from(u32::MAX)).ok_or_else(bad)?;
        arcs.push(v as u32);
        i = next;
        if arcs.len() > MAX_ARCS {
            return Err(r.err("OID of more than 128 arcs"));
        }
    }
    Ok(Oid::from_inline(arcs))
}

/// The base-128 sub-identifier at `b[i..]`, at most `max`, and the offset after it.
fn subid(b: &[u8], mut i: usize, max: u64) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    loop {
        let x = *b.get(i)?;
        i += 1;
        if v > (max - u64::from(x & 0x7f)) >> 7 {
            return None;
        }
        v = (v << 7) | u64::from(x & 0x7f);
        if x & 0x80 == 0 {
            return Some((v, i));
        }
    }
}

/// One value; `r` is positioned at its tag, inside its varbind (the varbind's end bounds
/// string lengths).
fn decode_value(r: &mut Reader<'_>) -> Result<Value, BerError> {
    let at = *r;
    let (tag, len) = r.header()?;
    let bad = |what| Err(at.err(what));
    // Strings longer than what is left of their varbind are cut to it, as net-snmp does.
    let clamped = |r: &mut Reader<'_>, len: usize| {
        let len = len.min(r.remaining());
        r.take(len).map(|c| c.data.to_vec())
    };
    let value = match tag {
        OCTET_STRING => return clamped(r, len).map(Value::OctetString),
        OPAQUE => return clamped(r, len).map(Value::Opaque),
        _ => r.take(len)?,
    };
    let b = value.data;
    let u32_of = |b: &[u8]| unsigned(b).map(|v| v as u32);
    Ok(match tag {
        INTEGER => match signed(b) {
            // 32 bits, as net-snmp truncates.
            Some(v) => Value::Integer(i64::from(v as i32)),
            None => return bad("bad INTEGER"),
        },
        NULL if b.is_empty() => Value::Null,
        NULL => return bad("NULL with content"),
        OBJECT_IDENTIFIER => Value::ObjectId(decode_oid(&value)?),
        IP_ADDRESS => match b {
            [a, b, c, d] => Value::IpAddress([*a, *b, *c, *d]),
            _ => return bad("IpAddress not of 4 octets"),
        },
        COUNTER32 | GAUGE32 | TIMETICKS | UINTEGER32 => {
            let Some(v) = u32_of(b) else {
                return bad("bad unsigned integer");
            };
            match tag {
                COUNTER32 => Value::Counter32(v),
                TIMETICKS => Value::TimeTicks(v),
                _ => Value::Gauge32(v),
            }
        }
        COUNTER64 if b.is_empty() => Value::Counter64(0),
        COUNTER64 => match unsigned(b) {
            Some(v) => Value::Counter64(v),
            None => return bad("bad Counter64"),
        },
        NO_SUCH_OBJECT | NO_SUCH_INSTANCE | END_OF_MIB_VIEW if !b.is_empty() => {
            return bad("exception with content")
        }
        NO_SUCH_OBJECT => Value::NoSuchObject,
        NO_SUCH_INSTANCE => Value::NoSuchInstance,
        END_OF_MIB_VIEW => Value::EndOfMibView,
        0x24 => return bad("constructed OCTET STRING"),
        _ => Value::Unknown,
    })
}

/// The envelope of a v1/v2c message: what a reply is matched on before its varbinds are
/// decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Envelope<'a> {
    pub(crate) version: i64,
    pub(crate) community: &'a [u8],
    /// The PDU tag: [`RESPONSE`] for a reply; [`TRAP_V1`] has another layout.
    pub(crate) pdu: u8,
    pub(crate) request_id: i64,
    /// After the request id: error status, error index, varbind list.
    rest: Reader<'a>,
}

/// Reads the envelope of `datagram` (bytes after the message are ignored).
pub(crate) fn envelope(datagram: &[u8]) -> Result<Envelope<'_>, BerError> {
    let mut top = Reader::new(datagram);
    let mut msg = top.expect(SEQUENCE, "not a SEQUENCE")?;
    let version = msg.integer("version expected")?;
    let community = msg.expect(OCTET_STRING, "community expected")?.data;
    let at = msg;
    let (pdu, len) = msg.header()?;
    // SNMPv1: GetRequest .. Trap (RFC 1157); v2c: GetRequest .. SNMPv2-Trap without the
    // v1 Trap (RFC 3416; a Report belongs to SNMPv3).
    let known = match version {
        VERSION_1 => (GET..=TRAP_V1).contains(&pdu),
        _ => (GET..=0xa7).contains(&pdu) && pdu != TRAP_V1,
    };
    if !known {
        return Err(at.err("not a PDU of this version"));
    }
    let mut body = msg.take(len)?;
    if !msg.is_empty() {
        return Err(msg.err("bytes after the PDU"));
    }
    let request_id = body.integer("request id expected")?;
    Ok(Envelope {
        version,
        community,
        pdu,
        request_id,
        rest: body,
    })
}

/// A decoded Response PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) error_status: i64,
    pub(crate) error_index: i64,
    pub(crate) varbinds: Vec<(Oid, Value)>,
}

impl Envelope<'_> {
    /// Decodes the rest of the PDU.
    pub(crate) fn response(&self) -> Result<Response, BerError> {
        let mut varbinds = Vec::new();
        let (error_status, error_index) = self.response_into(&mut varbinds)?;
        Ok(Response {
            error_status,
            error_index,
            varbinds,
        })
    }

    /// Decodes the rest of the PDU, appending its varbinds to `varbinds`; returns the
    /// error status and index. On an error, `varbinds` is left as it was.
    pub(crate) fn response_into(
        &self,
        varbinds: &mut Vec<(Oid, Value)>,
    ) -> Result<(i64, i64), BerError> {
        let before = varbinds.len();
        let (status, index, list) = self.header()?;
        let result = decode_varbinds(list, |o, v| varbinds.push((o, v)));
        if result.is_err() {
            varbinds.truncate(before);
        }
        result.map(|()| (status, index))
    }

    /// Decodes the rest of the PDU, handing each varbind to `sink` as it is decoded (a
    /// walk's replies go straight into their columns' rows, never through a vector of
    /// their own); returns the error status and index. A reply with an error status
    /// hands `sink` nothing: its varbinds are the request's. On an error, `sink` is told
    /// to discard what it was given.
    pub(crate) fn response_each<S: VarbindSink + ?Sized>(
        &self,
        sink: &mut S,
    ) -> Result<(i64, i64), BerError> {
        let (status, index, list) = self.header()?;
        if status != 0 {
            return decode_varbinds(list, |_, _| {}).map(|()| (status, index));
        }
        let result = decode_varbinds(list, |o, v| sink.push(o, v));
        if result.is_err() {
            sink.discard();
        }
        result.map(|()| (status, index))
    }

    /// Error status, error index, and the varbind list.
    fn header(&self) -> Result<(i64, i64, Reader<'_>), BerError> {
        let mut r = self.rest;
        let error_status = r.integer("error status expected")?;
        let error_index = r.integer("error index expected")?;
        let list = r.expect(SEQUENCE, "varbind list expected")?;
        if !r.is_empty() {
            return Err(r.err("bytes after the varbind list"));
        }
        Ok((error_status, error_index, list))
    }
}

/// Decodes a varbind list, handing each varbind to `push` in order.
fn decode_varbinds(mut list: Reader<'_>, mut push: impl FnMut(Oid, Value)) -> Result<(), BerError> {
    while !list.is_empty() {
        let mut vb = list.expect(SEQUENCE, "varbind expected")?;
        let oid = decode_oid(&vb.expect(OBJECT_IDENTIFIER, "varbind name expected")?)?;
        let value = decode_value(&mut vb)?;
        if !vb.is_empty() {
            return Err(vb.err("bytes after the value"));
        }
        push(oid, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_snmp as lib;
    use bytes::Bytes;

    fn oid(s: &str) -> Oid {
        s.parse().unwrap()
    }

    fn lib_oid(o: &Oid) -> lib::Oid {
        lib::Oid::from_slice(o.arcs())
    }

    #[test]
    fn requests_encode_as_async_snmp_does() {
        let oids: Vec<Oid> = [
            "1.3.6.1.2.1.2.2.1.2",
            "1.3.6.1.2.1.31.1.1.1.18",
            "1.3.6.1.4.1.9.9.109.1.1.1.1.8.4294967295",
            "2.999.1",
            "0.0",
        ]
        .iter()
        .map(|s| oid(s))
        .collect();
        let lib_vbs = || {
            oids.iter()
                .map(|o| lib::VarBind::null(lib_oid(o)))
                .collect::<Vec<_>>()
        };
        let mut out = Vec::new();
        // (version, community, request id, non-repeaters, max-repetitions)
        let cases = [
            (VERSION_2C, &b"public"[..], 1, 0, 25),
            (VERSION_2C, &b""[..], i32::MAX, 6, 0),
            (VERSION_2C, &[b'c'; 200][..], 0x1234_5678, 127, 128),
            (VERSION_2C, &b"x"[..], 300, 3, 65_535),
        ];
        for (version, community, id, nr, mr) in cases {
            let req = Request {
                version,
                community,
                pdu: GET_BULK,
                request_id: id,
                non_repeaters: nr,
                max_repetitions: mr,
                oids: &oids,
            };
            encode_request(&mut out, &req);
            let pdu = lib::GetBulkPdu::new(lib::Version::V2c, id, nr, mr, lib_vbs()).unwrap();
            let want = lib::message::CommunityMessage::v2c(Bytes::copy_from_slice(community), pdu)
                .unwrap()
                .encode()
                .unwrap();
            assert_eq!(out, &want[..], "GETBULK {id} {nr} {mr}");
        }
        for (pdu, version) in [
            (GET, VERSION_1),
            (GET_NEXT, VERSION_1),
            (GET, VERSION_2C),
            (GET_NEXT, VERSION_2C),
        ] {
            let req = Request {
                version,
                community: b"public",
                pdu,
                request_id: 77,
                non_repeaters: 0,
                max_repetitions: 0,
                oids: &oids,
            };
            encode_request(&mut out, &req);
            let lv = if version == VERSION_1 {
                lib::Version::V1
            } else {
                lib::Version::V2c
            };
            let libo: Vec<lib::Oid> = oids.iter().map(lib_oid).collect();
            let p = if pdu == GET {
                lib::RequestPdu::get(lv, 77, &libo).unwrap()
            } else {
                lib::RequestPdu::get_next(lv, 77, &libo).unwrap()
            };
            let m = if version == VERSION_1 {
                lib::message::CommunityMessage::v1(Bytes::from_static(b"public"), p)
            } else {
                lib::message::CommunityMessage::v2c(Bytes::from_static(b"public"), p)
            };
            assert_eq!(
                out,
                &m.unwrap().encode().unwrap()[..],
                "pdu {pdu:x} v{version}"
            );
        }
    }

    /// A Response encoded by async-snmp.
    fn lib_response(
        version: lib::CommunityVersion,
        id: i32,
        status: i32,
        index: i32,
        vbs: Vec<lib::VarBind>,
    ) -> Bytes {
        let body = lib::PduBody::Standard {
            pdu_type: lib::StandardPduType::Response,
            error_status: status,
            error_index: index,
        };
        let pdu = lib::Pdu::from_raw_parts(id, body, vbs);
        lib::message::CommunityMessage::new(version, Bytes::from_static(b"public"), pdu)
            .unwrap()
            .encode()
            .unwrap()
    }

    /// What a sink was handed: pushes, and discards as `None`.
    #[derive(Default)]
    struct Recorded(Vec<Option<(Oid, Value)>>);

    impl VarbindSink for Recorded {
        fn push(&mut self, oid: Oid, value: Value) {
            self.0.push(Some((oid, value)));
        }
        fn discard(&mut self) {
            self.0.push(None);
        }
    }

    #[test]
    fn a_sink_gets_each_varbind_or_a_discard_and_nothing_of_an_error_reply() {
        let vbs = || {
            (1..=3u64)
                .map(|i| {
                    lib::VarBind::new(
                        lib::Oid::from_slice(&[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, i as u32]),
                        lib::Value::Counter64(i * 1000),
                    )
                })
                .collect::<Vec<_>>()
        };
        let good = lib_response(lib::CommunityVersion::V2c, 9, 0, 0, vbs());
        let mut sink = Recorded::default();
        assert_eq!(
            envelope(&good).unwrap().response_each(&mut sink),
            Ok((0, 0))
        );
        let want: Vec<_> = (1..=3u64)
            .map(|i| {
                Some((
                    oid(&format!("1.3.6.1.2.1.31.1.1.1.6.{i}")),
                    Value::Counter64(i * 1000),
                ))
            })
            .collect();
        assert_eq!(sink.0, want);
        // The last value broken (a constructed OCTET STRING): two pushes, then a discard.
        let mut broken = good.to_vec();
        let n = broken.len();
        assert_eq!(broken[n - 4], COUNTER64);
        broken[n - 4] = 0x24;
        let mut sink = Recorded::default();
        assert!(envelope(&broken).unwrap().response_each(&mut sink).is_err());
        assert_eq!(sink.0, [want[0].clone(), want[1].clone(), None]);
        // tooBig: the varbinds are checked but not handed on.
        // (async-snmp will not encode one with varbinds: its error status set by hand)
        let mut too_big = good.to_vec();
        let at = too_big
            .windows(7)
            .position(|w| w == [INTEGER, 1, 0, INTEGER, 1, 0, SEQUENCE])
            .unwrap();
        too_big[at + 2] = 1;
        let mut sink = Recorded::default();
        assert_eq!(
            envelope(&too_big).unwrap().response_each(&mut sink),
            Ok((1, 0))
        );
        assert!(sink.0.is_empty());
    }

    /// A small deterministic generator (no test dependency needed).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    fn random_value(r: &mut Rng) -> lib::Value {
        let big = |r: &mut Rng| (r.next() << 32) | r.next();
        let bytes = |r: &mut Rng| {
            let n = if r.below(10) == 0 {
                200 + r.below(300)
            } else {
                r.below(40)
            };
            Bytes::from((0..n).map(|_| r.next() as u8).collect::<Vec<u8>>())
        };
        match r.below(14) {
            0 => lib::Value::Integer(big(r) as i32),
            1 => lib::Value::OctetString(bytes(r)),
            2 => lib::Value::Null,
            3 => lib::Value::ObjectIdentifier(lib::Oid::from_slice(&[
                1,
                3,
                6,
                r.below(1 << 20) as u32,
            ])),
            4 => lib::Value::IpAddress([1, 2, r.next() as u8, 4]),
            5 => lib::Value::Counter32(big(r) as u32),
            6 => lib::Value::Gauge32(big(r) as u32),
            7 => lib::Value::TimeTicks(big(r) as u32),
            8 => lib::Value::Opaque(bytes(r)),
            9 => lib::Value::Counter64(big(r) >> r.below(64)),
            // (UInteger32 is receive-only there: in `values_at_the_edges`.)
            10 => lib::Value::Counter32(r.below(300) as u32),
            11 => lib::Value::NoSuchObject,
            12 => lib::Value::NoSuchInstance,
            _ => lib::Value::EndOfMibView,
        }
    }

    #[test]
    fn decodes_what_async_snmp_encodes() {
        let mut r = Rng(7);
        for case in 0..2_000 {
            let n = r.below(if case % 50 == 0 { 400 } else { 30 }) as usize;
            let vbs: Vec<lib::VarBind> = (0..n)
                .map(|_| {
                    let len = 2 + r.below(20) as usize;
                    let mut arcs: Vec<u32> =
                        (0..len).map(|_| (r.next() >> r.below(33)) as u32).collect();
                    arcs[0] = r.below(3) as u32;
                    if arcs[0] < 2 {
                        arcs[1] %= 40;
                    }
                    lib::VarBind::new(lib::Oid::from_slice(&arcs), random_value(&mut r))
                })
                .collect();
            let id = r.next() as i32;
            // async-snmp encodes an error index only where it names a varbind (tooBig, with
            // no varbinds, is in `values_at_the_edges`' neighbour below).
            let status = if n == 0 || r.below(3) > 0 {
                0
            } else {
                2 + r.below(4) as i32
            };
            let index = if status <= 1 {
                0
            } else {
                1 + r.below(n as u64) as i32
            };
            // SNMPv1 carries neither Counter64 nor the exceptions.
            let v1 = !vbs.iter().any(|vb| {
                matches!(
                    vb.value,
                    lib::Value::Counter64(_)
                        | lib::Value::NoSuchObject
                        | lib::Value::NoSuchInstance
                        | lib::Value::EndOfMibView
                )
            });
            let version = if v1 {
                lib::CommunityVersion::V1
            } else {
                lib::CommunityVersion::V2c
            };
            let datagram = lib_response(version, id, status, index, vbs.clone());
            let env = envelope(&datagram).unwrap();
            assert_eq!(env.request_id, i64::from(id));
            assert_eq!(env.pdu, RESPONSE);
            assert_eq!(env.community, b"public");
            let got = env.response().unwrap();
            assert_eq!(
                (got.error_status, got.error_index),
                (i64::from(status), i64::from(index))
            );
            // The same as async-snmp's own decode, mapped to our types as before.
            let want: Vec<(Oid, Value)> =
                super::super::client::decode_with_async_snmp(&datagram).unwrap();
            assert_eq!(got.varbinds, want, "case {case}");
        }
    }

    #[test]
    fn damaged_messages_decode_as_async_snmp_decodes_them() {
        // Valid replies with bytes flipped, cut, inserted: both decoders must agree on
        // every one (accepted with the same varbinds, or refused).
        let mut r = Rng(99);
        let mut accepted = 0;
        for case in 0..20_000 {
            let n = 1 + r.below(12) as usize;
            let vbs: Vec<lib::VarBind> = (0..n)
                .map(|i| {
                    lib::VarBind::new(
                        lib::Oid::from_slice(&[
                            1,
                            3,
                            6,
                            1,
                            2,
                            1,
                            2,
                            2,
                            1,
                            1 + r.below(20) as u32,
                            i as u32,
                        ]),
                        random_value(&mut r),
                    )
                })
                .collect();
            let mut d =
                lib_response(lib::CommunityVersion::V2c, r.next() as i32, 0, 0, vbs).to_vec();
            for _ in 0..1 + r.below(3) {
                if d.is_empty() {
                    break;
                }
                let at = r.below(d.len() as u64) as usize;
                match r.below(4) {
                    0 => d[at] = r.next() as u8,
                    1 => d[at] ^= 1 << r.below(8),
                    2 => d.truncate(at),
                    _ => d.insert(at, r.next() as u8),
                }
            }
            let ours = envelope(&d).and_then(|e| {
                if e.pdu == TRAP_V1 || !(VERSION_1..=VERSION_2C).contains(&e.version) {
                    // A v1 trap or another version: not ours to decode.
                    return Err(BerError {
                        offset: 0,
                        what: "skip",
                    });
                }
                e.response().map(|r| r.varbinds)
            });
            if matches!(&ours, Err(e) if e.what == "skip") {
                continue;
            }
            let theirs = super::super::client::decode_with_async_snmp(&d);
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "case {case}: {d:02x?}");
                    accepted += 1;
                }
                (Err(_), Err(_)) => {}
                _ => panic!("case {case}: ours {ours:?}, async-snmp {theirs:?}: {d:02x?}"),
            }
        }
        assert!(
            accepted > 1_000,
            "too few damaged messages still decode: {accepted}"
        );
    }

    fn msg(pdu_content: &[u8]) -> Vec<u8> {
        // 30 len 02 01 01 04 06 public a2 len <content>
        let mut pdu = vec![RESPONSE];
        pdu.push(pdu_content.len() as u8);
        pdu.extend_from_slice(pdu_content);
        let mut body = vec![0x02, 0x01, 0x01, 0x04, 0x06];
        body.extend_from_slice(b"public");
        body.extend_from_slice(&pdu);
        let mut m = vec![SEQUENCE, body.len() as u8];
        m.extend_from_slice(&body);
        m
    }

    /// A Response whose one varbind (name 1.3) carries `value` (tag, length, content).
    fn with_value(value: &[u8]) -> Vec<u8> {
        let mut vb = vec![OBJECT_IDENTIFIER, 1, 0x2b];
        vb.extend_from_slice(value);
        let mut list = vec![SEQUENCE, vb.len() as u8];
        list.extend_from_slice(&vb);
        let mut content = vec![
            0x02,
            0x01,
            0x05,
            0x02,
            0x01,
            0x00,
            0x02,
            0x01,
            0x00,
            SEQUENCE,
            list.len() as u8,
        ];
        content.extend_from_slice(&list);
        msg(&content)
    }

    #[test]
    fn oids_around_the_inline_size_and_the_limit() {
        // 1.3, arcs of 1, and a last arc of two octets (128): 16 arcs are inline, 128 the
        // most an OID may have.
        for arcs in [2, 3, 15, 16, 17, 40, 128, 129] {
            let mut content = vec![0x2b];
            let mut want = vec![1, 3];
            if arcs > 2 {
                content.extend(std::iter::repeat_n(1, arcs - 3));
                content.extend([0x81, 0x00]);
                want.extend(std::iter::repeat_n(1, arcs - 3));
                want.push(128);
            }
            let got = decode_oid(&Reader::new(&content));
            if arcs <= MAX_ARCS {
                assert_eq!(got, Ok(Oid::from_arcs(want)), "{arcs} arcs");
            } else {
                assert!(got.is_err(), "{arcs} arcs");
            }
        }
    }

    #[test]
    fn values_at_the_edges() {
        // (value TLV, decoded value or None for an error)
        let cases: Vec<(Vec<u8>, Option<Value>)> = vec![
            (vec![0x02, 1, 0xff], Some(Value::Integer(-1))),
            (vec![0x02, 5, 0x01, 0, 0, 0, 0x05], Some(Value::Integer(5))), // truncated to 32 bits
            (vec![0x02, 0], None),
            (vec![0x02, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1], None),
            (
                vec![0x41, 5, 0x00, 0xff, 0xff, 0xff, 0xff],
                Some(Value::Counter32(u32::MAX)),
            ),
            (vec![0x41, 5, 0x01, 0, 0, 0, 2], Some(Value::Counter32(2))), // truncated
            (vec![0x43, 9, 1, 0, 0, 0, 0, 0, 0, 0, 1], None), // 9 octets need a leading 0
            (vec![0x47, 1, 5], Some(Value::Gauge32(5))),      // UInteger32
            (vec![0x46, 0], Some(Value::Counter64(0))),
            (
                vec![0x46, 9, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Some(Value::Counter64(u64::MAX)),
            ),
            (vec![0x46, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0], None),
            (
                vec![0x04, 3, b'a', b'b', b'c'],
                Some(Value::OctetString(b"abc".to_vec())),
            ),
            (
                vec![0x04, 9, b'a', b'b'],
                Some(Value::OctetString(b"ab".to_vec())),
            ), // clamped
            (
                vec![0x04, 0x81, 2, b'a', b'b'],
                Some(Value::OctetString(b"ab".to_vec())),
            ),
            (vec![0x04, 0x80], None), // indefinite length
            (vec![0x24, 0], None),    // constructed OCTET STRING
            (vec![0x05, 0], Some(Value::Null)),
            (vec![0x05, 1, 0], None),
            (vec![0x06, 0], Some(Value::ObjectId(Oid::from_arcs([])))),
            (vec![0x06, 2, 0x2b, 0x86], None), // unterminated sub-identifier
            (
                vec![0x06, 6, 0x90, 0x80, 0x80, 0x80, 0x4f, 0x01],
                Some(Value::ObjectId(Oid::from_arcs([2, u32::MAX, 1]))),
            ),
            (vec![0x06, 6, 0x90, 0x80, 0x80, 0x80, 0x50, 0x01], None), // past 2.4294967295
            (
                vec![0x06, 7, 0x2b, 0x90, 0x80, 0x80, 0x80, 0x00, 0x01],
                None,
            ), // arc past u32
            (
                vec![0x40, 4, 10, 0, 0, 1],
                Some(Value::IpAddress([10, 0, 0, 1])),
            ),
            (vec![0x40, 3, 10, 0, 0], None),
            (vec![0x80, 0], Some(Value::NoSuchObject)),
            (vec![0x81, 0], Some(Value::NoSuchInstance)),
            (vec![0x82, 0], Some(Value::EndOfMibView)),
            (vec![0x82, 1, 0], None),
            (vec![0x45, 2, 1, 2], Some(Value::Unknown)), // NsapAddress
            (vec![0x9f, 0x01, 0], None),                 // multi-octet tag
        ];
        for (tlv, want) in cases {
            let datagram = with_value(&tlv);
            let got = envelope(&datagram)
                .and_then(|e| e.response())
                .map(|r| r.varbinds[0].1.clone());
            assert_eq!(got.ok(), want, "{tlv:02x?}");
        }
    }

    #[test]
    fn envelopes_and_broken_messages() {
        let good = with_value(&[0x02, 1, 7]);
        let e = envelope(&good).unwrap();
        assert_eq!((e.version, e.pdu, e.request_id), (1, RESPONSE, 5));
        // Bytes after the message are ignored.
        let mut trailing = good.clone();
        trailing.extend_from_slice(&[0, 1, 2]);
        assert_eq!(
            envelope(&trailing).unwrap().response().unwrap(),
            e.response().unwrap()
        );
        // Every truncation of a good message fails, none panics.
        for n in 0..good.len() {
            assert!(
                envelope(&good[..n]).and_then(|e| e.response()).is_err(),
                "cut at {n}"
            );
        }
        // Not a PDU where one belongs.
        let mut bad = good.clone();
        bad[13] = 0x30;
        assert!(envelope(&bad).is_err());
        // PDUs of another version (found by the fuzzer: a v1 message with an SNMPv2-Trap,
        // a v2c one with a Report).
        let (mut v1_trap2, mut v2c_trap1, mut v2c_report) =
            (good.clone(), good.clone(), good.clone());
        v1_trap2[4] = 0;
        v1_trap2[13] = 0xa7;
        v2c_trap1[13] = TRAP_V1;
        v2c_report[13] = 0xa8;
        assert!(envelope(&v1_trap2).is_err());
        assert!(envelope(&v2c_trap1).is_err());
        assert!(envelope(&v2c_report).is_err());
        let mut v1_response = good.clone();
        v1_response[4] = 0;
        assert_eq!(envelope(&v1_response).unwrap().version, VERSION_1);
        // tooBig with no varbinds.
        let too_big = lib_response(lib::CommunityVersion::V2c, 9, 1, 0, Vec::new());
        let r = envelope(&too_big).unwrap().response().unwrap();
        assert_eq!((r.error_status, r.error_index, r.varbinds.len()), (1, 0, 0));
        // A length of more than 8 octets.
        assert!(envelope(&[0x30, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1]).is_err());
    }
}
