//! Pure decoders: OID suffixes into label text (index types), varbind values into numbers
//! and text, RFC 2579 DISPLAY-HINTs, DateAndTime and NTP timestamps, Opaque floats. Each
//! follows snmp_exporter's `collector.go` so that labels and values match its output;
//! malformed input never panics (short suffixes are padded with zeros, as snmp_exporter
//! pads them, and the caller is told so it can warn).

use std::collections::BTreeMap;

use super::model::Render;
use crate::snmp::Value;

/// Longest string index taken from a suffix: an OID has at most 128 arcs, so a longer
/// length prefix is malformed (snmp_exporter would allocate whatever the arc says).
const MAX_STRING_ARCS: usize = 128;

/// What decoding one index produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The label text.
    pub text: String,
    /// The arcs this index used (what a lookup appends to its column).
    pub used: Vec<u32>,
    /// The arcs left for the next index.
    pub rest: &'a [u32],
    /// The suffix was shorter than the index needs (the missing arcs read as zeros).
    pub short: bool,
}

/// The first `n` arcs (zero-padded when there are fewer) and the rest.
fn split(arcs: &[u32], n: usize) -> (Vec<u32>, &[u32], bool) {
    if arcs.len() >= n {
        (arcs[..n].to_vec(), &arcs[n..], false)
    } else {
        let mut head = arcs.to_vec();
        head.resize(n, 0);
        (head, &[], true)
    }
}

/// Go's `strings.ToValidUTF8(s, "\u{FFFD}")`: each run of invalid bytes becomes one
/// replacement character (Rust's lossy conversion would give one per invalid sequence).
pub fn to_valid_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut in_invalid_run = false;
    for chunk in bytes.utf8_chunks() {
        if !chunk.valid().is_empty() {
            in_invalid_run = false;
            out.push_str(chunk.valid());
        }
        if !chunk.invalid().is_empty() {
            if !in_invalid_run {
                out.push('\u{FFFD}');
            }
            in_invalid_run = true;
        }
    }
    out
}

/// Decodes one index from `arcs` (snmp_exporter's `indexOidsAsString`).
pub fn decode_index<'a>(
    arcs: &'a [u32],
    kind: Render,
    fixed_size: usize,
    implied: bool,
    enums: &BTreeMap<i64, String>,
) -> Decoded<'a> {
    match kind {
        Render::InetAddress | Render::InetAddressMissingSize | Render::LldpPortId => {
            combined(arcs, kind, enums)
        }
        Render::Integer | Render::IpAddr => {
            let (head, rest, short) = split(arcs, 1);
            Decoded {
                text: head[0].to_string(),
                used: head,
                rest,
                short,
            }
        }
        Render::EnumAsInfo => {
            let (head, rest, short) = split(arcs, 1);
            let text = enums
                .get(&i64::from(head[0]))
                .cloned()
                .unwrap_or_else(|| head[0].to_string());
            Decoded {
                text,
                used: head,
                rest,
                short,
            }
        }
        Render::PhysAddress48 => {
            let (head, rest, short) = split(arcs, 6);
            let mut text = String::with_capacity(17);
            for (i, a) in head.iter().enumerate() {
                if i > 0 {
                    text.push(':');
                }
                push_hex(&mut text, *a as u8);
            }
            Decoded {
                text,
                used: head,
                rest,
                short,
            }
        }
        Render::OctetString | Render::DisplayString => {
            let (mut used, arcs, mut short) = if implied || fixed_size > 0 {
                (Vec::new(), arcs, false)
            } else {
                split(arcs, 1)
            };
            let length = if implied {
                arcs.len()
            } else if fixed_size > 0 {
                fixed_size
            } else {
                used[0] as usize
            };
            let length = if length > MAX_STRING_ARCS && length > arcs.len() {
                short = true;
                arcs.len()
            } else {
                length
            };
            let (content, rest, s) = split(arcs, length);
            short |= s;
            // Go's byte(o): an arc above 255 keeps its low byte.
            let bytes: Vec<u8> = content.iter().map(|&a| a as u8).collect();
            used.extend_from_slice(&content);
            let text = if kind == Render::OctetString {
                hex_0x(&bytes)
            } else {
                to_valid_utf8(&bytes)
            };
            Decoded {
                text,
                used,
                rest,
                short,
            }
        }
        Render::InetAddressIpv4 => {
            let (head, rest, short) = split(arcs, 4);
            let text = head
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(".");
            Decoded {
                text,
                used: head,
                rest,
                short,
            }
        }
        Render::InetAddressIpv6 => {
            let (head, rest, short) = split(arcs, 16);
            let mut text = String::with_capacity(39);
            for (i, a) in head.iter().enumerate() {
                if i > 0 && i % 2 == 0 {
                    text.push(':');
                }
                push_hex(&mut text, *a as u8);
            }
            Decoded {
                text,
                used: head,
                rest,
                short,
            }
        }
        Render::Dotted => Decoded {
            text: arcs
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join("."),
            used: arcs.to_vec(),
            rest: &[],
            short: false,
        },
    }
}

