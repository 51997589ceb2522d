//! Multi-column table walks over GETBULK (GETNEXT on SNMPv1).
//!
//! Several columns advance together in one request; each column stops on its own at the
//! end of its subtree, on endOfMibView, or when the agent returns a non-increasing OID
//! (a broken agent that would otherwise loop forever). Each column is also bounded by a
//! row limit of its own, so a big device (100,000 interfaces × 13 columns) is not taken
//! for an endless table.
//!
//! Real agents cap their replies (Cisco IOS at about 1,500 bytes; pysnmp, and so snmpsim,
//! at 64 varbinds): a GETBULK for 13 columns × 25 repetitions comes back with about 40
//! varbinds, or as tooBig on agents that refuse instead of cutting. The walk learns what
//! the agent sends into [`ReplyLimits`], which outlive one walk (the [`Requester`] hands
//! them out, [`super::Session`] keeps them across polls): a truncated reply sets the ask
//! to just above what fits (the agent does not compute 325 varbinds to send 40); tooBig
//! makes later asks bisect, within the first poll, to the most whole rows the agent
//! answers, which is kept: later polls spend no request rediscovering it.

use std::sync::Mutex;

use super::{Oid, SnmpError, Value};

/// Rows one column may return before the walk calls the table endless: ten times the
/// interfaces of the biggest chassis in the field (100,000), and per column, so a device
/// that has them all in 13 columns is not mistaken for an endless table.
pub const DEFAULT_MAX_ROWS_PER_COLUMN: usize = 1_000_000;

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
    /// What this agent's replies are known to hold, kept from one walk to the next; `None`
    /// (the default) learns nothing and asks for the configured max-repetitions every time.
    fn reply_limits(&self) -> Option<&ReplyLimits> {
        None
    }
    /// [`Requester::get_bulk`] with the reply's varbinds handed to `sink` one by one as
    /// they are decoded: a walk's go straight into its columns' rows. The default calls
    /// `get_bulk`.
    fn get_bulk_each<S: VarbindSink + Send>(
        &self,
        oids: &[Oid],
        non_repeaters: u32,
        max_repetitions: u32,
        sink: &mut S,
    ) -> impl std::future::Future<Output = Result<(), SnmpError>> + Send
    where
        Self: Sync,
    {
        async move {
            for (oid, value) in self.get_bulk(oids, non_repeaters, max_repetitions).await? {
                sink.push(oid, value);
            }
            Ok(())
        }
    }
}

/// Takes a reply's varbinds, in order, as they are decoded.
pub trait VarbindSink {
    /// The next varbind of the reply being decoded.
    fn push(&mut self, oid: Oid, value: Value);
    /// The reply being decoded turned out malformed (it is dropped, and the request
    /// waits on for another): forget every varbind it pushed.
    fn discard(&mut self);
}

/// What one agent's GETBULK replies are known to hold, learned by walks and kept across
/// them (one per device). Shared by reference; the lock is never held across an await.
#[derive(Debug, Default)]
pub struct ReplyLimits {
    learned: Mutex<State>,
    /// Rows each column had in its last walk: the next walk allocates them at once
    /// instead of growing (and copying) its row vectors as the replies come.
    rows: Mutex<Vec<(Oid, usize)>>,
}

/// The shape of an ask, which an agent's refusals are kept per: its width (columns) and
/// whether it carries non-repeaters. An agent refuses by bytes and counts varbinds of
/// different sizes as the same: 78 varbinds of the 13 IF-MIB columns are refused where 80
/// counters fit, and the system group riding in a walk's first request (sysDescr) is
/// bigger than a row's varbinds. Kept together, what one shape learned made another ask
/// too little, or too much (a tooBig at every label refresh).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    width: u32,
    scalars: bool,
}

impl Shape {
    fn of(width: u32, non_repeaters: u32) -> Shape {
        Shape {
            width,
            scalars: non_repeaters > 0,
        }
    }
}

/// A shape's refusal bounds, in varbinds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Bounds {
    too_big_at: Option<u32>,
    fits: Option<u32>,
}

#[derive(Debug, Default)]
struct State {
    truncated_at: Option<u32>,
    refusals: Vec<(Shape, Bounds)>,
}

