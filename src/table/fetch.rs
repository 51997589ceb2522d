//! Running a plan against an SNMP session: the roots walked side by side (GETBULK, GETNEXT
//! on SNMPv1), `.0` instances riding in the first GETBULK as non-repeaters, the other
//! instances fetched with GET in batches. Only what the store lacks is asked for, so a
//! second pass (filters, the 32-bit counters, modules chosen after the device said what it
//! is) costs only its own varbinds.

use super::fetched::Fetched;
use crate::snmp::{walk_columns, walk_columns_with, Oid, Requester, Session, SnmpError, Value};

/// Columns walked side by side in one request; more wait for the next group. (An agent
/// that cannot answer so many answers tooBig, and the walk asks for fewer rows.)
pub const MAX_COLUMNS: usize = 32;
/// `.0` instances riding in the first GETBULK as non-repeaters.
pub const MAX_NON_REPEATERS: usize = 16;
/// OIDs per GET request (halved on tooBig).
pub const GET_BATCH: usize = 32;

/// What the engine needs from a session: walks, and GET of several instances.
pub trait Snmp: Requester + Sync {
    /// GET of several OIDs in one PDU; missing objects come back as exception values
    /// (SNMPv1's noSuchName is an error for the caller).
    fn get(
        &self,
        oids: &[Oid],
    ) -> impl std::future::Future<Output = Result<Vec<(Oid, Value)>, SnmpError>> + Send;
}

impl Snmp for Session {
    async fn get(&self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        Session::get(self, oids).await
    }
}

/// How to walk.
#[derive(Debug, Clone, Copy)]
pub struct WalkSettings {
    /// GETBULK max-repetitions to start with.
    pub max_repetitions: u32,
    /// Most rows one walk may return before the table is called endless.
    pub row_limit: usize,
}

/// Requests and non-fatal problems of a fetch.
#[derive(Debug, Default)]
pub struct FetchReport {
    /// Requests sent (walks and GETs).
    pub requests: u32,
    /// Things the agent did wrong that did not fail the poll.
    pub warnings: Vec<String>,
}

/// Fetches what `fetched` lacks of `roots` (walked) and `instances`.
pub async fn fetch<S: Snmp>(
    session: &S,
    roots: &[Oid],
    instances: &[Oid],
    settings: WalkSettings,
    fetched: &mut Fetched,
    report: &mut FetchReport,
) -> Result<(), SnmpError> {
    let roots: Vec<Oid> = roots.iter().filter(|r| !fetched.has(r)).cloned().collect();
    let mut instances: Vec<Oid> = instances
        .iter()
        .filter(|i| !fetched.has(i))
        .cloned()
        .collect();
    // `x.0` is what GETNEXT of `x` returns when it exists: it can ride along.
    let mut riders: Vec<Oid> = Vec::new();
    if !session.is_v1() && !roots.is_empty() {
        instances.retain(|i| {
            let rides = riders.len() < MAX_NON_REPEATERS && i.arcs().last() == Some(&0);
            if rides {
                riders.push(i.clone());
            }
            !rides
        });
    }
    let parents: Vec<Oid> = riders
        .iter()
        .map(|i| Oid::from_arcs(&i.arcs()[..i.arcs().len() - 1]))
        .collect();
    for (n, group) in roots.chunks(MAX_COLUMNS).enumerate() {
        let walked = if n == 0 && !parents.is_empty() {
            walk_columns_with(
                session,
                &parents,
                group,
                settings.max_repetitions,
                settings.row_limit,
            )
            .await?
        } else {
            walk_columns(session, group, settings.max_repetitions, settings.row_limit).await?
        };
        report.requests += walked.requests;
        report.warnings.extend(walked.warnings);
        if n == 0 {
            // The reply's non-repeaters come in request order; one that is not the
            // instance asked for means the object is absent.
            for (want, (got, value)) in riders.iter().zip(walked.scalars) {
                if *want == got {
                    fetched.insert_point(got, value);
                }
            }
        }
        for (root, rows) in group.iter().zip(walked.columns) {
            fetched.insert_walk(root.clone(), rows);
        }
    }
    get_all(session, &instances, fetched, report).await
}

/// GETs `oids` in batches. A batch answered tooBig is split; on SNMPv1 an OID answered
/// noSuchName is dropped and the rest asked again, so one missing object never hides the
/// others.
pub async fn get_all<S: Snmp>(
    session: &S,
    oids: &[Oid],
    fetched: &mut Fetched,
    report: &mut FetchReport,
) -> Result<(), SnmpError> {
    let mut queue: Vec<Vec<Oid>> = oids.chunks(GET_BATCH).rev().map(<[Oid]>::to_vec).collect();
    while let Some(mut batch) = queue.pop() {
        if batch.is_empty() {
            continue;
        }
        report.requests += 1;
        match session.get(&batch).await {
            Ok(vbs) => {
                for (oid, value) in vbs {
                    fetched.insert_point(oid, value);
                }
            }
            Err(SnmpError::TooBig) if batch.len() > 1 => {
                let tail = batch.split_off(batch.len() / 2);
                queue.push(tail);
                queue.push(batch);
            }
            Err(SnmpError::NoSuchName { index })
                if session.is_v1() && index >= 1 && index as usize <= batch.len() =>
            {
                batch.remove(index as usize - 1);
                queue.push(batch);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