/// The type an InetAddress / InetAddressMissingSize / LldpPortId resolves to from its
/// type arc (snmp_exporter's `combinedTypeMapping`).
pub fn combined_subtype(kind: Render, type_arc: i64) -> Option<Render> {
    match (kind, type_arc) {
        (Render::InetAddress | Render::InetAddressMissingSize, 1) => Some(Render::InetAddressIpv4),
        (Render::InetAddress | Render::InetAddressMissingSize, 2) => Some(Render::InetAddressIpv6),
        (Render::LldpPortId, 1 | 2 | 5 | 7) => Some(Render::DisplayString),
        (Render::LldpPortId, 3) => Some(Render::PhysAddress48),
        _ => None,
    }
}

fn combined<'a>(arcs: &'a [u32], kind: Render, enums: &BTreeMap<i64, String>) -> Decoded<'a> {
    let missing_size = kind == Render::InetAddressMissingSize;
    let (head, values, short) = split(arcs, if missing_size { 1 } else { 2 });
    if let Some(sub) = combined_subtype(kind, i64::from(head[0])) {
        let inner = decode_index(values, sub, 0, false, enums);
        let mut used = head;
        used.extend_from_slice(&inner.used);
        return Decoded {
            text: inner.text,
            used,
            rest: inner.rest,
            short: short || inner.short,
        };
    }
    if missing_size {
        // The size is unknown: everything left.
        return decode_index(arcs, Render::OctetString, 0, true, enums);
    }
    // Unknown type: the type, the length and the address as one fixed-size string.
    let size = (head[1] as usize).saturating_add(2);
    decode_index(arcs, Render::OctetString, size, false, enums)
}

/// `0x` and the bytes in upper-case hex; empty for no bytes (snmp_exporter's OctetString).
pub fn hex_0x(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return String::new();
    }
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    for &b in bytes {
        push_hex(&mut s, b);
    }
    s
}

/// Appends `b` as two upper-case hex digits.
fn push_hex(s: &mut String, b: u8) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    s.push(char::from(DIGITS[usize::from(b >> 4)]));
    s.push(char::from(DIGITS[usize::from(b & 0xf)]));
}

