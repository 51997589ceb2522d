//! Recorded devices: parsers for snmpsim `.snmprec` files and `snmpwalk -On` output.

use async_snmp::{Oid, Value};
use bytes::Bytes;
use std::path::{Path, PathBuf};

/// A recording that could not be read or parsed; names the file and (1-based) line.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The recording's path.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line could not be parsed.
    #[error("{file}:{line}: {message}")]
    Parse {
        /// The recording's path.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// A device recorded from a real agent, served with its values exactly as recorded.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Device name: the file stem.
    pub name: String,
    pub(crate) entries: Vec<(Oid, Value)>,
}

impl Recording {
    /// Read a recording. Files ending in `.snmprec` are snmpsim format, anything else is
    /// taken as `snmpwalk -On` output.
    pub fn load(path: &Path) -> Result<Recording, RecordingError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecordingError::Io {
            file: path.to_owned(),
            source,
        })?;
        let entries = if path.extension().is_some_and(|e| e == "snmprec") {
            parse_snmprec(&text)
        } else {
            parse_snmpwalk(&text)
        }
        .map_err(|(line, message)| RecordingError::Parse {
            file: path.to_owned(),
            line,
            message,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "recording".to_owned());
        Ok(Recording { name, entries })
    }

    /// Number of recorded objects.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the recording holds no objects.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A parse failure: (1-based line, message).
type LineError = (usize, String);

fn parse_oid(s: &str) -> Result<Oid, String> {
    let s = s.trim().trim_start_matches('.');
    let arcs: Result<Vec<u32>, _> = s.split('.').map(str::parse::<u32>).collect();
    match arcs {
        Ok(arcs) if arcs.len() >= 2 => Ok(Oid::from(arcs)),
        _ => Err(format!("bad OID {s:?} (numeric OIDs only; walk with -On)")),
    }
}

fn parse_num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    let tok = s.split_whitespace().next().unwrap_or("");
    tok.parse()
        .map_err(|_| format!("bad {what} value {:?}", s.trim()))
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {:?}", s.trim()));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| format!("bad hex {:?}", s.trim()))
        })
        .collect()
}

fn parse_ip(s: &str) -> Result<[u8; 4], String> {
    s.trim()
        .parse::<std::net::Ipv4Addr>()
        .map(|a| a.octets())
        .map_err(|_| format!("bad IpAddress {:?}", s.trim()))
}

/// snmpsim `.snmprec`: one `oid|tag|value` per line; tag `4x` etc. means hex value.
pub(crate) fn parse_snmprec(text: &str) -> Result<Vec<(Oid, Value)>, LineError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |m: String| (n + 1, m);
        let mut parts = line.splitn(3, '|');
        let (Some(oid), Some(tag), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err("expected oid|type|value".to_owned()));
        };
        let oid = parse_oid(oid).map_err(err)?;
        let (tag, hex) = match tag.strip_suffix('x') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let bytes = |v: &str| -> Result<Bytes, String> {
            if hex {
                parse_hex(v).map(Bytes::from)
            } else {
                Ok(Bytes::copy_from_slice(v.as_bytes()))
            }
        };
        let value = match tag {
            "2" => Value::Integer(parse_num(value, "Integer").map_err(err)?),
            "4" => Value::OctetString(bytes(value).map_err(err)?),
            "5" => Value::Null,
            "6" => Value::ObjectIdentifier(parse_oid(value).map_err(err)?),
            "64" if hex => {
                let b = parse_hex(value).map_err(err)?;
                let ip: [u8; 4] = b
                    .try_into()
                    .map_err(|_| err("IpAddress needs 4 bytes".to_owned()))?;
                Value::IpAddress(ip)
            }
            "64" => Value::IpAddress(parse_ip(value).map_err(err)?),
            "65" => Value::Counter32(parse_num(value, "Counter32").map_err(err)?),
            "66" => Value::Gauge32(parse_num(value, "Gauge32").map_err(err)?),
            "67" => Value::TimeTicks(parse_num(value, "TimeTicks").map_err(err)?),
            "68" => Value::Opaque(bytes(value).map_err(err)?),
            "70" => Value::Counter64(parse_num(value, "Counter64").map_err(err)?),
            other => return Err(err(format!("unsupported type tag {other:?}"))),
        };
        out.push((oid, value));
    }
    Ok(out)
}

