//! Multi-column table walks over GETBULK (GETNEXT on SNMPv1).
//!
//! Several columns advance together in one request; each column stops on its own at the
//! end of its subtree, on endOfMibView, or when the agent returns a non-increasing OID
//! (a broken agent that would otherwise loop forever). tooBig halves max-repetitions.

use super::{Oid, SnmpError, Value};

/// What a walk needs from an SNMP session; implemented by [`super::Session`] and by fakes
/// in tests.
pub trait Requester {
    /// True for SNMPv1 (no GETBULK).
    fn is_v1(&self) -> bool;
    /// GETBULK: the first `non_repeaters` OIDs get one GETNEXT each, the rest
    /// `max_repetitions`.
    fn get_bulk(
        &self,
        oids: &[Oid],
        non_repeaters: u32,
        max_repetitions: u32,
    ) -> impl std::future::Future<Output = Result<Vec<(Oid, Value)>, SnmpError>> + Send;
    /// GETNEXT of several OIDs in one PDU.
    fn get_next(
        &self,
        oids: &[Oid],
    ) -> impl std::future::Future<Output = Result<Vec<(Oid, Value)>, SnmpError>> + Send;
}

/// The rows of each walked column, plus anything odd the agent did that did not fail it.
#[derive(Debug, Default)]
pub struct Walked {
    /// One vector per requested column, in request order: (full OID, value).
    pub columns: Vec<Vec<(Oid, Value)>>,
    /// Non-fatal problems (e.g. a column cut short by a non-increasing OID).
    pub warnings: Vec<String>,
    /// Requests sent.
    pub requests: u32,
    /// The GETNEXT results of [`walk_columns_with`]'s scalars, in request order (fewer if
    /// the agent returned fewer).
    pub scalars: Vec<(Oid, Value)>,
}

/// Walks `columns` together. `row_limit` bounds the total varbinds kept (endless tables).
pub async fn walk_columns<R: Requester>(
    session: &R,
    columns: &[Oid],
    max_repetitions: u32,
    row_limit: usize,
) -> Result<Walked, SnmpError> {
    walk_columns_with(session, &[], columns, max_repetitions, row_limit).await
}

