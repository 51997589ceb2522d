//! Pure mapping from SNMP varbinds to the values octopoll exposes. Everything that could
//! fail a scrape (label escaping, value ranges) is settled here, at poll time.

use std::sync::Arc;

use crate::snmp::{Oid, Value};
use crate::table::Fetched;

/// IF-MIB / system OIDs used by the built-in `if_mib` module.
pub mod oids {
    /// system group scalars, in the order [`super::SystemInfo`] reads them.
    pub const SYSTEM: [&str; 5] = [
        "1.3.6.1.2.1.1.1.0", // sysDescr
        "1.3.6.1.2.1.1.2.0", // sysObjectID
        "1.3.6.1.2.1.1.3.0", // sysUpTime
        "1.3.6.1.2.1.1.5.0", // sysName
        "1.3.6.1.2.1.1.6.0", // sysLocation
    ];
    /// Interface columns walked on every poll, in [`super::IfColumn`] order.
    pub const IF_COLUMNS: [&str; 13] = [
        "1.3.6.1.2.1.2.2.1.2",     // ifDescr
        "1.3.6.1.2.1.2.2.1.7",     // ifAdminStatus
        "1.3.6.1.2.1.2.2.1.8",     // ifOperStatus
        "1.3.6.1.2.1.2.2.1.13",    // ifInDiscards
        "1.3.6.1.2.1.2.2.1.14",    // ifInErrors
        "1.3.6.1.2.1.2.2.1.19",    // ifOutDiscards
        "1.3.6.1.2.1.2.2.1.20",    // ifOutErrors
        "1.3.6.1.2.1.31.1.1.1.1",  // ifName
        "1.3.6.1.2.1.31.1.1.1.6",  // ifHCInOctets
        "1.3.6.1.2.1.31.1.1.1.10", // ifHCOutOctets
        "1.3.6.1.2.1.31.1.1.1.15", // ifHighSpeed
        "1.3.6.1.2.1.31.1.1.1.18", // ifAlias
        "1.3.6.1.2.1.2.2.1.1",     // ifIndex (so interfaces without ifDescr still appear)
    ];
    /// Which of [`IF_COLUMNS`] only give labels and inventory (names, alias, speed, the
    /// index itself): walked on the device's slower `refresh` cadence.
    pub const IF_LABEL_COLUMNS: [bool; 13] = [
        true, false, false, false, false, false, false, true, false, false, true, true, true,
    ];
    /// ifNumber.0 and ifTableLastChange.0: when either changes, the interface labels may
    /// be stale and are walked again at once.
    pub const IF_CHANGE_MARKERS: [&str; 2] = ["1.3.6.1.2.1.2.1.0", "1.3.6.1.2.1.31.1.5.0"];
    /// 32-bit octet counters, walked only when some interface lacks the 64-bit ones.
    pub const IF_COUNTERS32: [&str; 2] = [
        "1.3.6.1.2.1.2.2.1.10", // ifInOctets
        "1.3.6.1.2.1.2.2.1.16", // ifOutOctets
    ];

    use crate::snmp::Oid;
    use std::sync::LazyLock;

    fn parse_all(list: &[&str]) -> Vec<Oid> {
        list.iter()
            .map(|s| s.parse().expect("static OID"))
            .collect()
    }

    // Parsed once: a poll used to parse these strings again (1.5% of the poll's CPU).
    static SYSTEM_OIDS: LazyLock<Vec<Oid>> = LazyLock::new(|| parse_all(&SYSTEM));
    static SYSTEM_OBJECTS: LazyLock<Vec<Oid>> = LazyLock::new(|| {
        SYSTEM_OIDS
            .iter()
            .map(|o| Oid::from_arcs(&o.arcs()[..o.arcs().len() - 1]))
            .collect()
    });
    static IF_COLUMN_OIDS: LazyLock<Vec<Oid>> = LazyLock::new(|| parse_all(&IF_COLUMNS));
    static IF_COUNTERS32_OIDS: LazyLock<Vec<Oid>> = LazyLock::new(|| parse_all(&IF_COUNTERS32));
    static IF_CHANGE_MARKER_OIDS: LazyLock<Vec<Oid>> =
        LazyLock::new(|| parse_all(&IF_CHANGE_MARKERS));

