//! What one poll fetched: walked subtrees and single instances, looked up by OID. Every
//! module of the device reads the same store, so an OID is fetched once however many
//! modules use it.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::snmp::{Oid, Value};

/// The varbinds of one poll, by OID.
#[derive(Debug, Default, Clone)]
pub struct Fetched {
    /// Walked subtrees by root. Roots never nest (a root under another is not walked), so
    /// the only root that can hold an OID is the greatest root at or before it.
    walks: BTreeMap<Oid, Vec<(Oid, Value)>>,
    /// Instances fetched one by one (GET, or GETNEXT riding in a GETBULK), outside every
    /// walked root.
    points: BTreeMap<Oid, Value>,
    /// Columns kept from an earlier poll (labels refreshed on a slower cadence), read when
    /// this poll did not fetch an OID itself. Their roots never overlap this poll's.
    base: Option<Arc<Fetched>>,
}

/// The rows of [`Fetched::this_poll_under`]: a walked root's slice, or the general case.
enum Under<'a, I> {
    Root(std::slice::Iter<'a, (Oid, Value)>),
    Any(I),
}

impl<'a, I: Iterator<Item = (&'a Oid, &'a Value)>> Iterator for Under<'a, I> {
    type Item = (&'a Oid, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Under::Root(rows) => rows.next().map(|(o, v)| (o, v)),
            Under::Any(rows) => rows.next(),
        }
    }
}

impl Fetched {
    /// Stores a walked subtree's rows (ascending, all under `root`). Points under it are
    /// dropped: the walk has them.
    pub fn insert_walk(&mut self, root: Oid, rows: Vec<(Oid, Value)>) {
        let inside: Vec<Oid> = self
            .points
            .range(&root..)
            .take_while(|(o, _)| o.starts_with(&root))
            .map(|(o, _)| o.clone())
            .collect();
        for o in inside {
            self.points.remove(&o);
        }
        self.walks.insert(root, rows);
    }

    /// Stores one instance (exceptions are not stored: the object is absent).
    pub fn insert_point(&mut self, oid: Oid, value: Value) {
        if value.is_exception() || self.covered(&oid) {
            return;
        }
        self.points.insert(oid, value);
    }

    /// True when a walked root holds `oid`'s subtree (so `oid` needs no fetch of its own).
    pub fn covered(&self, oid: &Oid) -> bool {
        self.root_of(oid).is_some()
    }

    /// True when `oid` was walked as a root or fetched as an instance.
    pub fn has(&self, oid: &Oid) -> bool {
        self.walks.contains_key(oid) || self.points.contains_key(oid) || self.covered(oid)
    }

    fn root_of(&self, oid: &Oid) -> Option<(&Oid, &Vec<(Oid, Value)>)> {
        self.walks
            .range::<Oid, _>((Bound::Unbounded, Bound::Included(oid)))
            .next_back()
            .filter(|(root, _)| oid.starts_with(root))
    }

    /// The value at exactly `oid` (from this poll, else from the kept columns).
    pub fn get(&self, oid: &Oid) -> Option<&Value> {
        if let Some((_, rows)) = self.root_of(oid) {
            return rows
                .binary_search_by(|(o, _)| o.cmp(oid))
                .ok()
                .map(|i| &rows[i].1);
        }
        self.points
            .get(oid)
            .or_else(|| self.base.as_ref().and_then(|b| b.get(oid)))
    }