/// [`walk_columns`], with `scalars` riding along as non-repeaters of the first GETBULK
/// (one GETNEXT each: pass an object's OID to get its `.0` instance). A poll's system
/// group then costs no request of its own. Not on SNMPv1 (no GETBULK): `scalars` must be
/// empty there.
pub async fn walk_columns_with<R: Requester>(
    session: &R,
    scalars: &[Oid],
    columns: &[Oid],
    max_repetitions: u32,
    row_limit: usize,
) -> Result<Walked, SnmpError> {
    debug_assert!(scalars.is_empty() || !session.is_v1());
    let mut pending_scalars = scalars.len();
    let mut out = Walked {
        columns: vec![Vec::new(); columns.len()],
        ..Walked::default()
    };
    let mut cursors: Vec<Oid> = columns.to_vec();
    let mut active: Vec<usize> = (0..columns.len()).collect();
    let mut max_rep = max_repetitions.max(1);
    let mut total = 0usize;

    while !active.is_empty() {
        let mut request: Vec<Oid> = Vec::with_capacity(pending_scalars + active.len());
        request.extend_from_slice(&scalars[..pending_scalars]);
        request.extend(active.iter().map(|&c| cursors[c].clone()));
        out.requests += 1;
        let reply = if session.is_v1() {
            session.get_next(&request).await
        } else {
            session
                .get_bulk(&request, pending_scalars as u32, max_rep)
                .await
        };
        let varbinds = match reply {
            Ok(v) => v,
            Err(SnmpError::TooBig) if max_rep > 1 => {
                max_rep = (max_rep / 2).max(1);
                continue;
            }
            // SNMPv1 says "past the end of the MIB" with noSuchName on that varbind.
            Err(SnmpError::NoSuchName { index })
                if session.is_v1() && index >= 1 && (index as usize) <= active.len() =>
            {
                active.remove(index as usize - 1);
                continue;
            }
            Err(e) => return Err(e),
        };
        if varbinds.is_empty() {
            return Err(SnmpError::NoProgress(format!(
                "empty response while walking {}",
                columns[active[0]]
            )));
        }

        let mut varbinds = varbinds.into_iter();
        // Non-repeaters come first in the reply (RFC 3416 4.2.3); they are asked once.
        out.scalars.extend(varbinds.by_ref().take(pending_scalars));
        pending_scalars = 0;
        let width = active.len();
        let mut done = vec![false; width];
        let mut progressed = false;
        for (i, (oid, value)) in varbinds.enumerate() {
            let slot = i % width;
            if done[slot] {
                continue;
            }
            let c = active[slot];
            if matches!(value, Value::EndOfMibView) || !oid.starts_with(&columns[c]) {
                done[slot] = true;
                continue;
            }
            if oid <= cursors[c] {
                out.warnings.push(format!(
                    "agent returned non-increasing OID {oid} after {} while walking {}; column cut short",
                    cursors[c], columns[c]
                ));
                done[slot] = true;
                continue;
            }
            total += 1;
            if total > row_limit {
                return Err(SnmpError::TooManyRows {
                    oid: columns[c].to_string(),
                    limit: row_limit,
                });
            }
            cursors[c] = oid.clone();
            out.columns[c].push((oid, value));
            progressed = true;
        }
        let finished_any = done.iter().any(|d| *d);
        if !progressed && !finished_any {
            return Err(SnmpError::NoProgress(format!(
                "response advanced no column while walking {}",
                columns[active[0]]
            )));
        }
        let mut slot = 0;
        active.retain(|_| {
            let keep = !done[slot];
            slot += 1;
            keep
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// An in-memory agent: a sorted MIB, optional faults.
    struct Fake {
        mib: BTreeMap<Oid, Value>,
        v1: bool,
        /// Largest response (varbinds) before answering tooBig.
        too_big_above: usize,
        /// Answer with this OID forever (non-increasing agent).
        stuck_at: Option<Oid>,
        /// Return endOfMibView instead of walking past the last OID.
        end_of_mib: bool,
        calls: Mutex<Vec<u32>>,
    }

    impl Fake {
        fn new(entries: &[(&str, Value)]) -> Self {
            Fake {
                mib: entries
                    .iter()
                    .map(|(o, v)| (o.parse().unwrap(), v.clone()))
                    .collect(),
                v1: false,
                too_big_above: usize::MAX,
                stuck_at: None,
                end_of_mib: true,
                calls: Mutex::new(Vec::new()),
            }
        }

        fn next_of(&self, oid: &Oid) -> Option<(Oid, Value)> {
            if let Some(s) = &self.stuck_at {
                if oid >= s {
                    return Some((s.clone(), Value::Integer(0)));
                }
            }
            self.mib
                .range::<Oid, _>((std::ops::Bound::Excluded(oid), std::ops::Bound::Unbounded))
                .next()
                .map(|(o, v)| (o.clone(), v.clone()))
        }
    }

    impl Requester for Fake {
        fn is_v1(&self) -> bool {
            self.v1
        }

        async fn get_bulk(
            &self,
            oids: &[Oid],
            non_repeaters: u32,
            max_repetitions: u32,
        ) -> Result<Vec<(Oid, Value)>, SnmpError> {
            self.calls.lock().unwrap().push(max_repetitions);
            let (single, oids) = oids.split_at(non_repeaters as usize);
            if oids.len() * max_repetitions as usize > self.too_big_above {
                return Err(SnmpError::TooBig);
            }
            let mut out: Vec<(Oid, Value)> = single
                .iter()
                .map(|o| {
                    self.next_of(o)
                        .unwrap_or_else(|| (o.clone(), Value::EndOfMibView))
                })
                .collect();
            let mut cursors = oids.to_vec();
            for _ in 0..max_repetitions {
                for c in cursors.iter_mut() {
                    match self.next_of(c) {
                        Some((o, v)) => {
                            *c = o.clone();
                            out.push((o, v));
                        }
                        None if self.end_of_mib => out.push((c.clone(), Value::EndOfMibView)),
                        None => out.push(("1.3.6.1.6.3.1".parse().unwrap(), Value::Integer(1))),
                    }
                }
            }
            Ok(out)
        }

        async fn get_next(&self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
            self.calls.lock().unwrap().push(1);
            let mut out = Vec::new();
            for (i, o) in oids.iter().enumerate() {
                match self.next_of(o) {
                    Some(x) => out.push(x),
                    None => {
                        return Err(SnmpError::NoSuchName {
                            index: i as u32 + 1,
                        })
                    }
                }
            }
            Ok(out)
        }
    }

    fn table() -> Vec<(&'static str, Value)> {
        vec![
            ("1.3.6.1.2.1.2.2.1.2.1", Value::OctetString(b"lo".to_vec())),
            (
                "1.3.6.1.2.1.2.2.1.2.2",
                Value::OctetString(b"eth0".to_vec()),
            ),
            (
                "1.3.6.1.2.1.2.2.1.2.3",
                Value::OctetString(b"eth1".to_vec()),
            ),
            ("1.3.6.1.2.1.2.2.1.8.1", Value::Integer(1)),
            ("1.3.6.1.2.1.2.2.1.8.2", Value::Integer(1)),
            ("1.3.6.1.2.1.2.2.1.8.3", Value::Integer(2)),
            (
                "1.3.6.1.2.1.31.1.1.1.1.1",
                Value::OctetString(b"lo".to_vec()),
            ),
        ]
    }

    fn cols(c: &[&str]) -> Vec<Oid> {
        c.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn stops_at_end_of_subtree_per_column() {
        let fake = Fake::new(&table());
        let w = block_on(walk_columns(
            &fake,
            &cols(&["1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8"]),
            2,
            1000,
        ))
        .unwrap();
        assert_eq!(w.columns[0].len(), 3);
        assert_eq!(w.columns[1].len(), 3);
        assert_eq!(w.columns[1][2].1, Value::Integer(2));
        assert!(w.warnings.is_empty());
    }

    #[test]
    fn scalars_ride_along_once_as_non_repeaters() {
        let mut entries = table();
        entries.push(("1.3.6.1.2.1.1.1.0", Value::OctetString(b"box".to_vec())));
        entries.push(("1.3.6.1.2.1.1.3.0", Value::TimeTicks(42)));
        let mut fake = Fake::new(&entries);
        // Two rows per request at most: the walk needs several requests, and the first
        // one is refused once as tooBig, so the scalars must survive a retry too.
        fake.too_big_above = 4;
        let w = block_on(walk_columns_with(
            &fake,
            &cols(&["1.3.6.1.2.1.1.1", "1.3.6.1.2.1.1.3"]),
            &cols(&["1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8"]),
            4,
            1000,
        ))
        .unwrap();
        assert_eq!(
            w.scalars,
            vec![
                (
                    "1.3.6.1.2.1.1.1.0".parse().unwrap(),
                    Value::OctetString(b"box".to_vec())
                ),
                ("1.3.6.1.2.1.1.3.0".parse().unwrap(), Value::TimeTicks(42)),
            ]
        );
        assert_eq!(w.columns[0].len(), 3);
        assert_eq!(w.columns[1].len(), 3);
        assert_eq!(*fake.calls.lock().unwrap(), vec![4, 2, 2]);
    }

    #[test]
    fn stops_on_end_of_mib_view() {
        let fake = Fake::new(&table());
        let w = block_on(walk_columns(
            &fake,
            &cols(&["1.3.6.1.2.1.31.1.1.1.1"]),
            10,
            1000,
        ))
        .unwrap();
        assert_eq!(w.columns[0].len(), 1);
        assert_eq!(w.requests, 1);
    }

    #[test]
    fn end_of_table_without_end_of_mib_view() {
        let mut fake = Fake::new(&table());
        fake.end_of_mib = false;
        let w = block_on(walk_columns(
            &fake,
            &cols(&["1.3.6.1.2.1.31.1.1.1.1"]),
            10,
            1000,
        ))
        .unwrap();
        assert_eq!(w.columns[0].len(), 1);
    }

    #[test]
    fn non_increasing_oid_cuts_the_column_and_warns() {
        let mut fake = Fake::new(&table());
        fake.stuck_at = Some("1.3.6.1.2.1.2.2.1.2.2".parse().unwrap());
        let w = block_on(walk_columns(
            &fake,
            &cols(&["1.3.6.1.2.1.2.2.1.2"]),
            5,
            1000,
        ))
        .unwrap();
        assert_eq!(w.columns[0].len(), 2);
        assert_eq!(w.warnings.len(), 1, "{:?}", w.warnings);
        assert!(w.warnings[0].contains("non-increasing"));
    }

    #[test]
    fn too_big_halves_max_repetitions() {
        let mut fake = Fake::new(&table());
        fake.too_big_above = 4;
        let w = block_on(walk_columns(
            &fake,
            &cols(&["1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8"]),
            16,
            1000,
        ))
        .unwrap();
        assert_eq!(w.columns[0].len(), 3);
        let calls = fake.calls.lock().unwrap().clone();
        assert_eq!(&calls[..4], &[16, 8, 4, 2], "{calls:?}");
    }

    #[test]
    fn too_big_at_one_repetition_fails() {
        let mut fake = Fake::new(&table());
        fake.too_big_above = 0;
        let err = block_on(walk_columns(
            &fake,
            &cols(&["1.3.6.1.2.1.2.2.1.2"]),
            4,
            1000,
        ));
        assert_eq!(err.unwrap_err(), SnmpError::TooBig);
    }

    #[test]
    fn row_limit_stops_endless_tables() {
        let fake = Fake::new(&table());
        let err = block_on(walk_columns(&fake, &cols(&["1.3.6.1.2.1.2.2.1"]), 2, 4));
        assert!(matches!(err, Err(SnmpError::TooManyRows { limit: 4, .. })));
    }

    #[test]
    fn v1_walks_with_getnext_and_treats_no_such_name_as_end() {
        let mut fake = Fake::new(&table());
        fake.v1 = true;
        let w = block_on(walk_columns(
            &fake,
            &cols(&["1.3.6.1.2.1.2.2.1.8", "1.3.6.1.2.1.31.1.1.1.1"]),
            25,
            1000,
        ))
        .unwrap();
        assert_eq!(w.columns[0].len(), 3);
        assert_eq!(w.columns[1].len(), 1);
        assert!(fake.calls.lock().unwrap().iter().all(|&r| r == 1));
    }
}