    /// [`SYSTEM`], parsed.
    pub fn system() -> &'static [Oid] {
        &SYSTEM_OIDS
    }
    /// [`SYSTEM`] without the `.0`: GETNEXT of these returns the instances.
    pub fn system_objects() -> &'static [Oid] {
        &SYSTEM_OBJECTS
    }
    /// [`IF_COLUMNS`], parsed.
    pub fn if_columns() -> &'static [Oid] {
        &IF_COLUMN_OIDS
    }
    /// [`IF_COUNTERS32`], parsed.
    pub fn if_counters32() -> &'static [Oid] {
        &IF_COUNTERS32_OIDS
    }
    /// [`IF_CHANGE_MARKERS`], parsed.
    pub fn if_change_markers() -> &'static [Oid] {
        &IF_CHANGE_MARKER_OIDS
    }
}

/// Index into [`oids::IF_COLUMNS`].
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub enum IfColumn {
    Descr = 0,
    Admin,
    Oper,
    InDiscards,
    InErrors,
    OutDiscards,
    OutErrors,
    Name,
    HcIn,
    HcOut,
    HighSpeed,
    Alias,
    Index,
}

/// Escapes a label value for the text format (prometheus-client writes values verbatim).
pub fn escape_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `escape_label(&value.to_label())`, shared. A string of printable ASCII other than `\`
/// and `"` (most interface names and descriptions) is its own label: it is copied once,
/// where the general path allocates three times (a label refresh is most of its poll).
fn label(value: &Value) -> Arc<str> {
    if let Value::OctetString(b) | Value::Opaque(b) = value {
        if b.iter()
            .all(|&c| (0x20..0x7f).contains(&c) && c != b'\\' && c != b'"')
        {
            // Printable ASCII is UTF-8; the check cannot fail.
            if let Ok(s) = std::str::from_utf8(b) {
                return Arc::from(s);
            }
        }
    }
    escape_label(&value.to_label()).into()
}

/// The system group, label values already escaped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemInfo {
    /// sysName.0
    pub sys_name: String,
    /// sysDescr.0
    pub sys_descr: String,
    /// sysObjectID.0
    pub sys_object_id: String,
    /// sysLocation.0
    pub sys_location: String,
    /// sysUpTime.0, hundredths of a second.
    pub sys_uptime: Option<u32>,
}

impl SystemInfo {
    /// Builds from the fetched [`oids::SYSTEM`] instances (exceptions and missing values
    /// become empty).
    pub fn from_fetched(fetched: &Fetched) -> SystemInfo {
        let text = |i: usize| -> String {
            fetched
                .get(&oids::system()[i])
                .map(|v| escape_label(&v.to_label()))
                .unwrap_or_default()
        };
        SystemInfo {
            sys_descr: text(0),
            sys_object_id: text(1),
            sys_name: text(3),
            sys_location: text(4),
            sys_uptime: match fetched.get(&oids::system()[2]) {
                Some(Value::TimeTicks(t)) => Some(*t),
                _ => None,
            },
        }
    }

    /// sysObjectID as an OID (for module rules).
    pub fn object_id(&self) -> Option<Oid> {
        self.sys_object_id.parse().ok()
    }
}

/// One interface's values. `None` means the agent did not report that column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interface {
    /// ifIndex.
    pub index: u32,
    /// Escaped label values: ifIndex, ifName, ifDescr, ifAlias. Shared with the labels
    /// kept between label refreshes ([`InterfaceLabels`]): a poll that did not walk them
    /// labels its interfaces without copying a string.
    pub labels: [Arc<str>; 4],
    /// ifHCInOctets.
    pub hc_in: Option<u64>,
    /// ifHCOutOctets.
    pub hc_out: Option<u64>,
    /// ifInOctets, only when the 64-bit counter is missing.
    pub in32: Option<u64>,
    /// ifOutOctets, only when the 64-bit counter is missing.
    pub out32: Option<u64>,
    /// ifInErrors.
    pub in_errors: Option<u64>,
    /// ifOutErrors.
    pub out_errors: Option<u64>,
    /// ifInDiscards.
    pub in_discards: Option<u64>,
    /// ifOutDiscards.
    pub out_discards: Option<u64>,
    /// ifOperStatus.
    pub oper: Option<i64>,
    /// ifAdminStatus.
    pub admin: Option<i64>,
    /// ifHighSpeed, Mbit/s.
    pub high_speed: Option<u64>,
}

impl Interface {
    /// The ifName label (escaped), falling back to ifDescr.
    pub fn display_name(&self) -> &str {
        if self.labels[1].is_empty() {
            &self.labels[2]
        } else {
            &self.labels[1]
        }
    }

