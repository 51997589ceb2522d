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
        // A root holding the prefix: the rows of its slice under the prefix.
        let holder = self.root_of(prefix).map(|(_, rows)| {
            let start = rows.partition_point(|(o, _)| o < prefix);
            rows[start..]
                .iter()
                .take_while(move |(o, _)| o.starts_with(prefix))
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
        holder
            .into_iter()
            .flatten()
            .chain(below)
            .map(|(o, v)| (o, v))
            .chain(points)
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

#[cfg(test)]
mod tests {
    use super::*;

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