    /// The rows of `column` when they lie together in one walked subtree (of this poll
    /// or, when this poll holds nothing under it, of the kept columns): a lookup then
    /// searches them by row without building the OID. `None` when they may be scattered.
    pub fn column(&self, column: &Oid) -> Option<&[(Oid, Value)]> {
        if let Some((_, rows)) = self.root_of(column) {
            let start = rows.partition_point(|(o, _)| o < column);
            let len = rows[start..].partition_point(|(o, _)| o.starts_with(column));
            return Some(&rows[start..start + len]);
        }
        let walked_below = self
            .walks
            .range::<Oid, _>((Bound::Excluded(column), Bound::Unbounded))
            .next()
            .is_some_and(|(root, _)| root.starts_with(column));
        let points_below = self
            .points
            .range::<Oid, _>((Bound::Included(column), Bound::Unbounded))
            .next()
            .is_some_and(|(o, _)| o.starts_with(column));
        if walked_below || points_below {
            return None;
        }
        match &self.base {
            Some(b) => b.column(column),
            None => Some(&[]),
        }
    }

    /// Reads columns kept from an earlier poll where this one has none.
    pub fn set_base(&mut self, base: Option<Arc<Fetched>>) {
        self.base = base;
    }

    /// Moves the walked subtrees of `roots` out into a store of their own (to keep them
    /// for later polls).
    pub fn take_walks(&mut self, roots: &[Oid]) -> Fetched {
        let mut out = Fetched::default();
        for r in roots {
            if let Some(rows) = self.walks.remove(r) {
                out.walks.insert(r.clone(), rows);
            }
        }
        out
    }

    /// Every varbind under `prefix` (or at it): this poll's in OID order, then the kept
    /// columns'.
    pub fn under<'a>(
        &'a self,
        prefix: &'a Oid,
    ) -> Box<dyn Iterator<Item = (&'a Oid, &'a Value)> + 'a> {
        let own = self.this_poll_under(prefix);
        match &self.base {
            Some(b) => Box::new(own.chain(b.under(prefix))),
            None => Box::new(own),
        }
    }

    /// Like [`Fetched::under`], without the kept columns.
    pub fn this_poll_under<'a>(
        &'a self,
        prefix: &'a Oid,
    ) -> impl Iterator<Item = (&'a Oid, &'a Value)> {
        // A walked root, the common case (a column): its rows are all there is, as roots
        // never nest and no point lies under a root. A plain slice, without the chain
        // below and its two searches: collecting a poll's ifIndexes through the chain was
        // a tenth of a poll's instructions.
        if let Some(rows) = self.walks.get(prefix) {
            return Under::Root(rows.iter());
        }
        // A root holding the prefix: the rows of its slice under the prefix; all its rows
        // when it is the prefix (the common case, a column walked: no compare per row).
        let holder = self.root_of(prefix).map(|(root, rows)| {
            let exact = root == prefix;
            let start = if exact {
                0
            } else {
                rows.partition_point(|(o, _)| o < prefix)
            };
            rows[start..]
                .iter()
                .take_while(move |(o, _)| exact || o.starts_with(prefix))
        });
        // Roots below the prefix: all their rows.
        let below = self
            .walks
            .range::<Oid, _>((Bound::Excluded(prefix), Bound::Unbounded))
            .take_while(move |(root, _)| root.starts_with(prefix))
            .flat_map(|(_, rows)| rows.iter());
        let points = self
            .points
            .range::<Oid, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(o, _)| o.starts_with(prefix));
        Under::Any(
            holder
                .into_iter()
                .flatten()
                .chain(below)
                .map(|(o, v)| (o, v))
                .chain(points),
        )
    }

    /// Varbinds this poll stored (not counting kept columns).
    pub fn len(&self) -> usize {
        self.walks.values().map(Vec::len).sum::<usize>() + self.points.len()
    }

    /// True when nothing was stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Walked subtrees kept from one poll to the polls after it (label columns between two
/// refreshes), stored compactly: a row as its arcs after the root and its value, instead
/// of a full inline [`Oid`] and an 80-byte [`Value`] (152 bytes a row before its string).
/// Kept for every device between polls, the full rows were the largest part of octopoll's
/// memory (1,000 devices × 55 interfaces: 51 MB of 120); [`KeptWalks::expand`] makes a
/// [`Fetched`] of them again for the poll that reads them.
#[derive(Debug, Default)]
pub struct KeptWalks {
    walks: Vec<KeptWalk>,
}