    /// True when the interface needs the 32-bit octet counters.
    pub fn lacks_hc(&self) -> bool {
        self.hc_in.is_none() || self.hc_out.is_none()
    }
}

/// Single-arc row index of `oid` under `column`, if that is its shape.
fn row_index(oid: &Oid, column: &Oid) -> Option<u32> {
    // Rows come from `Fetched::under` the column: no need to compare it again.
    debug_assert!(oid.starts_with(column));
    match oid.arcs().get(column.arcs().len()..)? {
        [i] => Some(*i),
        _ => None,
    }
}

/// Builds interfaces from the fetched [`oids::IF_COLUMNS`]. Counter values keep their
/// width: a Counter32 in a 64-bit column is ignored (names never lie about width).
pub fn interfaces_from(fetched: &Fetched) -> Vec<Interface> {
    let roots = oids::if_columns();
    let mut out: Vec<Interface> = Vec::new();
    for (col, root) in roots.iter().enumerate() {
        let mut cur = 0;
        for (oid, value) in fetched.under(root) {
            let Some(idx) = row_index(oid, root) else {
                continue;
            };
            let new = |index| {
                Some(Interface {
                    index,
                    labels: [index.to_string().into(), empty(), empty(), empty()],
                    ..Interface::default()
                })
            };
            if let Some(pos) = row_of(&mut out, cur, idx, new) {
                cur = pos + 1;
                apply_column(&mut out[pos], col, value);
            }
        }
    }
    // Kept until the next poll: not with the slack of its doublings (a quarter of a
    // 100,000-interface chassis' vector).
    out.shrink_to_fit();
    out
}

/// Where interface `idx` is in `out` (sorted by ifIndex), inserted with `new` when it is
/// not there (or not, when `new` gives nothing). Rows come in ifIndex order, so it is
/// looked for from `cur`, where the last one was found, and is most often there.
fn row_of(
    out: &mut Vec<Interface>,
    cur: usize,
    idx: u32,
    new: impl FnOnce(u32) -> Option<Interface>,
) -> Option<usize> {
    let ahead = out[cur.min(out.len())..]
        .iter()
        .position(|i| i.index >= idx)
        .map(|p| cur + p);
    let pos = match ahead {
        Some(p) if out[p].index == idx => Ok(p),
        // Out of order (an agent's choice): a search of the whole.
        _ if cur > 0 && out[cur - 1].index >= idx => out.binary_search_by_key(&idx, |i| i.index),
        Some(p) => Err(p),
        None => Err(out.len()),
    };
    match pos {
        Ok(p) => Some(p),
        Err(p) => {
            out.insert(p, new(idx)?);
            Some(p)
        }
    }
}

/// An interface's labels and ifHighSpeed (the label columns' part), without its values:
/// what a label refresh leaves for the polls until the next (an [`Interface`] is 248
/// bytes besides its strings; 10,000 devices keep 550,000). The label strings are shared with the
/// interfaces of every poll until the next refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceLabels {
    index: u32,
    high_speed: Option<u64>,
    /// As [`Interface::labels`].
    labels: [Arc<str>; 4],
}

impl InterfaceLabels {
    /// The labels of `iface`.
    pub fn of(iface: &Interface) -> InterfaceLabels {
        InterfaceLabels {
            index: iface.index,
            high_speed: iface.high_speed,
            labels: iface.labels.clone(),
        }
    }

    /// An interface with these labels and no values.
    fn interface(&self) -> Interface {
        Interface {
            index: self.index,
            labels: self.labels.clone(),
            high_speed: self.high_speed,
            ..Interface::default()
        }
    }
}

/// The empty label value (one allocation for all: an `Arc<str>` of nothing still has its
/// counts on the heap).
fn empty() -> Arc<str> {
    static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from("")).clone()
}

/// [`interfaces_from`] for a poll that walked only the value columns: the interfaces those
/// have, labelled from `labelled` (sorted by ifIndex: the labels of the last label walk's
/// interfaces) instead of decoding and escaping the kept label columns again, which
/// was a third of a poll's instructions. An ifIndex `labelled` lacks is left out; the
/// caller walks the labels again before that can happen.
pub fn interfaces_with_labels(fetched: &Fetched, labelled: &[InterfaceLabels]) -> Vec<Interface> {
    let roots = oids::if_columns();
    let mut out: Vec<Interface> = Vec::with_capacity(labelled.len());
    for (col, root) in roots.iter().enumerate() {
        if oids::IF_LABEL_COLUMNS[col] {
            continue;
        }
        let mut cur = 0;
        for (oid, value) in fetched.this_poll_under(root) {
            let Some(idx) = row_index(oid, root) else {
                continue;
            };
            let new = |index| {
                let k = labelled.binary_search_by_key(&index, |i| i.index).ok()?;
                Some(labelled[k].interface())
            };
            if let Some(pos) = row_of(&mut out, cur, idx, new) {
                cur = pos + 1;
                apply_column(&mut out[pos], col, value);
            }
        }
    }
    out
}