/// Shapes kept per device: a device walks a few dozen column sets at most; past that, a
/// new shape goes on asking what its nearest learned shape does.
const MAX_SHAPES: usize = 64;

impl State {
    /// The bounds of `shape`, or those of the nearest learned shape with non-repeaters
    /// alike (the widest of those narrower, else the narrowest of those wider): a walk of
    /// counters starts from what the 13-column walk learned, then learns its own.
    fn bounds(&self, shape: Shape) -> Bounds {
        let alike = || {
            self.refusals
                .iter()
                .filter(|(s, _)| s.scalars == shape.scalars)
        };
        if let Some((_, b)) = self.refusals.iter().find(|(s, _)| *s == shape) {
            return *b;
        }
        let below = alike()
            .filter(|(s, _)| s.width < shape.width)
            .max_by_key(|(s, _)| s.width);
        let above = alike()
            .filter(|(s, _)| s.width > shape.width)
            .min_by_key(|(s, _)| s.width);
        below
            .or(above)
            .or_else(|| self.refusals.first())
            .map_or(Bounds::default(), |(_, b)| *b)
    }

    /// `shape`'s bounds to update, seeded from the nearest shape when new.
    fn bounds_mut(&mut self, shape: Shape) -> Option<&mut Bounds> {
        let i = match self.refusals.iter().position(|(s, _)| *s == shape) {
            Some(i) => i,
            None if self.refusals.len() < MAX_SHAPES => {
                let seed = self.bounds(shape);
                self.refusals.push((shape, seed));
                self.refusals.len() - 1
            }
            None => return None,
        };
        Some(&mut self.refusals[i].1)
    }
}

/// The learned facts of a [`ReplyLimits`] for one shape of ask, in varbinds per reply
/// (not repetitions: one device's walks differ in width, 13 IF-MIB columns or a user
/// module's 2).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Learned {
    /// The most varbinds a reply carried when the agent cut it short (fewer than asked and
    /// no endOfMibView): the agent's capacity. Asks then go just beyond it (whole rows),
    /// so every reply stays full and the agent computes at most a row it does not send
    /// (plus what its capacity varies with the values).
    pub truncated_at: Option<u32>,
    /// The smallest ask (varbinds) of this shape the agent refused with tooBig.
    pub too_big_at: Option<u32>,
    /// The largest ask below `too_big_at` it answered since. Asks without non-repeaters
    /// bisect between the two, in whole rows, until no row lies between, then stay at
    /// `fits`: an agent that refuses is asked the most it answers, and from then on never
    /// asked more (each probe would cost a request). A walk's first request, carrying the
    /// system group, asks what fits and does not probe: it comes once per walk, so its
    /// probes would spread refusals over many polls.
    pub fits: Option<u32>,
}