#[derive(Debug)]
struct KeptWalk {
    root: Oid,
    /// The arcs after `root` of every row, one row after the other.
    arcs: Box<[u32]>,
    /// Where each row's arcs end in `arcs`.
    ends: Box<[u32]>,
    values: Box<[KeptValue]>,
}

/// A [`Value`] in 24 bytes instead of 80 (its OBJECT IDENTIFIER variant holds an inline
/// [`Oid`]; kept, one is boxed).
#[derive(Debug)]
enum KeptValue {
    Integer(i64),
    OctetString(Box<[u8]>),
    ObjectId(Box<Oid>),
    IpAddress([u8; 4]),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    Counter64(u64),
    Opaque(Box<[u8]>),
    Null,
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
    Unknown,
}

impl From<Value> for KeptValue {
    fn from(v: Value) -> KeptValue {
        match v {
            Value::Integer(x) => KeptValue::Integer(x),
            Value::OctetString(b) => KeptValue::OctetString(b.into()),
            Value::ObjectId(o) => KeptValue::ObjectId(Box::new(o)),
            Value::IpAddress(a) => KeptValue::IpAddress(a),
            Value::Counter32(x) => KeptValue::Counter32(x),
            Value::Gauge32(x) => KeptValue::Gauge32(x),
            Value::TimeTicks(x) => KeptValue::TimeTicks(x),
            Value::Counter64(x) => KeptValue::Counter64(x),
            Value::Opaque(b) => KeptValue::Opaque(b.into()),
            Value::Null => KeptValue::Null,
            Value::NoSuchObject => KeptValue::NoSuchObject,
            Value::NoSuchInstance => KeptValue::NoSuchInstance,
            Value::EndOfMibView => KeptValue::EndOfMibView,
            Value::Unknown => KeptValue::Unknown,
        }
    }
}

impl KeptValue {
    fn value(&self) -> Value {
        match self {
            KeptValue::Integer(x) => Value::Integer(*x),
            KeptValue::OctetString(b) => Value::OctetString(b.to_vec()),
            KeptValue::ObjectId(o) => Value::ObjectId((**o).clone()),
            KeptValue::IpAddress(a) => Value::IpAddress(*a),
            KeptValue::Counter32(x) => Value::Counter32(*x),
            KeptValue::Gauge32(x) => Value::Gauge32(*x),
            KeptValue::TimeTicks(x) => Value::TimeTicks(*x),
            KeptValue::Counter64(x) => Value::Counter64(*x),
            KeptValue::Opaque(b) => Value::Opaque(b.to_vec()),
            KeptValue::Null => Value::Null,
            KeptValue::NoSuchObject => Value::NoSuchObject,
            KeptValue::NoSuchInstance => Value::NoSuchInstance,
            KeptValue::EndOfMibView => Value::EndOfMibView,
            KeptValue::Unknown => Value::Unknown,
        }
    }
}

impl KeptWalks {
    /// Keeps the walked subtrees of `fetched` (its points and kept base are not kept).
    pub fn keep(fetched: Fetched) -> KeptWalks {
        let walks = fetched
            .walks
            .into_iter()
            .map(|(root, rows)| {
                let mut arcs = Vec::new();
                let mut ends = Vec::with_capacity(rows.len());
                let mut values = Vec::with_capacity(rows.len());
                for (oid, value) in rows {
                    // Rows lie under their root (Fetched::insert_walk's contract).
                    arcs.extend_from_slice(oid.suffix_after(&root).unwrap_or_default());
                    ends.push(u32::try_from(arcs.len()).unwrap_or(u32::MAX));
                    values.push(KeptValue::from(value));
                }
                KeptWalk {
                    root,
                    arcs: arcs.into(),
                    ends: ends.into(),
                    values: values.into(),
                }
            })
            .collect();
        KeptWalks { walks }
    }