fn counter32(v: &Value) -> Option<u64> {
    match v {
        Value::Counter32(c) => Some(u64::from(*c)),
        _ => None,
    }
}

fn apply_column(iface: &mut Interface, col: usize, value: &Value) {
    const DESCR: usize = IfColumn::Descr as usize;
    const ADMIN: usize = IfColumn::Admin as usize;
    const OPER: usize = IfColumn::Oper as usize;
    const IN_DISC: usize = IfColumn::InDiscards as usize;
    const IN_ERR: usize = IfColumn::InErrors as usize;
    const OUT_DISC: usize = IfColumn::OutDiscards as usize;
    const OUT_ERR: usize = IfColumn::OutErrors as usize;
    const NAME: usize = IfColumn::Name as usize;
    const HC_IN: usize = IfColumn::HcIn as usize;
    const HC_OUT: usize = IfColumn::HcOut as usize;
    const SPEED: usize = IfColumn::HighSpeed as usize;
    const ALIAS: usize = IfColumn::Alias as usize;
    let int = |v: &Value| match v {
        Value::Integer(i) => Some(*i),
        _ => None,
    };
    match col {
        DESCR => iface.labels[2] = label(value),
        NAME => iface.labels[1] = label(value),
        ALIAS => iface.labels[3] = label(value),
        ADMIN => iface.admin = int(value),
        OPER => iface.oper = int(value),
        IN_DISC => iface.in_discards = counter32(value),
        IN_ERR => iface.in_errors = counter32(value),
        OUT_DISC => iface.out_discards = counter32(value),
        OUT_ERR => iface.out_errors = counter32(value),
        HC_IN => {
            if let Value::Counter64(c) = value {
                iface.hc_in = Some(*c)
            }
        }
        HC_OUT => {
            if let Value::Counter64(c) = value {
                iface.hc_out = Some(*c)
            }
        }
        SPEED => {
            if let Value::Gauge32(g) = value {
                iface.high_speed = Some(u64::from(*g))
            }
        }
        _ => {}
    }
}

