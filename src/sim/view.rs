//! A device's MIB view as the responder sees it: a sorted OID list and a way to get the
//! value at a position for a given instant.

use async_snmp::{Oid, Value};

/// The MIB view of one device.
pub(crate) trait View: Send + Sync + 'static {
    /// All served OIDs, strictly ascending.
    fn oids(&self) -> &[Oid];

    /// The value at position `i` of [`View::oids`] when the simulator has been running
    /// `elapsed_ms` milliseconds (one instant per request, so a response is consistent).
    fn value(&self, i: usize, elapsed_ms: u64) -> Value;

    /// Position of `oid`, or where it would be inserted.
    fn position(&self, oid: &Oid) -> Result<usize, usize> {
        self.oids().binary_search(oid)
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
    fn oids(&self) -> &[Oid] {
        &self.oids
    }

    fn value(&self, i: usize, _elapsed_ms: u64) -> Value {
        self.values.get(i).cloned().unwrap_or(Value::NoSuchInstance)
    }
}