    /// The kept subtrees as a [`Fetched`] of walks again.
    pub fn expand(&self) -> Fetched {
        let mut out = Fetched::default();
        for w in &self.walks {
            let mut start = 0;
            let rows = w
                .ends
                .iter()
                .zip(w.values.iter())
                .map(|(&end, value)| {
                    let end = end as usize;
                    let oid = w.root.join(&w.arcs[start..end]);
                    start = end;
                    (oid, value.value())
                })
                .collect();
            out.walks.insert(w.root.clone(), rows);
        }
        out
    }

    /// Rows kept.
    pub fn len(&self) -> usize {
        self.walks.iter().map(|w| w.values.len()).sum()
    }

    /// True when nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_walks_expand_to_the_same_rows() {
        let mut f = Fetched::default();
        f.insert_walk(
            o("1.3.6.1.2.1.31.1.1.1.1"),
            vec![
                (
                    o("1.3.6.1.2.1.31.1.1.1.1.1"),
                    Value::OctetString(b"lo".to_vec()),
                ),
                (
                    o("1.3.6.1.2.1.31.1.1.1.1.300000"),
                    Value::OctetString(vec![]),
                ),
            ],
        );
        // Rows of several arcs (a string index), and a root with no rows.
        f.insert_walk(
            o("1.3.6.1.4.1.9.9.1"),
            vec![
                (o("1.3.6.1.4.1.9.9.1.2.3.104.105"), Value::Integer(-4)),
                (
                    o("1.3.6.1.4.1.9.9.1.2.4.104.105.106"),
                    Value::Counter64(u64::MAX),
                ),
            ],
        );
        f.insert_walk(o("1.3.6.1.2.1.2.2.1.2"), vec![]);
        // Every value type comes back as it was.
        let every = [
            Value::Integer(i64::MIN),
            Value::OctetString(b"x\0y".to_vec()),
            Value::ObjectId(o("1.3.6.1.4.1.9.1.1208")),
            Value::IpAddress([10, 0, 0, 1]),
            Value::Counter32(7),
            Value::Gauge32(8),
            Value::TimeTicks(9),
            Value::Counter64(10),
            Value::Opaque(vec![0x9f, 0x78, 4, 0, 0, 0, 0]),
            Value::Null,
            Value::NoSuchObject,
            Value::NoSuchInstance,
            Value::EndOfMibView,
            Value::Unknown,
        ];
        let n = every.len();
        f.insert_walk(
            o("1.3.6.1.4.1.8"),
            every
                .into_iter()
                .enumerate()
                .map(|(i, v)| (o(&format!("1.3.6.1.4.1.8.{i}")), v))
                .collect(),
        );
        assert!(std::mem::size_of::<KeptValue>() <= 24);
        f.insert_point(o("1.3.6.1.2.1.1.3.0"), Value::TimeTicks(5));
        let mut walks_only = f.clone();
        walks_only.points.clear();
        let kept = KeptWalks::keep(f);
        assert_eq!(kept.len(), 4 + n);
        assert_eq!(kept.expand().walks, walks_only.walks);
        assert!(KeptWalks::keep(Fetched::default()).is_empty());
    }

    fn o(s: &str) -> Oid {
        s.parse().unwrap()
    }

    #[test]
    fn lookups_across_walks_and_points() {
        let mut f = Fetched::default();
        f.insert_point(o("1.3.6.1.2.1.1.3.0"), Value::TimeTicks(5));
        f.insert_point(o("1.3.6.1.9.1.0"), Value::NoSuchObject);
        f.insert_walk(
            o("1.3.6.1.2.1.2.2.1.2"),
            vec![
                (
                    o("1.3.6.1.2.1.2.2.1.2.1"),
                    Value::OctetString(b"lo".to_vec()),
                ),
                (
                    o("1.3.6.1.2.1.2.2.1.2.2"),
                    Value::OctetString(b"e0".to_vec()),
                ),
            ],
        );
        f.insert_walk(
            o("1.3.6.1.2.1.2.2.1.8"),
            vec![(o("1.3.6.1.2.1.2.2.1.8.1"), Value::Integer(1))],
        );
        assert_eq!(
            f.get(&o("1.3.6.1.2.1.2.2.1.2.2")),
            Some(&Value::OctetString(b"e0".to_vec()))
        );
        assert_eq!(f.get(&o("1.3.6.1.2.1.2.2.1.2.3")), None);
        assert_eq!(f.get(&o("1.3.6.1.2.1.1.3.0")), Some(&Value::TimeTicks(5)));
        assert_eq!(f.get(&o("1.3.6.1.9.1.0")), None, "exceptions are absent");
        // A prefix above two walked roots sees both; one inside a root sees its slice.
        assert_eq!(f.under(&o("1.3.6.1.2.1.2.2.1")).count(), 3);
        assert_eq!(f.under(&o("1.3.6.1.2.1.2.2.1.2.2")).count(), 1);
        assert_eq!(f.under(&o("1.3.6.1.2.1")).count(), 4);
        // A walked root itself: its rows, in order (the slice's fast path).
        let root = o("1.3.6.1.2.1.2.2.1.2");
        let rows: Vec<_> = f.this_poll_under(&root).collect();
        assert_eq!(
            rows.iter().map(|(o, _)| o.to_string()).collect::<Vec<_>>(),
            ["1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2.1.2.2.1.2.2"]
        );
        assert!(f.covered(&o("1.3.6.1.2.1.2.2.1.8.7")));
        assert!(!f.covered(&o("1.3.6.1.2.1.2.2.1.9")));
        // A walk over a point replaces it.
        f.insert_walk(
            o("1.3.6.1.2.1.1"),
            vec![(o("1.3.6.1.2.1.1.3.0"), Value::TimeTicks(6))],
        );
        assert_eq!(f.get(&o("1.3.6.1.2.1.1.3.0")), Some(&Value::TimeTicks(6)));
        assert_eq!(f.len(), 4);
    }

    #[test]
    fn a_column_is_its_rows_only_when_they_lie_together() {
        let s = |b: &str| Value::OctetString(b.as_bytes().to_vec());
        let mut kept = Fetched::default();
        kept.insert_walk(
            o("1.3.6.1.2.1.31.1.1.1.1"),
            vec![(o("1.3.6.1.2.1.31.1.1.1.1.1"), s("lo"))],
        );
        let mut f = Fetched::default();
        f.insert_walk(
            o("1.3.6.1.2.1.2.2.1"),
            vec![
                (o("1.3.6.1.2.1.2.2.1.1.1"), Value::Integer(1)),
                (o("1.3.6.1.2.1.2.2.1.2.1"), s("lo")),
                (o("1.3.6.1.2.1.2.2.1.2.2"), s("e0")),
                (o("1.3.6.1.2.1.2.2.1.3.1"), Value::Integer(24)),
            ],
        );
        f.insert_point(o("1.3.6.1.4.1.9.1.7"), Value::Integer(7));
        f.set_base(Some(Arc::new(kept)));
        let rows = |c: &str| f.column(&o(c)).map(|r| r.len());
        assert_eq!(rows("1.3.6.1.2.1.2.2.1.2"), Some(2), "inside a walked root");
        assert_eq!(rows("1.3.6.1.2.1.2.2.1.9"), Some(0), "inside, and empty");
        assert_eq!(
            rows("1.3.6.1.2.1.31.1.1.1.1"),
            Some(1),
            "only the kept columns"
        );
        assert_eq!(rows("1.3.6.1.4.1.9.1"), None, "an instance under it");
        assert_eq!(rows("1.3.6.1.2.1.2"), None, "a walked root under it");
        assert_eq!(rows("1.3.6.1.4.1.8"), Some(0), "nothing anywhere");
    }
}