/// Fills the 32-bit octet counters from the fetched [`oids::IF_COUNTERS32`], only for
/// interfaces that lack the 64-bit pair.
pub fn apply_counters32(ifaces: &mut [Interface], fetched: &Fetched) {
    let roots = oids::if_counters32();
    for (col, root) in roots.iter().enumerate() {
        for (oid, value) in fetched.under(root) {
            let Some(idx) = row_index(oid, &roots[col]) else {
                continue;
            };
            if let Ok(pos) = ifaces.binary_search_by_key(&idx, |i| i.index) {
                let iface = &mut ifaces[pos];
                if iface.lacks_hc() {
                    let v = counter32(value);
                    if col == 0 {
                        iface.in32 = v;
                    } else {
                        iface.out32 = v;
                    }
                }
            }
        }
    }
    // An interface keeps either both 64-bit counters or none, so a family never mixes widths
    // for one interface.
    for iface in ifaces.iter_mut() {
        if iface.lacks_hc() {
            iface.hc_in = None;
            iface.hc_out = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(s: &str) -> Oid {
        s.parse().unwrap()
    }

    fn col(root: &str, rows: &[(u32, Value)]) -> Vec<(Oid, Value)> {
        rows.iter()
            .map(|(i, v)| (o(&format!("{root}.{i}")), v.clone()))
            .collect()
    }

    fn walk(entries: &[(usize, Vec<(u32, Value)>)]) -> Fetched {
        let mut f = Fetched::default();
        for (c, rows) in entries {
            f.insert_walk(o(oids::IF_COLUMNS[*c]), col(oids::IF_COLUMNS[*c], rows));
        }
        f
    }

    fn fetched(cols: Vec<(&str, Vec<(Oid, Value)>)>) -> Fetched {
        let mut f = Fetched::default();
        for (root, rows) in cols {
            f.insert_walk(o(root), rows);
        }
        f
    }

    #[test]
    fn a_label_is_the_escaped_text_of_its_value_on_either_path() {
        // Every byte alone and between letters, and strings that take each path.
        let mut cases: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        cases.extend((0..=255u8).map(|b| vec![b'G', b'i', b, b'0']));
        for s in [
            "",
            "GigabitEthernet1/0/1",
            "uplink to \"core\" \\ rack 4",
            "Ethernet\n2",
            "trunk\0",
            "Überlauf",
            "tab\there",
        ] {
            cases.push(s.as_bytes().to_vec());
        }
        cases.push(vec![b'x', 0xff, 0xfe, b'y']);
        for b in cases {
            for v in [Value::OctetString(b.clone()), Value::Opaque(b.clone())] {
                assert_eq!(&*label(&v), escape_label(&v.to_label()), "{b:?}");
            }
        }
        for v in [Value::Integer(-3), Value::Gauge32(7), Value::Null] {
            assert_eq!(&*label(&v), escape_label(&v.to_label()));
        }
    }

    #[test]
    fn builds_interfaces_with_labels_and_64_bit_counters() {
        let cols = walk(&[
            (
                IfColumn::Descr as usize,
                vec![
                    (1, Value::OctetString(b"lo".to_vec())),
                    (2, Value::OctetString(b"eth0".to_vec())),
                ],
            ),
            (
                IfColumn::Name as usize,
                vec![(2, Value::OctetString(b"Gi1/0/1".to_vec()))],
            ),
            (
                IfColumn::Alias as usize,
                vec![(2, Value::OctetString(b"to \"core\"\n".to_vec()))],
            ),
            (
                IfColumn::HcIn as usize,
                vec![(1, Value::Counter64(5)), (2, Value::Counter64(u64::MAX))],
            ),
            (
                IfColumn::HcOut as usize,
                vec![(1, Value::Counter64(6)), (2, Value::Counter64(7))],
            ),
            (
                IfColumn::Oper as usize,
                vec![(1, Value::Integer(1)), (2, Value::Integer(2))],
            ),
            (
                IfColumn::HighSpeed as usize,
                vec![(2, Value::Gauge32(10000))],
            ),
        ]);
        let ifaces = interfaces_from(&cols);
        assert_eq!(ifaces.len(), 2);
        let eth0 = &ifaces[1];
        assert_eq!(
            eth0.labels.each_ref().map(|l| &**l),
            ["2", "Gi1/0/1", "eth0", "to \\\"core\\\""]
        );
        assert_eq!(eth0.hc_in, Some(u64::MAX));
        assert_eq!(eth0.oper, Some(2));
        assert_eq!(eth0.high_speed, Some(10000));
        assert_eq!(ifaces[0].display_name(), "lo");
    }

    #[test]
    fn kept_labels_give_the_interfaces_a_full_decode_gives() {
        // Labels of 40 interfaces (odd characters included), values for 38 of them (two
        // gone since the refresh) in columns of their own, some rows missing.
        let label = |i: u32| Value::OctetString(format!("Gi1/0/{i} \"x\"\n\\").into_bytes());
        let mut labels = Vec::new();
        for c in [IfColumn::Descr, IfColumn::Name, IfColumn::Alias] {
            labels.push((
                c as usize,
                (1..=40).map(|i| (i, label(i * c as u32))).collect(),
            ));
        }
        labels.push((
            IfColumn::HighSpeed as usize,
            (1..=40).map(|i| (i, Value::Gauge32(i * 10))).collect(),
        ));
        let mut values = Vec::new();
        for c in [IfColumn::HcIn, IfColumn::HcOut, IfColumn::InErrors] {
            values.push((
                c as usize,
                (3..=40)
                    .filter(|i| c as usize != IfColumn::InErrors as usize || i % 7 != 0)
                    .map(|i| (i, Value::Counter64(u64::from(i) << 40)))
                    .collect(),
            ));
        }
        values.push((
            IfColumn::Oper as usize,
            (3..=40)
                .map(|i| (i, Value::Integer(i64::from(i % 2))))
                .collect(),
        ));
        let all: Vec<_> = labels.iter().chain(&values).cloned().collect();
        let full: Vec<Interface> = interfaces_from(&walk(&all))
            .into_iter()
            .filter(|i| i.index >= 3)
            .collect();
        let labelled: Vec<InterfaceLabels> = interfaces_from(&walk(&labels))
            .iter()
            .map(InterfaceLabels::of)
            .collect();
        let kept = interfaces_with_labels(&walk(&values), &labelled);
        assert_eq!(kept.len(), 38);
        assert_eq!(kept, full);
        // An ifIndex the labels do not know is left out, not shown unlabelled.
        let mut more = values.clone();
        more[0].1.push((41, Value::Counter64(1)));
        assert_eq!(interfaces_with_labels(&walk(&more), &labelled), full);
        // Rows out of order (walks keep them increasing; decoding does not rely on it).
        let mut shuffled = values.clone();
        shuffled[3].1.reverse();
        shuffled[1].1.swap(0, 5);
        assert_eq!(interfaces_with_labels(&walk(&shuffled), &labelled), full);
        // The same for a walk of every column.
        let mut all_shuffled = all.clone();
        all_shuffled[0].1.reverse();
        all_shuffled[4].1.swap(2, 9);
        assert_eq!(
            interfaces_from(&walk(&all_shuffled)),
            interfaces_from(&walk(&all))
        );
    }

    #[test]
    fn counter32_in_a_64_bit_column_is_not_taken_as_64_bit() {
        let cols = walk(&[
            (IfColumn::HcIn as usize, vec![(1, Value::Counter32(5))]),
            (IfColumn::HcOut as usize, vec![(1, Value::Counter32(6))]),
        ]);
        let ifaces = interfaces_from(&cols);
        assert!(ifaces[0].lacks_hc());
    }

    #[test]
    fn falls_back_to_32_bit_octets_only_where_64_bit_missing() {
        let cols = walk(&[
            (
                IfColumn::Index as usize,
                vec![(1, Value::Integer(1)), (2, Value::Integer(2))],
            ),
            (IfColumn::HcIn as usize, vec![(1, Value::Counter64(100))]),
            (IfColumn::HcOut as usize, vec![(1, Value::Counter64(200))]),
        ]);
        let mut ifaces = interfaces_from(&cols);
        let c32 = fetched(vec![
            (
                oids::IF_COUNTERS32[0],
                col(
                    oids::IF_COUNTERS32[0],
                    &[
                        (1, Value::Counter32(1)),
                        (2, Value::Counter32(4_000_000_000)),
                    ],
                ),
            ),
            (
                oids::IF_COUNTERS32[1],
                col(
                    oids::IF_COUNTERS32[1],
                    &[(1, Value::Counter32(2)), (2, Value::Counter32(3))],
                ),
            ),
        ]);
        apply_counters32(&mut ifaces, &c32);
        assert_eq!((ifaces[0].hc_in, ifaces[0].in32), (Some(100), None));
        assert_eq!(
            (ifaces[1].hc_in, ifaces[1].in32, ifaces[1].out32),
            (None, Some(4_000_000_000), Some(3))
        );
    }

    #[test]
    fn half_a_64_bit_pair_falls_back_to_32_bit() {
        let cols = walk(&[(IfColumn::HcIn as usize, vec![(3, Value::Counter64(9))])]);
        let mut ifaces = interfaces_from(&cols);
        let c32 = fetched(vec![
            (
                oids::IF_COUNTERS32[0],
                col(oids::IF_COUNTERS32[0], &[(3, Value::Counter32(1))]),
            ),
            (
                oids::IF_COUNTERS32[1],
                col(oids::IF_COUNTERS32[1], &[(3, Value::Counter32(2))]),
            ),
        ]);
        apply_counters32(&mut ifaces, &c32);
        assert_eq!(
            (ifaces[0].hc_in, ifaces[0].in32, ifaces[0].out32),
            (None, Some(1), Some(2))
        );
    }

    #[test]
    fn system_info_from_get() {
        let vbs = vec![
            (
                o("1.3.6.1.2.1.1.1.0"),
                Value::OctetString(b"Linux box".to_vec()),
            ),
            (
                o("1.3.6.1.2.1.1.2.0"),
                Value::ObjectId(o("1.3.6.1.4.1.8072.3.2.10")),
            ),
            (o("1.3.6.1.2.1.1.3.0"), Value::TimeTicks(4242)),
            (o("1.3.6.1.2.1.1.5.0"), Value::OctetString(b"sw1".to_vec())),
            (o("1.3.6.1.2.1.1.6.0"), Value::NoSuchInstance),
        ];
        let mut f = Fetched::default();
        for (oid, v) in vbs {
            f.insert_point(oid, v);
        }
        let s = SystemInfo::from_fetched(&f);
        assert_eq!(s.sys_name, "sw1");
        assert_eq!(s.sys_object_id, "1.3.6.1.4.1.8072.3.2.10");
        assert_eq!(s.sys_uptime, Some(4242));
        assert_eq!(s.sys_location, "");
    }
}