/// A float or double inside an Opaque (RFC draft "opaque types": tag 0x9F78 float,
/// 0x9F79 double), as gosnmp decodes it.
pub fn opaque_float(bytes: &[u8]) -> Option<f64> {
    match bytes {
        [0x9f, 0x78, 4, b @ ..] if b.len() == 4 => {
            Some(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        }
        [0x9f, 0x79, 8, b @ ..] if b.len() == 8 => Some(f64::from_be_bytes(
            b.try_into().expect("eight bytes by the pattern"),
        )),
        _ => None,
    }
}

/// The numeric value of a varbind as snmp_exporter computes it (`getPduValue`): integers as
/// they are, Counter64 wrapped at 2^53 when `wrap` (its default), Opaque floats decoded,
/// anything else (strings, addresses, OIDs) 0.
pub fn exporter_number(v: &Value, wrap: bool) -> f64 {
    const MANTISSA: u64 = 1 << 53;
    match v {
        Value::Integer(i) => *i as f64,
        Value::Counter32(c) | Value::Gauge32(c) | Value::TimeTicks(c) => f64::from(*c),
        Value::Counter64(c) if wrap => (c % MANTISSA) as f64,
        Value::Counter64(c) => *c as f64,
        Value::Opaque(b) => opaque_float(b).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// The integer value of a varbind (for enum states and chained lookups), like gosnmp's
/// `ToBigInt(...).Int64()`.
pub fn integer(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        Value::Counter32(c) | Value::Gauge32(c) | Value::TimeTicks(c) => i64::from(*c),
        Value::Counter64(c) => *c as i64,
        _ => 0,
    }
}

/// Text of a varbind value (snmp_exporter's `pduValueAsString`): numbers in decimal,
/// floats shortest, OIDs dotted, IP addresses dotted, byte strings by `kind` (with a
/// DISPLAY-HINT for OctetString when given), Null empty.
pub fn value_text(v: &Value, kind: Option<Render>, hint: Option<&str>) -> String {
    match v {
        Value::Integer(i) => i.to_string(),
        Value::Counter32(c) | Value::Gauge32(c) | Value::TimeTicks(c) => c.to_string(),
        Value::Counter64(c) => c.to_string(),
        Value::ObjectId(o) => o.to_string(),
        Value::IpAddress(a) => format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
        Value::Opaque(b) => match opaque_float(b) {
            // gosnmp gives a float32 for 0x9F78: print it as one.
            Some(f) if b[1] == 0x78 => (f as f32).to_string(),
            Some(f) => f.to_string(),
            None => bytes_text(b, kind, hint),
        },
        Value::OctetString(b) => bytes_text(b, kind, hint),
        Value::Null
        | Value::NoSuchObject
        | Value::NoSuchInstance
        | Value::EndOfMibView
        | Value::Unknown => String::new(),
    }
}

fn bytes_text(b: &[u8], kind: Option<Render>, hint: Option<&str>) -> String {
    if let Some(h) = hint {
        if matches!(kind, None | Some(Render::OctetString)) {
            if let Some(s) = display_hint(h, b) {
                return s;
            }
        }
    }
    let kind = match kind {
        None => Render::OctetString,
        Some(Render::IpAddr) if b.len() == 4 => Render::InetAddressIpv4,
        Some(Render::IpAddr) => Render::OctetString,
        Some(k) => k,
    };
    match kind {
        // Every byte, however long (an index caps strings at 128 arcs).
        Render::OctetString => hex_0x(b),
        Render::DisplayString => to_valid_utf8(b),
        _ => {
            // The bytes read as an index.
            let arcs: Vec<u32> = b.iter().map(|&x| u32::from(x)).collect();
            decode_index(&arcs, kind, 0, false, &BTreeMap::new()).text
        }
    }
}

/// Applies an RFC 2579 DISPLAY-HINT (octet format) to `data`; `None` when the hint does not
/// parse (the caller then formats as usual). Mirrors snmp_exporter's `applyDisplayHint`.
pub fn display_hint(hint: &str, data: &[u8]) -> Option<String> {
    let hint = hint.as_bytes();
    if hint.is_empty() || data.is_empty() {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(data.len() * 4);
    let (mut hp, mut dp) = (0usize, 0usize);
    let mut last_start = 0usize;
    let mut last_consumes = false;
    while dp < data.len() {
        let mut spec_start = hp;
        if hp >= hint.len() {
            if !last_consumes {
                return None;
            }
            hp = last_start;
            spec_start = last_start;
        }
        let star = hint.get(hp) == Some(&b'*');
        if star {
            hp += 1;
        }
        if !hint.get(hp).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let mut take: usize = 0;
        while let Some(d) = hint.get(hp).filter(|c| c.is_ascii_digit()) {
            take = take.checked_mul(10)?.checked_add(usize::from(d - b'0'))?;
            hp += 1;
        }
        let fmt = *hint.get(hp)?;
        if !b"dxoat".contains(&fmt) {
            return None;
        }
        hp += 1;
        let is_sep = |c: Option<&u8>| c.is_some_and(|c| !c.is_ascii_digit() && *c != b'*');
        let sep = is_sep(hint.get(hp)).then(|| hint[hp]);
        if sep.is_some() {
            hp += 1;
        }
        let term = (star && is_sep(hint.get(hp))).then(|| hint[hp]);
        if term.is_some() {
            hp += 1;
        }
        last_start = spec_start;
        last_consumes = take > 0 || star;
        let mut repeat = 1usize;
        if star && dp < data.len() {
            repeat = usize::from(data[dp]);
            dp += 1;
        }
        let mut r = 0;
        while r < repeat && dp < data.len() {
            let end = dp.saturating_add(take).min(data.len());
            let chunk = &data[dp..end];
            match fmt {
                b'd' | b'o' => {
                    if chunk.len() > 8 {
                        return None;
                    }
                    let v = chunk.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b));
                    let s = if fmt == b'd' {
                        v.to_string()
                    } else {
                        format!("{v:o}")
                    };
                    out.extend_from_slice(s.as_bytes());
                }
                b'x' => {
                    for b in chunk {
                        out.extend_from_slice(format!("{b:02X}").as_bytes());
                    }
                }
                _ => out.extend_from_slice(chunk),
            }
            dp = end;
            if let Some(s) = sep {
                if dp < data.len() && (term.is_none() || r != repeat - 1) {
                    out.push(s);
                }
            }
            r += 1;
        }
        if let Some(t) = term {
            if dp < data.len() {
                out.push(t);
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// RFC 2579 DateAndTime (8 bytes, or 11 with the UTC offset) as Unix seconds, with Go's
/// `time.Date` normalisation of out-of-range fields (month 13 is January next year).
pub fn date_and_time(b: &[u8]) -> Result<f64, String> {
    let offset_secs = match b.len() {
        8 => 0,
        11 => {
            let sign = match b[8] {
                b'+' => 1,
                b'-' => -1,
                other => return Err(format!("invalid DateAndTime offset sign {other:#04x}")),
            };
            if b[9] > 99 || b[10] > 99 {
                return Err("invalid DateAndTime offset".into());
            }
            // Go parses "+HHMM" with "-0700": hours up to 99, minutes up to 59.
            if b[10] > 59 {
                return Err("invalid DateAndTime offset minutes".into());
            }
            sign * (i64::from(b[9]) * 3600 + i64::from(b[10]) * 60)
        }
        n => return Err(format!("invalid DateAndTime length {n}")),
    };
    let year = i64::from(u16::from_be_bytes([b[0], b[1]]));
    let (month, day) = (i64::from(b[2]), i64::from(b[3]));
    let (h, m, s) = (i64::from(b[4]), i64::from(b[5]), i64::from(b[6]));
    let m0 = month - 1;
    let y = year + m0.div_euclid(12);
    let mo = m0.rem_euclid(12) + 1;
    // A u16 year and a month 1..=12 always make a date chrono holds.
    let first = chrono::NaiveDate::from_ymd_opt(y as i32, mo as u32, 1)
        .ok_or_else(|| format!("invalid DateAndTime year {y}"))?;
    let days = first
        .signed_duration_since(chrono::DateTime::UNIX_EPOCH.date_naive())
        .num_days()
        + day
        - 1;
    Ok((days * 86_400 + h * 3600 + m * 60 + s - offset_secs) as f64)
}

/// An NTP timestamp (seconds since 1900, then a fraction) as whole Unix seconds.
pub fn ntp_timestamp(b: &[u8]) -> Result<f64, String> {
    if b.len() < 8 {
        return Err(format!("invalid NTPTimeStamp length {}", b.len()));
    }
    let secs = i64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])) - 2_208_988_800;
    Ok(secs as f64)
}

/// A date string parsed with a strftime-style pattern (ParseDateAndTime), as Unix seconds;
/// a pattern without a time of day gives midnight UTC.
pub fn parse_date(text: &str, pattern: &str) -> Result<f64, String> {
    use chrono::{NaiveDate, NaiveDateTime};
    if let Ok(t) = chrono::DateTime::parse_from_str(text, pattern) {
        return Ok(t.timestamp() as f64);
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(text, pattern) {
        return Ok(t.and_utc().timestamp() as f64);
    }
    match NaiveDate::parse_from_str(text, pattern) {
        Ok(d) => Ok(d
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp()) as f64),
        Err(e) => Err(format!("cannot parse {text:?} with {pattern:?}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_decoders() {
        let enums: BTreeMap<i64, String> = [(1, "up".to_string())].into();
        // (arcs, kind, fixed, implied, text, used, rest, short)
        #[allow(clippy::type_complexity)]
        let cases: &[(&[u32], Render, usize, bool, &str, &[u32], &[u32], bool)] = &[
            (&[7, 9], Render::Integer, 0, false, "7", &[7], &[9], false),
            (&[], Render::Integer, 0, false, "0", &[0], &[], true),
            (&[1], Render::EnumAsInfo, 0, false, "up", &[1], &[], false),
            (&[3], Render::EnumAsInfo, 0, false, "3", &[3], &[], false),
            (
                &[0, 26, 43, 60, 77, 94, 5],
                Render::PhysAddress48,
                0,
                false,
                "00:1A:2B:3C:4D:5E",
                &[0, 26, 43, 60, 77, 94],
                &[5],
                false,
            ),
            (
                &[1, 2],
                Render::PhysAddress48,
                0,
                false,
                "01:02:00:00:00:00",
                &[1, 2, 0, 0, 0, 0],
                &[],
                true,
            ),
            (
                &[2, 104, 105, 9],
                Render::DisplayString,
                0,
                false,
                "hi",
                &[2, 104, 105],
                &[9],
                false,
            ),
            (
                &[104, 105],
                Render::DisplayString,
                0,
                true,
                "hi",
                &[104, 105],
                &[],
                false,
            ),
            (
                &[104, 105, 106],
                Render::DisplayString,
                2,
                false,
                "hi",
                &[104, 105],
                &[106],
                false,
            ),
            (
                &[2, 1, 255],
                Render::OctetString,
                0,
                false,
                "0x01FF",
                &[2, 1, 255],
                &[],
                false,
            ),
            (&[0], Render::OctetString, 0, false, "", &[0], &[], false),
            // A length past the end: zero bytes padded, flagged.
            (
                &[4, 65],
                Render::DisplayString,
                0,
                false,
                "A\0\0\0",
                &[4, 65, 0, 0, 0],
                &[],
                true,
            ),
            // A length no OID could hold: what is there, flagged.
            (
                &[4000, 65, 66],
                Render::OctetString,
                0,
                false,
                "0x4142",
                &[4000, 65, 66],
                &[],
                true,
            ),
            (
                &[10, 0, 0, 1, 3],
                Render::InetAddressIpv4,
                0,
                false,
                "10.0.0.1",
                &[10, 0, 0, 1],
                &[3],
                false,
            ),
            (
                &[1, 4, 192, 168, 1, 1],
                Render::InetAddress,
                0,
                false,
                "192.168.1.1",
                &[1, 4, 192, 168, 1, 1],
                &[],
                false,
            ),
            (
                &[2, 16, 32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                Render::InetAddress,
                0,
                false,
                "2001:0DB8:0000:0000:0000:0000:0000:0001",
                &[2, 16, 32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                &[],
                false,
            ),
            // Unknown address type: type, length and address as one hex string.
            (
                &[16, 2, 1, 2, 7],
                Render::InetAddress,
                0,
                false,
                "0x10020102",
                &[16, 2, 1, 2],
                &[7],
                false,
            ),
            (
                &[1, 10, 1, 2, 3],
                Render::InetAddressMissingSize,
                0,
                false,
                "10.1.2.3",
                &[1, 10, 1, 2, 3],
                &[],
                false,
            ),
            (
                &[9, 1, 2],
                Render::InetAddressMissingSize,
                0,
                false,
                "0x090102",
                &[9, 1, 2],
                &[],
                false,
            ),
            (
                &[3, 6, 0, 1, 2, 3, 4, 5, 8],
                Render::LldpPortId,
                0,
                false,
                "00:01:02:03:04:05",
                &[3, 6, 0, 1, 2, 3, 4, 5],
                &[8],
                false,
            ),
            (
                &[1, 2, 3],
                Render::Dotted,
                0,
                false,
                "1.2.3",
                &[1, 2, 3],
                &[],
                false,
            ),
        ];
        for (arcs, kind, fixed, implied, text, used, rest, short) in cases {
            let d = decode_index(arcs, *kind, *fixed, *implied, &enums);
            assert_eq!(d.text, *text, "{kind:?} {arcs:?}");
            assert_eq!(d.used, *used, "{kind:?} {arcs:?} used");
            assert_eq!(d.rest, *rest, "{kind:?} {arcs:?} rest");
            assert_eq!(d.short, *short, "{kind:?} {arcs:?} short");
        }
    }

    #[test]
    fn go_style_invalid_utf8() {
        assert_eq!(to_valid_utf8(b"ok"), "ok");
        assert_eq!(to_valid_utf8(b"a\xff\xfeb"), "a\u{FFFD}b");
        assert_eq!(to_valid_utf8(b"a\xffb\xfe"), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(to_valid_utf8(b"nul\0kept"), "nul\0kept");
    }

    #[test]
    fn value_texts() {
        let s = |b: &[u8]| Value::OctetString(b.to_vec());
        let cases: Vec<(Value, Option<Render>, Option<&str>, &str)> = vec![
            (Value::Integer(-3), None, None, "-3"),
            (
                Value::Counter64(u64::MAX),
                None,
                None,
                "18446744073709551615",
            ),
            (
                Value::ObjectId("1.3.6.1.4.1.9".parse().unwrap()),
                None,
                None,
                "1.3.6.1.4.1.9",
            ),
            (Value::IpAddress([10, 1, 2, 3]), None, None, "10.1.2.3"),
            (s(b"Gi0/1"), Some(Render::DisplayString), None, "Gi0/1"),
            (s(b"\x01\xab"), None, None, "0x01AB"),
            (s(b"\x01\xab"), Some(Render::OctetString), None, "0x01AB"),
            (s(b""), Some(Render::OctetString), None, ""),
            (
                s(b"\x00\x1a\x2b\x3c\x4d\x5e"),
                Some(Render::PhysAddress48),
                None,
                "00:1A:2B:3C:4D:5E",
            ),
            (
                s(&[10, 0, 0, 9]),
                Some(Render::InetAddressIpv4),
                None,
                "10.0.0.9",
            ),
            (s(&[7]), Some(Render::Integer), None, "7"),
            (
                s(&[0, 26, 43, 60, 77, 94]),
                Some(Render::OctetString),
                Some("1x:"),
                "00:1A:2B:3C:4D:5E",
            ),
            (
                s(&[192, 168, 1, 1]),
                None,
                Some("1d.1d.1d.1d"),
                "192.168.1.1",
            ),
            (Value::Null, None, None, ""),
            (
                Value::Opaque(vec![0x9f, 0x78, 4, 0x41, 0xbc, 0, 0]),
                None,
                None,
                "23.5",
            ),
        ];
        for (v, kind, hint, want) in cases {
            assert_eq!(value_text(&v, kind, hint), want, "{v:?} {kind:?} {hint:?}");
        }
    }

    #[test]
    fn display_hints() {
        let cases: &[(&str, &[u8], Option<&str>)] = &[
            ("255a", b"Hello", Some("Hello")),
            ("1x:", &[0, 26, 43], Some("00:1A:2B")),
            ("1d.1d.1d.1d", &[10, 0, 0, 1], Some("10.0.0.1")),
            ("2d", &[1, 0], Some("256")),
            ("1o", &[8], Some("10")),
            // '*' takes a repeat count from the data; ';' terminates the group.
            ("*1d.;", &[2, 1, 2, 9], Some("1.2;")),
            ("1q", b"x", None),
            ("", b"x", None),
            ("9d", &[1; 9], None),
            ("x", b"x", None),
        ];
        for (hint, data, want) in cases {
            assert_eq!(
                display_hint(hint, data).as_deref(),
                *want,
                "{hint:?} {data:?}"
            );
        }
    }

    #[test]
    fn numbers_like_snmp_exporter() {
        assert_eq!(exporter_number(&Value::Counter64(1 << 53), true), 0.0);
        assert_eq!(exporter_number(&Value::Counter64((1 << 53) + 5), true), 5.0);
        assert_eq!(
            exporter_number(&Value::Counter64(1 << 53), false),
            9007199254740992.0
        );
        assert_eq!(exporter_number(&Value::Integer(-2), true), -2.0);
        assert_eq!(
            exporter_number(&Value::OctetString(b"12".to_vec()), true),
            0.0
        );
        let double = [
            0x9f, 0x79, 8, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18,
        ];
        assert_eq!(
            exporter_number(&Value::Opaque(double.to_vec()), true),
            std::f64::consts::PI
        );
        assert_eq!(
            exporter_number(&Value::Opaque(vec![0x9f, 0x78, 2]), true),
            0.0
        );
    }

    #[test]
    fn dates() {
        // 2024-02-29 13:45:30.5 UTC
        let utc = [0x07, 0xe8, 2, 29, 13, 45, 30, 5];
        assert_eq!(date_and_time(&utc), Ok(1_709_214_330.0));
        // Same instant written at +02:00.
        let plus2 = [0x07, 0xe8, 2, 29, 15, 45, 30, 5, b'+', 2, 0];
        assert_eq!(date_and_time(&plus2), Ok(1_709_214_330.0));
        // Month 13 normalises into January of the next year, as Go's time.Date does.
        let m13 = [0x07, 0xe7, 13, 1, 0, 0, 0, 0];
        assert_eq!(date_and_time(&m13), Ok(1_704_067_200.0));
        assert!(date_and_time(&[1, 2, 3]).is_err());
        assert!(date_and_time(&[0x07, 0xe8, 2, 29, 15, 45, 30, 5, b'x', 2, 0]).is_err());
        assert_eq!(
            ntp_timestamp(&[0xe9, 0x00, 0x00, 0x00, 0, 0, 0, 0]),
            Ok(3_909_091_328.0 - 2_208_988_800.0)
        );
        assert!(ntp_timestamp(&[1, 2]).is_err());
        assert_eq!(
            parse_date("Thu Feb 29 13:45:30 2024", "%a %b %d %H:%M:%S %Y"),
            Ok(1_709_214_330.0)
        );
        assert_eq!(parse_date("Feb 29 2024", "%b %d %Y"), Ok(1_709_164_800.0));
        assert!(parse_date("soon", "%b %d %Y").is_err());
    }
}