impl ReplyLimits {
    /// What has been learned so far for asks `width` columns wide, with or without
    /// non-repeaters.
    pub fn learned(&self, width: u32, non_repeaters: u32) -> Learned {
        let state = self.lock();
        let b = state.bounds(Shape::of(width, non_repeaters));
        Learned {
            truncated_at: state.truncated_at,
            too_big_at: b.too_big_at,
            fits: b.fits,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.learned.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rows `column` had in its last walk (0 if never walked).
    fn rows_hint(&self, column: &Oid) -> usize {
        let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        rows.iter().find(|(c, _)| c == column).map_or(0, |r| r.1)
    }

    /// Remembers how many rows `column` had.
    fn note_rows(&self, column: &Oid, n: usize) {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = rows.iter_mut().find(|(c, _)| c == column) {
            r.1 = n;
        } else if rows.len() < 256 {
            // A device walks a few dozen columns at most; past that, remember no more.
            rows.push((column.clone(), n));
        }
    }

    /// The repetitions to ask for: `configured`, lowered by what the agent is known to send.
    fn repetitions(&self, configured: u32, non_repeaters: u32, width: u32) -> u32 {
        self.learned(width, non_repeaters)
            .repetitions(configured, non_repeaters, width)
    }

    /// Records the reply to an ask of `asked` varbinds `width` columns wide: `got`
    /// varbinds, `ended` if one of them was endOfMibView (then a short reply says nothing
    /// about the agent's capacity).
    fn note_reply(&self, width: u32, non_repeaters: u32, asked: u32, got: u32, ended: bool) {
        let mut state = self.lock();
        let shape = Shape::of(width, non_repeaters);
        if state.bounds(shape).too_big_at.is_some_and(|t| asked < t) {
            if let Some(b) = state.bounds_mut(shape) {
                b.fits = Some(b.fits.unwrap_or(0).max(asked));
            }
        }
        if ended || got == 0 {
            return;
        }
        if got < asked || state.truncated_at.is_some() {
            // Cut short: that is its capacity. A full reply to an ask that was lowered for
            // truncation: it holds more than thought, so the next ask grows by a row.
            state.truncated_at = Some(state.truncated_at.unwrap_or(0).max(got));
        }
    }

    /// Records tooBig for an ask of `asked` varbinds `width` columns wide.
    fn note_too_big(&self, width: u32, non_repeaters: u32, asked: u32) {
        let mut state = self.lock();
        let shape = Shape::of(width, non_repeaters);
        if let Some(b) = state.bounds_mut(shape) {
            let t = b.too_big_at.map_or(asked, |t| t.min(asked));
            b.too_big_at = Some(t);
            if b.fits.is_some_and(|f| f >= t) {
                // Bigger values than when it fitted: bisect again from below.
                b.fits = Some(t / 2);
            }
        }
    }
}

impl Learned {
    fn repetitions(&self, configured: u32, non_repeaters: u32, width: u32) -> u32 {
        let width = width.max(1);
        let rows = |varbinds: u32| varbinds.saturating_sub(non_repeaters) / width;
        let mut reps = configured.max(1);
        if let Some(t) = self.truncated_at {
            // Just beyond the most it ever sent, so every reply stays full.
            reps = reps.min((t + 1).saturating_sub(non_repeaters).div_ceil(width));
        }
        if let Some(hi) = self.too_big_at {
            // In whole rows of this walk's width: the most below the smallest refused ask,
            // and the most known to fit. Between them, probe halfway (rounded up); once
            // they meet, that is the most this agent answers. Judged in varbinds ("a row
            // apart"), a walk narrower than the one that learned stopped a row short: 8
            // columns with 71 known to fit and 78 refused asked 64, not 72.
            let best = rows(hi.saturating_sub(1));
            let known = rows(self.fits.unwrap_or(0));
            reps = reps.min(if best <= known {
                best
            } else if non_repeaters == 0 || known == 0 {
                known + (best - known).div_ceil(2)
            } else {
                known
            });
        }
        reps.max(1)
    }
}

/// Where a column's walk goes on: after its last row, or from the column itself.
fn last_oid<'a>(rows: &'a [(Oid, Value)], column: &'a Oid) -> &'a Oid {
    rows.last().map_or(column, |(oid, _)| oid)
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

/// One request's reply, put in its columns' rows as it is decoded: varbind `i` (after
/// the non-repeaters) belongs to the `i % width`-th active column (RFC 3416 4.2.3).
struct Rows<'w> {
    out: &'w mut Walked,
    columns: &'w [Oid],
    active: &'w [usize],
    scalars: usize,
    max_rows: usize,
    /// Per active column: its walk is over (end of its subtree, of the MIB, or an OID
    /// that did not increase).
    done: &'w mut Vec<bool>,
    /// Per active column: its rows before this reply (to discard a malformed one).
    lens: &'w mut Vec<usize>,
    scalars_before: usize,
    warnings_before: usize,
    /// Varbinds received, non-repeaters included.
    received: u32,
    /// The active column the next repetition's varbind belongs to.
    slot: usize,
    ended: bool,
    progressed: bool,
    too_many: Option<SnmpError>,
}

impl<'w> Rows<'w> {
    fn new(
        out: &'w mut Walked,
        columns: &'w [Oid],
        active: &'w [usize],
        scalars: usize,
        max_rows: usize,
        done: &'w mut Vec<bool>,
        lens: &'w mut Vec<usize>,
    ) -> Self {
        done.clear();
        done.resize(active.len(), false);
        lens.clear();
        lens.extend(active.iter().map(|&c| out.columns[c].len()));
        Rows {
            scalars_before: out.scalars.len(),
            warnings_before: out.warnings.len(),
            out,
            columns,
            active,
            scalars,
            max_rows,
            done,
            lens,
            received: 0,
            slot: 0,
            ended: false,
            progressed: false,
            too_many: None,
        }
    }
}

impl VarbindSink for Rows<'_> {
    fn push(&mut self, oid: Oid, value: Value) {
        let end = matches!(value, Value::EndOfMibView);
        self.ended |= end;
        self.received += 1;
        if self.received as usize <= self.scalars {
            self.out.scalars.push((oid, value));
            return;
        }
        let slot = self.slot;
        self.slot = if slot + 1 == self.active.len() {
            0
        } else {
            slot + 1
        };
        if self.done[slot] || self.too_many.is_some() {
            return;
        }
        let c = self.active[slot];
        let column = &self.columns[c];
        if end || !oid.starts_with(column) {
            self.done[slot] = true;
            return;
        }
        let rows = &mut self.out.columns[c];
        let last = last_oid(rows, column);
        // Both lie under `column` (its rows were checked so): compare what follows it.
        let n = column.arcs().len();
        if oid.arcs()[n..] <= last.arcs()[n..] {
            self.out.warnings.push(format!(
                "agent returned non-increasing OID {oid} after {last} while walking {column}; column cut short"
            ));
            self.done[slot] = true;
            return;
        }
        if rows.len() >= self.max_rows {
            self.too_many = Some(SnmpError::TooManyRows {
                oid: column.to_string(),
                limit: self.max_rows,
            });
            return;
        }
        rows.push((oid, value));
        self.progressed = true;
    }

    fn discard(&mut self) {
        for (&c, &n) in self.active.iter().zip(self.lens.iter()) {
            self.out.columns[c].truncate(n);
        }
        self.out.scalars.truncate(self.scalars_before);
        self.out.warnings.truncate(self.warnings_before);
        self.done.iter_mut().for_each(|d| *d = false);
        self.received = 0;
        self.slot = 0;
        self.ended = false;
        self.progressed = false;
        self.too_many = None;
    }
}

/// Walks `columns` together. `max_rows_per_column` bounds the rows kept of each column
/// (endless tables; [`DEFAULT_MAX_ROWS_PER_COLUMN`] unless configured): one column over it
/// fails the walk with [`SnmpError::TooManyRows`] naming that column.
pub async fn walk_columns<R: Requester + Sync>(
    session: &R,
    columns: &[Oid],
    max_repetitions: u32,
    max_rows_per_column: usize,
) -> Result<Walked, SnmpError> {
    walk_columns_with(session, &[], columns, max_repetitions, max_rows_per_column).await
}

/// [`walk_columns`], with `scalars` riding along as non-repeaters of the first GETBULK
/// (one GETNEXT each: pass an object's OID to get its `.0` instance). A poll's system
/// group then costs no request of its own. Not on SNMPv1 (no GETBULK): `scalars` must be
/// empty there.
///
/// `max_repetitions` is the most ever asked; the session's [`ReplyLimits`] (if any) lower
/// it to what the agent is known to send, and learn from this walk's replies.
pub async fn walk_columns_with<R: Requester + Sync>(
    session: &R,
    scalars: &[Oid],
    columns: &[Oid],
    max_repetitions: u32,
    max_rows_per_column: usize,
) -> Result<Walked, SnmpError> {
    debug_assert!(scalars.is_empty() || !session.is_v1());
    let v1 = session.is_v1();
    let limits = if v1 { None } else { session.reply_limits() };
    let mut pending_scalars = scalars.len();
    let mut out = Walked {
        columns: columns
            .iter()
            .map(|c| {
                // A little room over last time's rows: a table that grew by a few
                // interfaces is not copied to grow.
                let n = limits.map_or(0, |l| l.rows_hint(c));
                Vec::with_capacity(if n == 0 { 0 } else { n + n / 16 + 1 })
            })
            .collect(),
        ..Walked::default()
    };
    let mut active: Vec<usize> = (0..columns.len()).collect();
    let mut max_rep = max_repetitions.max(1);
    let mut request: Vec<Oid> = Vec::with_capacity(scalars.len() + columns.len());
    let mut done: Vec<bool> = Vec::with_capacity(columns.len());
    let mut lens: Vec<usize> = Vec::with_capacity(columns.len());
    // The last reply was full to an ask lowered from what was learned: ask what is
    // configured once (see below).
    let mut probe = false;

    while !active.is_empty() {
        // Columns that are behind go first. A reply cut by the agent's size cap ends
        // mid-row, so the columns at the front of a request get one row more than those
        // at the back; always in the same order, the first column of a 30,000-row table
        // ended thousands of rows before the last, which then went on alone at a few
        // varbinds per request (6,272 requests instead of 6,168 measured).
        active.sort_by_key(|&c| out.columns[c].len());
        request.clear();
        request.extend_from_slice(&scalars[..pending_scalars]);
        // Each column goes on from its last row (from the column itself at first).
        request.extend(
            active
                .iter()
                .map(|&c| last_oid(&out.columns[c], &columns[c]).clone()),
        );
        let non_repeaters = pending_scalars as u32;
        let width = active.len() as u32;
        // With limits to learn into, they drive the ask (bisecting after tooBig); without,
        // tooBig halves it for this walk only.
        let reps = match limits {
            Some(_) if probe => max_rep,
            Some(l) => l.repetitions(max_repetitions, non_repeaters, width),
            None => max_rep,
        };
        probe = false;
        let asked = non_repeaters.saturating_add(reps.saturating_mul(width));
        out.requests += 1;
        let mut rows = Rows::new(
            &mut out,
            columns,
            &active,
            pending_scalars,
            max_rows_per_column,
            &mut done,
            &mut lens,
        );
        let result = if v1 {
            match session.get_next(&request).await {
                Ok(reply) => {
                    for (oid, value) in reply {
                        rows.push(oid, value);
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            }
        } else {
            session
                .get_bulk_each(&request, non_repeaters, reps, &mut rows)
                .await
        };
        let (got, ended, progressed) = (rows.received, rows.ended, rows.progressed);
        let too_many = rows.too_many.take();
        match result {
            Ok(()) => {}
            Err(SnmpError::TooBig) if reps > 1 => {
                max_rep = (reps / 2).max(1);
                if let Some(l) = limits {
                    l.note_too_big(width, non_repeaters, asked);
                }
                continue;
            }
            // SNMPv1 says "past the end of the MIB" with noSuchName on that varbind.
            Err(SnmpError::NoSuchName { index })
                if v1 && index >= 1 && (index as usize) <= active.len() =>
            {
                active.remove(index as usize - 1);
                continue;
            }
            Err(e) => return Err(e),
        }
        if let Some(e) = too_many {
            return Err(e);
        }
        if got == 0 {
            return Err(SnmpError::NoProgress(format!(
                "empty response while walking {}",
                columns[active[0]]
            )));
        }
        if let Some(l) = limits {
            // Full, to an ask lowered for truncation: these columns' varbinds are smaller
            // than those the capacity was learned on (a poll of counters without the label
            // columns). One ask of the configured size makes the agent cut at its capacity
            // for them, learned from then on; growing a row per request would take many.
            // Not for an agent that refuses (each probe would be a tooBig).
            let learned = l.learned(width, non_repeaters);
            probe = !ended
                && got == asked
                && reps < max_rep
                && learned.truncated_at.is_some()
                && learned.too_big_at.is_none();
            l.note_reply(width, non_repeaters, asked, got, ended);
        }
        // Non-repeaters come first in the reply (RFC 3416 4.2.3); they are asked once.
        pending_scalars = 0;
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
    if let Some(l) = limits {
        for (c, rows) in columns.iter().zip(&out.columns) {
            l.note_rows(c, rows.len());
        }
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
        /// Cut GETBULK replies to this many varbinds (a capped agent).
        truncate_at: usize,
        /// Learned limits handed to the walk (a session's).
        limits: Option<ReplyLimits>,
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
                truncate_at: usize::MAX,
                limits: None,
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

        fn reply_limits(&self) -> Option<&ReplyLimits> {
            self.limits.as_ref()
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
            out.truncate(self.truncate_at);
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

    /// Before each reply, a malformed one whose first varbinds decoded (wrong values,
    /// a non-increasing OID, an endOfMibView) and which the session then threw away.
    struct Malformed(Fake);

    impl Requester for Malformed {
        fn is_v1(&self) -> bool {
            false
        }

        async fn get_bulk(
            &self,
            oids: &[Oid],
            non_repeaters: u32,
            max_repetitions: u32,
        ) -> Result<Vec<(Oid, Value)>, SnmpError> {
            self.0.get_bulk(oids, non_repeaters, max_repetitions).await
        }

        async fn get_next(&self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
            self.0.get_next(oids).await
        }

        async fn get_bulk_each<S: VarbindSink + Send>(
            &self,
            oids: &[Oid],
            non_repeaters: u32,
            max_repetitions: u32,
            sink: &mut S,
        ) -> Result<(), SnmpError> {
            let reply = self.get_bulk(oids, non_repeaters, max_repetitions).await?;
            for (i, (oid, _)) in reply.iter().enumerate() {
                let junk = match i % 3 {
                    0 => Value::Integer(-1),
                    1 => Value::EndOfMibView,
                    _ => Value::Null,
                };
                sink.push(if i == 2 { oids[0].clone() } else { oid.clone() }, junk);
            }
            sink.discard();
            for (oid, value) in reply {
                sink.push(oid, value);
            }
            Ok(())
        }
    }

    #[test]
    fn a_discarded_reply_leaves_no_trace() {
        let columns = cols(&["1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8"]);
        let scalars = cols(&["1.3.6.1.2.1.2.2.1.2.2"]);
        let plain = block_on(walk_columns_with(
            &Fake::new(&table()),
            &scalars,
            &columns,
            2,
            1000,
        ))
        .unwrap();
        let w = block_on(walk_columns_with(
            &Malformed(Fake::new(&table())),
            &scalars,
            &columns,
            2,
            1000,
        ))
        .unwrap();
        assert_eq!(w.columns, plain.columns);
        assert_eq!(w.scalars, plain.scalars);
        assert_eq!(w.requests, plain.requests);
        assert!(w.warnings.is_empty(), "{:?}", w.warnings);
        assert_eq!(w.columns[0].len(), 3);
        assert_eq!(w.scalars.len(), 1);
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
        assert_eq!(
            err.unwrap_err(),
            SnmpError::TooManyRows {
                oid: "1.3.6.1.2.1.2.2.1".into(),
                limit: 4
            }
        );
    }

    /// A table of `rows` rows in each of `columns` columns (ifTable-like, column 1..).
    fn big_table(columns: u32, rows: u32) -> Fake {
        let mut fake = Fake::new(&[]);
        for c in 1..=columns {
            for r in 1..=rows {
                fake.mib.insert(
                    Oid::from_arcs([1, 3, 6, 1, 2, 1, 2, 2, 1, c, r]),
                    Value::Counter32(r),
                );
            }
        }
        fake
    }

    fn columns_of(n: u32) -> Vec<Oid> {
        (1..=n)
            .map(|c| Oid::from_arcs([1, 3, 6, 1, 2, 1, 2, 2, 1, c]))
            .collect()
    }

    #[test]
    fn row_limit_is_per_column() {
        // 13 columns of 300 rows: 3,900 rows in all, under a limit of 300 per column
        // (the old guard counted all columns together and called this endless).
        let fake = big_table(13, 300);
        let w = block_on(walk_columns(&fake, &columns_of(13), 25, 300)).unwrap();
        assert!(w.columns.iter().all(|c| c.len() == 300));
        // One row more than the limit in every column: the first column to trip is named.
        let err = block_on(walk_columns(&fake, &columns_of(13), 25, 299)).unwrap_err();
        assert_eq!(
            err,
            SnmpError::TooManyRows {
                oid: "1.3.6.1.2.1.2.2.1.1".into(),
                limit: 299
            }
        );
        assert!(err.to_string().contains("1.3.6.1.2.1.2.2.1.1"), "{err}");
        assert!(err.to_string().contains("299"), "{err}");
    }

    #[test]
    fn repetitions_from_what_was_learned() {
        // (truncated_at, too_big_at, fits, configured, non-repeaters, width) -> repetitions
        let cases = [
            (None, None, None, 25, 0, 13, 25),
            (Some(40), None, None, 25, 0, 13, 4), // ceil(41 / 13)
            (Some(38), None, None, 25, 0, 13, 3), // 39 = three rows
            (Some(39), None, None, 25, 0, 13, 4), // one more varbind: a row more
            (Some(40), None, None, 25, 6, 13, 3), // the non-repeaters take room too
            (Some(40), None, None, 3, 0, 13, 3),  // never above the configured
            (None, Some(331), None, 25, 6, 13, 12), // 24 rows below 331: halfway to none
            (None, Some(162), None, 25, 6, 13, 6), // 11 rows below 162: 6 (84 varbinds)
            (None, Some(71), Some(32), 25, 0, 13, 4), // between 2 and 5 rows: 4 (52 < 71)
            (None, Some(66), Some(52), 25, 0, 13, 5), // 5 rows = 65 < 66 not yet asked
            (None, Some(65), Some(52), 25, 0, 13, 4), // no row between: stay at what fits
            (None, Some(60), Some(45), 25, 0, 13, 4), // 4 rows = 52 < 60: probed
            (None, Some(60), Some(52), 25, 6, 13, 3), // with scalars 6 + 4 rows = 58 is not
            (None, Some(78), Some(71), 25, 0, 8, 9), // narrower: 72 < 78 not yet asked
            (None, Some(78), Some(72), 25, 0, 8, 9), // and once it fitted, kept
            (None, Some(85), Some(46), 25, 7, 13, 3), // with scalars: what fits, no probe
            (None, Some(85), None, 25, 7, 13, 3), // unless nothing is known to fit
            (None, Some(14), None, 25, 0, 13, 1), // at least one
            (Some(400), Some(66), Some(52), 25, 0, 13, 5),
            (Some(3), None, None, 25, 0, 0, 4), // width 0 is taken as 1
        ];
        for (truncated_at, too_big_at, fits, configured, nr, width, want) in cases {
            let l = Learned {
                truncated_at,
                too_big_at,
                fits,
            };
            assert_eq!(
                l.repetitions(configured, nr, width),
                want,
                "{l:?} configured {configured} nr {nr} width {width}"
            );
        }
    }

    #[test]
    fn truncated_replies_set_the_ask_and_keep_it() {
        // An agent that sends at most 40 varbinds whatever it is asked (4 columns).
        let mut fake = big_table(4, 100);
        fake.truncate_at = 40;
        fake.limits = Some(ReplyLimits::default());
        let cols = columns_of(4);
        let first = block_on(walk_columns(&fake, &cols, 25, 1000)).unwrap();
        assert!(first.columns.iter().all(|c| c.len() == 100));
        let asks = std::mem::take(&mut *fake.calls.lock().unwrap());
        assert_eq!(asks[0], 25, "nothing learned yet: {asks:?}");
        // Learned from the first reply: 40 varbinds = 10 rows; ask 11, just beyond.
        assert!(asks[1..].iter().all(|&r| r == 11), "{asks:?}");
        assert_eq!(
            fake.limits.as_ref().unwrap().learned(4, 0).truncated_at,
            Some(40)
        );
        // The second walk asks 11 from its first request and needs no more requests.
        let second = block_on(walk_columns(&fake, &cols, 25, 1000)).unwrap();
        assert!(second.columns.iter().all(|c| c.len() == 100));
        let asks2 = fake.calls.lock().unwrap().clone();
        assert!(asks2.iter().all(|&r| r == 11), "{asks2:?}");
        assert_eq!(second.requests, first.requests);
        // 400 rows at 40 per reply: 10 full replies and one that sees the end.
        assert_eq!(second.requests, 11);
    }

    #[test]
    fn replies_cut_mid_row_keep_the_columns_together() {
        // 10 varbinds per reply, 4 columns: every reply ends mid-row. Columns must stay
        // within a row of each other, or the last one ends up alone at 3 per request.
        let mut fake = big_table(4, 100);
        fake.truncate_at = 10;
        let w = block_on(walk_columns(&fake, &columns_of(4), 3, 1000)).unwrap();
        assert!(w.columns.iter().all(|c| c.len() == 100));
        // 400 varbinds at 10 per reply, and one request that sees the end.
        assert!(w.requests <= 41, "{} requests", w.requests);
    }

    #[test]
    fn full_replies_grow_a_learned_ask() {
        // Learned 20 in an earlier poll; the agent now sends 40.
        let mut fake = big_table(4, 100);
        fake.truncate_at = 40;
        let limits = ReplyLimits::default();
        limits.note_reply(4, 0, 100, 20, false);
        fake.limits = Some(limits);
        let w = block_on(walk_columns(&fake, &columns_of(4), 25, 1000)).unwrap();
        assert!(w.columns.iter().all(|c| c.len() == 100));
        let asks = fake.calls.lock().unwrap().clone();
        assert_eq!(asks[0], 6, "{asks:?}"); // ceil(21 / 4): full, so
        assert_eq!(asks[1], 25, "{asks:?}"); // one ask of the configured size, cut at 40,
        assert!(asks[2..].iter().all(|&a| a == 11), "{asks:?}"); // then ceil(41 / 4)
        assert_eq!(
            fake.limits.as_ref().unwrap().learned(4, 0).truncated_at,
            Some(40)
        );
        // 24, then 40 per request for the remaining 376 varbinds: 10 more.
        assert!(w.requests <= 12, "{asks:?}");
    }

    #[test]
    fn too_big_is_learned_once() {
        // An agent that answers tooBig above 60 varbinds (13 columns of 100 rows).
        let mut fake = big_table(13, 100);
        fake.too_big_above = 60;
        fake.limits = Some(ReplyLimits::default());
        let cols = columns_of(13);
        let first = block_on(walk_columns(&fake, &cols, 25, 1000)).unwrap();
        assert!(first.columns.iter().all(|c| c.len() == 100));
        let asks = std::mem::take(&mut *fake.calls.lock().unwrap());
        // Bisecting in rows of 13: 325, 156 and 78 refused, 39 and 52 fit, 65 refused; no
        // whole row lies between 52 and 65: 4 repetitions from then on, the most whole
        // rows that fit in 60.
        assert_eq!(&asks[..6], &[25, 12, 6, 3, 4, 5], "{asks:?}");
        assert!(asks[6..].iter().all(|&r| r == 4), "{asks:?}");
        let learned = fake.limits.as_ref().unwrap().learned(13, 0);
        assert_eq!((learned.too_big_at, learned.fits), (Some(65), Some(52)));
        // The next walk asks 4 from its first request and is never refused.
        let second = block_on(walk_columns(&fake, &cols, 25, 1000)).unwrap();
        assert!(second.columns.iter().all(|c| c.len() == 100));
        let asks2 = fake.calls.lock().unwrap().clone();
        assert!(asks2.iter().all(|&r| r == 4), "no tooBig again: {asks2:?}");
        // 1,300 rows at 52 per request, and one that sees the end; the first walk had its
        // four refused requests more (its ask of 39 cost none).
        assert_eq!(second.requests, 26);
        assert_eq!(first.requests, second.requests + 4);
    }

    #[test]
    fn a_narrower_walk_asks_every_whole_row_below_the_refused_ask() {
        // Learned on 13 columns: 65 fit, 78 refused. A walk of 8 columns probes 72 (nine
        // rows, below 78) and keeps it; the agent here answers up to 75.
        let mut fake = big_table(8, 100);
        fake.too_big_above = 75;
        let limits = ReplyLimits::default();
        limits.note_too_big(13, 0, 78);
        limits.note_reply(13, 0, 65, 65, false);
        fake.limits = Some(limits);
        let w = block_on(walk_columns(&fake, &columns_of(8), 25, 1000)).unwrap();
        assert!(w.columns.iter().all(|c| c.len() == 100));
        let asks = fake.calls.lock().unwrap().clone();
        assert!(asks.iter().all(|&r| r == 9), "{asks:?}");
        let learned = fake.limits.as_ref().unwrap().learned(8, 0);
        assert_eq!((learned.too_big_at, learned.fits), (Some(78), Some(72)));
        // The 13-column walk's bounds are its own: what the narrower walk fitted does not
        // make it ask 72 (five rows and a tooBig).
        let wide = fake.limits.as_ref().unwrap().learned(13, 0);
        assert_eq!((wide.too_big_at, wide.fits), (Some(78), Some(65)));
        // 800 rows at 72 per request, and one that sees the end; 64 per request took 13.
        assert_eq!(w.requests, 12);
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