/// Whether a line starts a new `snmpwalk -On` entry (`.1.3.6... = ...`).
fn entry_start(line: &str) -> Option<(&str, &str)> {
    let (oid, rest) = line.split_once(" = ")?;
    let oid_ok = oid.starts_with('.') && oid[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
    oid_ok.then_some((oid, rest))
}

/// Decode a quoted string body (after the opening quote); `Some((text, rest))` when the
/// closing quote is found. net-snmp escapes `"` and `\` with a backslash.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e)) => out.push(e),
                None => out.push('\\'),
            },
            '"' => return Some((out, &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// `snmpwalk -On` output (with or without MIBs loaded for the values).
pub(crate) fn parse_snmpwalk(text: &str) -> Result<Vec<(Oid, Value)>, LineError> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut out = Vec::new();
    let mut n = 0;
    while n < lines.len() {
        let line_no = n + 1;
        let line = lines[n];
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        let err = |m: String| (line_no, m);
        let Some((oid, rest)) = entry_start(line) else {
            return Err(err(format!(
                "expected \".OID = TYPE: value\", got {line:?}"
            )));
        };
        let oid = parse_oid(oid).map_err(err)?;
        let mut rest = rest.trim();
        // net-snmp prints "Wrong Type (should be X): TYPE: value" when the MIB disagrees.
        if rest.starts_with("Wrong Type") {
            if let Some((_, r)) = rest.split_once("): ") {
                rest = r;
            }
        }
        if rest.starts_with("No Such Object")
            || rest.starts_with("No Such Instance")
            || rest.starts_with("No more variables")
        {
            continue;
        }
        if rest == "\"\"" {
            out.push((oid, Value::OctetString(Bytes::new())));
            continue;
        }
        if rest == "NULL" {
            out.push((oid, Value::Null));
            continue;
        }
        let Some((ty, val)) = rest.split_once(':') else {
            return Err(err(format!("expected TYPE: value, got {rest:?}")));
        };
        let val = val.strip_prefix(' ').unwrap_or(val);
        // Hex-STRING/BITS/Opaque continue on following lines that aren't new entries.
        let mut continued = || {
            let mut s = val.to_owned();
            while n < lines.len() && entry_start(lines[n]).is_none() && !lines[n].is_empty() {
                s.push(' ');
                s.push_str(lines[n]);
                n += 1;
            }
            s
        };
        let value = match ty {
            "STRING" => {
                if let Some(body) = val.strip_prefix('"') {
                    // A quoted string may span lines; join them with '\n' until it closes.
                    let mut buf = body.to_owned();
                    loop {
                        if let Some((s, tail)) = unquote(&buf) {
                            if !tail.trim().is_empty() {
                                return Err(err(format!("text after closing quote: {tail:?}")));
                            }
                            break Value::OctetString(Bytes::from(s));
                        }
                        let Some(next) = lines.get(n) else {
                            return Err(err("unterminated quoted string".to_owned()));
                        };
                        buf.push('\n');
                        buf.push_str(next);
                        n += 1;
                    }
                } else {
                    Value::OctetString(Bytes::copy_from_slice(val.as_bytes()))
                }
            }
            "Hex-STRING" => Value::OctetString(parse_hex(&continued()).map_err(err)?.into()),
            "Opaque" => {
                let s = continued();
                let hex = s
                    .trim()
                    .strip_prefix("Hex-STRING:")
                    .unwrap_or(&s)
                    .to_owned();
                Value::Opaque(parse_hex(&hex).map_err(err)?.into())
            }
            "BITS" => {
                // "BITS: 80 00 name(0)": keep the hex octets, drop the names.
                let s = continued();
                let hex: Vec<&str> = s
                    .split_whitespace()
                    .take_while(|t| t.len() == 2 && t.chars().all(|c| c.is_ascii_hexdigit()))
                    .collect();
                Value::OctetString(parse_hex(&hex.join(" ")).map_err(err)?.into())
            }
            "INTEGER" => {
                // "up(1)" with MIBs, "1" or "1500 octets" without.
                let v = val.trim();
                let num = match (v.rfind('('), v.ends_with(')')) {
                    (Some(i), true) => &v[i + 1..v.len() - 1],
                    _ => v,
                };
                Value::Integer(parse_num(num, "INTEGER").map_err(err)?)
            }
            "Counter32" => Value::Counter32(parse_num(val, "Counter32").map_err(err)?),
            "Counter64" => Value::Counter64(parse_num(val, "Counter64").map_err(err)?),
            "Gauge32" | "Unsigned32" => Value::Gauge32(parse_num(val, "Gauge32").map_err(err)?),
            "Timeticks" => {
                let inner = val
                    .trim()
                    .strip_prefix('(')
                    .and_then(|s| s.split_once(')'))
                    .map(|(n, _)| n)
                    .ok_or_else(|| err(format!("bad Timeticks {val:?}")))?;
                Value::TimeTicks(parse_num(inner, "Timeticks").map_err(err)?)
            }
            "OID" => Value::ObjectIdentifier(parse_oid(val).map_err(err)?),
            "IpAddress" | "Network Address" => Value::IpAddress(parse_ip(val).map_err(err)?),
            other => return Err(err(format!("unsupported type {other:?}"))),
        };
        out.push((oid, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> Oid {
        parse_oid(s).unwrap()
    }

    #[test]
    fn snmprec_types() {
        let text = "\
# comment
1.3.6.1.2.1.1.1.0|4|Cisco IOS | with pipe
1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.1208
1.3.6.1.2.1.1.3.0|67|12345
1.3.6.1.2.1.2.2.1.6.1|4x|001a2b3c4d5e
1.3.6.1.2.1.2.2.1.10.1|65|4294967295
1.3.6.1.2.1.2.2.1.5.1|66|1000000000
1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615
1.3.6.1.2.1.4.20.1.1.10.0.0.1|64|10.0.0.1
1.3.6.1.2.1.2.2.1.7.1|2|-1
1.3.6.1.2.1.99.0|5|
";
        let v = parse_snmprec(text).unwrap();
        assert_eq!(v.len(), 10);
        assert_eq!(v[0].0, o("1.3.6.1.2.1.1.1.0"));
        assert_eq!(
            v[0].1,
            Value::OctetString(Bytes::from_static(b"Cisco IOS | with pipe"))
        );
        assert_eq!(v[1].1, Value::ObjectIdentifier(o("1.3.6.1.4.1.9.1.1208")));
        assert_eq!(v[2].1, Value::TimeTicks(12345));
        assert_eq!(
            v[3].1,
            Value::OctetString(Bytes::from_static(&[0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]))
        );
        assert_eq!(v[4].1, Value::Counter32(u32::MAX));
        assert_eq!(v[5].1, Value::Gauge32(1_000_000_000));
        assert_eq!(v[6].1, Value::Counter64(u64::MAX));
        assert_eq!(v[7].1, Value::IpAddress([10, 0, 0, 1]));
        assert_eq!(v[8].1, Value::Integer(-1));
        assert_eq!(v[9].1, Value::Null);
    }

    #[test]
    fn snmprec_errors_name_the_line() {
        let e = parse_snmprec("1.3.6.1|2|1\n1.3.6.1.2|2|x\n").unwrap_err();
        assert_eq!(e.0, 2);
        let e = parse_snmprec("1.3.6.1|99|1\n").unwrap_err();
        assert!(e.1.contains("99"), "{e:?}");
        let e = parse_snmprec("nonsense\n").unwrap_err();
        assert_eq!(e.0, 1);
    }

    #[test]
    fn snmpwalk_types() {
        let text = r#".1.3.6.1.2.1.1.1.0 = STRING: "Cisco IOS Software
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2021 by \"Cisco\""
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.9.1.1208
.1.3.6.1.2.1.1.3.0 = Timeticks: (12345) 0:02:03.45
.1.3.6.1.2.1.1.4.0 = ""
.1.3.6.1.2.1.2.2.1.6.1 = Hex-STRING: 00 1A 2B 3C
4D 5E
.1.3.6.1.2.1.2.2.1.8.1 = INTEGER: up(1)
.1.3.6.1.2.1.2.2.1.4.1 = INTEGER: 1500
.1.3.6.1.2.1.2.2.1.10.1 = Counter32: 123
.1.3.6.1.2.1.31.1.1.1.6.1 = Counter64: 12345678901234
.1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 1000000000
.1.3.6.1.2.1.4.20.1.1.10.0.0.1 = IpAddress: 10.0.0.1
.1.3.6.1.2.1.1.5.0 = STRING: plain words
.1.3.6.1.2.1.1.9.0 = No more variables left in this MIB View (It is past the end of the MIB tree)
"#;
        let v = parse_snmpwalk(text).unwrap();
        assert_eq!(v.len(), 12);
        assert_eq!(
            v[0].1,
            Value::OctetString(Bytes::from_static(
                b"Cisco IOS Software\nTechnical Support: http://www.cisco.com/techsupport\nCopyright (c) 1986-2021 by \"Cisco\""
            ))
        );
        assert_eq!(v[1].1, Value::ObjectIdentifier(o("1.3.6.1.4.1.9.1.1208")));
        assert_eq!(v[2].1, Value::TimeTicks(12345));
        assert_eq!(v[3].1, Value::OctetString(Bytes::new()));
        assert_eq!(
            v[4].1,
            Value::OctetString(Bytes::from_static(&[0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]))
        );
        assert_eq!(v[5].1, Value::Integer(1));
        assert_eq!(v[6].1, Value::Integer(1500));
        assert_eq!(v[7].1, Value::Counter32(123));
        assert_eq!(v[8].1, Value::Counter64(12_345_678_901_234));
        assert_eq!(v[9].1, Value::Gauge32(1_000_000_000));
        assert_eq!(v[10].1, Value::IpAddress([10, 0, 0, 1]));
        assert_eq!(
            v[11].1,
            Value::OctetString(Bytes::from_static(b"plain words"))
        );
    }

    #[test]
    fn snmpwalk_errors_name_the_line() {
        let e = parse_snmpwalk(".1.3.6.1.1.0 = INTEGER: 1\n.1.3.6.1.2.0 = Counter32: lots\n")
            .unwrap_err();
        assert_eq!(e.0, 2);
        let e = parse_snmpwalk(".1.3.6.1.1.0 = STRING: \"never closed\n").unwrap_err();
        assert_eq!(e.0, 1);
        let e = parse_snmpwalk("garbage\n").unwrap_err();
        assert_eq!(e.0, 1);
    }
}
