//! A device's MIB view as the responder sees it: an ordered sequence of OIDs, the value at
//! a position for a given instant, and a search by OID.

use async_snmp::{Oid, Value};
use std::cmp::Ordering;

/// The MIB view of one device. Positions `0..len()` hold strictly ascending OIDs.
pub(crate) trait View: Send + Sync + 'static {
    /// Number of served OIDs.
    fn len(&self) -> usize;

    /// The OID at position `i < len()`.
    fn oid(&self, i: usize) -> Oid;

    /// How the OID at position `i` compares with `oid` (a search step; views that compute
    /// their OIDs compare without building one).
    fn cmp_at(&self, i: usize, oid: &Oid) -> Ordering {
        self.oid(i).cmp(oid)
    }

    /// The value at position `i` when the simulator has been running `elapsed_ms`
    /// milliseconds (one instant per request, so a response is consistent).
    fn value(&self, i: usize, elapsed_ms: u64) -> Value;

    /// Position of `oid`, or where it would be inserted.
    fn position(&self, oid: &Oid) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.cmp_at(mid, oid) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Position of the first OID strictly greater than `oid`.
    fn next_after(&self, oid: &Oid) -> usize {
        match self.position(oid) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

/// A static device replayed from a recording: values exactly as recorded.
pub(crate) struct StaticView {
    pub(crate) oids: Vec<Oid>,
    pub(crate) values: Vec<Value>,
}

impl StaticView {
    /// Sort by OID; a later duplicate replaces an earlier one.
    pub(crate) fn new(mut entries: Vec<(Oid, Value)>) -> StaticView {
        // Stable sort keeps file order among duplicates, so "last wins" below.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut oids: Vec<Oid> = Vec::with_capacity(entries.len());
        let mut values: Vec<Value> = Vec::with_capacity(entries.len());
        for (oid, value) in entries {
            if oids.last() == Some(&oid) {
                if let Some(v) = values.last_mut() {
                    *v = value;
                }
            } else {
                oids.push(oid);
                values.push(value);
            }
        }
        StaticView { oids, values }
    }
}

impl View for StaticView {
    fn len(&self) -> usize {
        self.oids.len()
    }

    fn oid(&self, i: usize) -> Oid {
        self.oids[i].clone()
    }

    fn cmp_at(&self, i: usize, oid: &Oid) -> Ordering {
        self.oids[i].cmp(oid)
    }

    fn value(&self, i: usize, _elapsed_ms: u64) -> Value {
        self.values.get(i).cloned().unwrap_or(Value::NoSuchInstance)
    }
}
