//! The scheduler: one task per device, diffed against each new config.
//!
//! Each device polls on its own interval at a phase given by a stable hash of its name, so a
//! fleet's polls spread over the interval and keep their slots across restarts. A poll never
//! overlaps itself: a slot that passes while a poll still runs is counted as skipped. A
//! device added or changed by a reload polls at once and then joins its slot, skipping it
//! if it comes less than half an interval after that poll.

pub mod poll;
pub mod rates;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::{Config, Device};
use crate::snmp::{Engine, ReplyLimits, Session, SnmpError};
pub use poll::{PollData, PollState};
pub use store::{DeviceSnapshot, Event, Store, TrapEvent};

/// A stable 64-bit FNV-1a hash (std's hasher may change between Rust releases).
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `--shard K/N`: this instance polls the devices whose name hashes to K modulo N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This instance's shard, 0-based.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("shard {s:?} is not K/N, e.g. 0/3"))?;
        let index: u64 = k
            .trim()
            .parse()
            .map_err(|_| format!("shard index {k:?} is not a number"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("shard count {n:?} is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {s:?}: need 0 <= K < N"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// True when this shard polls `device`.
    pub fn owns(&self, device: &str) -> bool {
        // A different mix than the phase hash, so a shard's devices still spread in time.
        stable_hash(&format!("shard:{device}")) % self.count == self.index
    }
}

/// Milliseconds into the interval at which `name` polls.
pub fn phase_offset(name: &str, interval: Duration) -> Duration {
    let ms = interval.as_millis().max(1) as u64;
    Duration::from_millis(stable_hash(name) % ms)
}

/// Time until the next slot (`k * interval + offset` since the Unix epoch) after `now`.
fn until_next_slot(now: SystemTime, interval: Duration, offset: Duration) -> Duration {
    let since = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let iv = interval.as_millis().max(1) as u64;
    let off = offset.as_millis() as u64 % iv;
    let into = (since + iv - off) % iv;
    Duration::from_millis(iv - into)
}

/// Time from `now` until the poll after one that started at `started`: the next slot, or
/// the one after when the next is less than half an interval after `started`. A poll out
/// of schedule (a device added by a reload polls at once, an extra poll on request) would
/// otherwise be followed by its slot moments later: twice the load on the agent for one
/// interval's data.
fn until_next_poll(
    started: SystemTime,
    now: SystemTime,
    interval: Duration,
    offset: Duration,
) -> Duration {
    let wait = until_next_slot(now, interval, offset);
    let after_start = (now + wait).duration_since(started).unwrap_or_default();
    if after_start < interval / 2 {
        wait + interval
    } else {
        wait
    }
}

/// What a config change did to the running devices.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApplySummary {
    /// Devices started.
    pub added: Vec<String>,
    /// Devices stopped.
    pub removed: Vec<String>,
    /// Devices restarted with a new config.
    pub changed: Vec<String>,
    /// Devices left running as they were.
    pub unchanged: usize,
}

struct Task {
    device: Arc<Device>,
    cancel: CancellationToken,
}

/// "Poll this device now" (a link or restart notification makes the state fresh), at most
/// once per `min_gap` per device: a request within the gap is deferred to its end, never
/// dropped, so the latest change is polled; a poll still never overlaps itself.
#[derive(Clone, Default)]
pub struct PollTrigger(Arc<Mutex<HashMap<String, Arc<DeviceTrigger>>>>);

#[derive(Default)]
struct DeviceTrigger {
    notify: tokio::sync::Notify,
    /// (last trigger, a deferred one is pending). tokio's clock, so tests can pause it.
    state: Mutex<(Option<tokio::time::Instant>, bool)>,
}

impl PollTrigger {
    /// Asks `device`'s task for a poll; false when this instance does not poll it.
    pub fn poll_now(&self, device: &str, min_gap: Duration) -> bool {
        let Some(t) = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(device)
            .cloned()
        else {
            return false;
        };
        let now = tokio::time::Instant::now();
        let mut state = t.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.0 {
            Some(last) if now < last + min_gap => {
                if !state.1 {
                    state.1 = true;
                    let t = t.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep_until(last + min_gap).await;
                        *t.state.lock().unwrap_or_else(|e| e.into_inner()) =
                            (Some(tokio::time::Instant::now()), false);
                        t.notify.notify_one();
                    });
                }
            }
            _ => {
                *state = (Some(now), false);
                t.notify.notify_one();
            }
        }
        true
    }

    fn set(&self, device: &str) -> Arc<DeviceTrigger> {
        let t = Arc::new(DeviceTrigger::default());
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(device.to_string(), t.clone());
        t
    }

    fn remove(&self, device: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(device);
    }
}

/// Runs the device tasks and owns the store they write.
pub struct Poller {
    engine: Engine,
    store: Arc<Store>,
    shard: Option<Shard>,
    tasks: Mutex<HashMap<String, Task>>,
    trigger: PollTrigger,
    shutdown: CancellationToken,
}

impl Poller {
    /// A poller with no devices yet.
    pub fn new(
        engine: Engine,
        store: Arc<Store>,
        shard: Option<Shard>,
        shutdown: CancellationToken,
    ) -> Self {
        Poller {
            engine,
            store,
            shard,
            tasks: Mutex::new(HashMap::new()),
            trigger: PollTrigger::default(),
            shutdown,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Where "poll this device now" requests go.
    pub fn trigger(&self) -> &PollTrigger {
        &self.trigger
    }

    /// The shard filter.
    pub fn shard(&self) -> Option<Shard> {
        self.shard
    }

    /// Devices of `config` this instance polls.
    pub fn owned<'a>(&self, config: &'a Config) -> impl Iterator<Item = &'a Arc<Device>> + 'a {
        let shard = self.shard;
        config
            .devices
            .iter()
            .filter(move |d| shard.is_none_or(|s| s.owns(&d.name)))
    }

    /// Number of running device tasks.
    pub fn device_count(&self) -> usize {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Makes the running devices match `config`. `initial` spreads first polls over the
    /// interval; later, added and changed devices poll at once.
    pub fn apply(&self, config: &Config, initial: bool) -> ApplySummary {
        let mut summary = ApplySummary::default();
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let wanted: HashMap<&str, &Arc<Device>> =
            self.owned(config).map(|d| (d.name.as_str(), d)).collect();
        tasks.retain(|name, task| {
            if wanted.contains_key(name.as_str()) {
                return true;
            }
            task.cancel.cancel();
            // Removed at once: its series leave /metrics before the next scrape.
            self.store.remove(name);
            self.store.forget_events(name);
            self.trigger.remove(name);
            summary.removed.push(name.clone());
            false
        });
        for (name, device) in wanted {
            if let Some(task) = tasks.get(name) {
                if *task.device == **device {
                    summary.unchanged += 1;
                    continue;
                }
                task.cancel.cancel();
                self.store.remove(name);
                summary.changed.push(name.to_string());
            } else {
                summary.added.push(name.to_string());
            }
            let cancel = self.shutdown.child_token();
            tasks.insert(
                name.to_string(),
                Task {
                    device: device.clone(),
                    cancel: cancel.clone(),
                },
            );
            let span = tracing::info_span!("device", device = %name);
            let trigger = self.trigger.set(name);
            tokio::spawn(
                run_device(
                    device.clone(),
                    self.engine.clone(),
                    self.store.clone(),
                    cancel,
                    !initial,
                    trigger,
                )
                .instrument(span),
            );
        }
        summary.added.sort();
        summary.removed.sort();
        summary.changed.sort();
        summary
    }
}

/// The deadline of one poll: 90% of the interval, so it ends before the next slot.
pub fn poll_deadline(interval: Duration) -> Duration {
    interval.mul_f64(0.9)
}

async fn run_device(
    device: Arc<Device>,
    engine: Engine,
    store: Arc<Store>,
    cancel: CancellationToken,
    immediate: bool,
    trigger: Arc<DeviceTrigger>,
) {
    let offset = phase_offset(&device.name, device.interval);
    let mut next = if immediate {
        Instant::now()
    } else {
        Instant::now() + until_next_slot(SystemTime::now(), device.interval, offset)
    };
    let mut session: Option<Session> = None;
    let mut state = PollState::default();
    // What walks learned about the agent's reply size outlives a session rebuilt after a
    // failed poll.
    let limits = Arc::new(ReplyLimits::default());
    let mut skipped = 0;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(next.into()) => {}
            // An extra poll; the schedule's slots stay where they are.
            _ = trigger.notify.notified() => {}
        }
        let started = Instant::now();
        let started_wall = SystemTime::now();
        let deadline = poll_deadline(device.interval);
        let mut started_work = false;
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            r = tokio::time::timeout(deadline, async {
                let _slot = engine.poll_slot().await;
                // Under overload the slot queue grows until polls wait most of their
                // deadline and then miss it: work done for nothing. A poll that got its
                // slot after half its deadline gives it back instead.
                if started.elapsed() > deadline / 2 {
                    return Err(SnmpError::NoSlot(deadline / 2, engine.max_in_flight()));
                }
                started_work = true;
                poll_once(&engine, &device, &mut session, &mut state, &limits).await
            }) => {
                r.unwrap_or(Err(if started_work {
                    SnmpError::Deadline(deadline)
                } else {
                    SnmpError::NoSlot(deadline / 2, engine.max_in_flight())
                }))
            }
        };
        if result.is_err() {
            // Rebuild next time: picks up DNS changes and a replaced SNMPv3 engine.
            session = None;
        }
        let duration = started.elapsed();
        store.record(
            &device,
            result.map_err(|e| e.to_string()),
            duration,
            skipped,
        );
        let now = Instant::now();
        let wait = until_next_poll(started_wall, SystemTime::now(), device.interval, offset);
        // Slots that passed between this poll's planned start and the next one.
        let planned_gap = (now + wait).saturating_duration_since(next);
        skipped =
            (planned_gap.as_millis() / device.interval.as_millis().max(1)).saturating_sub(1) as u64;
        if skipped > 0 {
            tracing::warn!(skipped, "poll overran its interval; slots skipped");
        }
        next = now + wait;
    }
}

async fn poll_once(
    engine: &Engine,
    device: &Device,
    session: &mut Option<Session>,
    state: &mut PollState,
    limits: &Arc<ReplyLimits>,
) -> Result<PollData, SnmpError> {
    if session.is_none() {
        *session = Some(
            engine
                .session(
                    &device.host,
                    device.port,
                    &device.auth,
                    device.timeout,
                    device.retries,
                )
                .await?
                .with_reply_limits(limits.clone()),
        );
    }
    let s = session.as_ref().expect("just set");
    poll::poll(s, device, state).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parses_and_partitions() {
        assert!("1/0".parse::<Shard>().is_err());
        assert!("3/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        let shards: Vec<Shard> = (0..3).map(|k| format!("{k}/3").parse().unwrap()).collect();
        for i in 0..300 {
            let name = format!("sw{i}");
            assert_eq!(shards.iter().filter(|s| s.owns(&name)).count(), 1, "{name}");
        }
    }

    #[test]
    fn phase_is_stable_and_within_interval() {
        let iv = Duration::from_secs(30);
        assert_eq!(phase_offset("core-sw1", iv), phase_offset("core-sw1", iv));
        assert!(phase_offset("core-sw1", iv) < iv);
        assert_eq!(stable_hash("a"), 0xaf63dc4c8601ec8c);
    }

    #[tokio::test(start_paused = true)]
    async fn poll_now_is_rate_limited_and_deferred_not_dropped() {
        use tokio::time::timeout;
        let gap = Duration::from_secs(10);
        let t = PollTrigger::default();
        assert!(!t.poll_now("sw1", gap), "not polled here");
        let d = t.set("sw1");
        assert!(t.poll_now("sw1", gap));
        timeout(Duration::from_millis(1), d.notify.notified())
            .await
            .expect("the first request polls at once");
        // Three more within the gap: one poll, at its end.
        for _ in 0..3 {
            assert!(t.poll_now("sw1", gap));
        }
        assert!(timeout(Duration::from_secs(9), d.notify.notified())
            .await
            .is_err());
        timeout(Duration::from_secs(2), d.notify.notified())
            .await
            .expect("the deferred request polls when the gap ends");
        assert!(timeout(Duration::from_secs(60), d.notify.notified())
            .await
            .is_err());
        // After a quiet gap, at once again.
        assert!(t.poll_now("sw1", gap));
        timeout(Duration::from_millis(1), d.notify.notified())
            .await
            .unwrap();
        t.remove("sw1");
        assert!(!t.poll_now("sw1", gap));
    }

    #[test]
    fn a_poll_out_of_schedule_is_not_followed_by_its_slot_moments_later() {
        let iv = Duration::from_secs(10);
        let off = Duration::from_millis(2500);
        let slot = UNIX_EPOCH + Duration::from_millis(1_000_002_500);
        // Polled at once 1 s before a slot: that slot is skipped, the next one kept.
        let started = slot - Duration::from_secs(1);
        let now = started + Duration::from_millis(200);
        assert_eq!(
            until_next_poll(started, now, iv, off),
            Duration::from_millis(10_800)
        );
        // 6 s before a slot: that slot is kept.
        let started = slot - Duration::from_secs(6);
        let now = started + Duration::from_millis(200);
        assert_eq!(
            until_next_poll(started, now, iv, off),
            Duration::from_millis(5_800)
        );
        // A poll on its slot: the next slot, an interval after its start, however long it took.
        let now = slot + Duration::from_secs(7);
        assert_eq!(until_next_poll(slot, now, iv, off), Duration::from_secs(3));
    }

    #[test]
    fn next_slot_is_in_the_future_and_aligned() {
        let iv = Duration::from_secs(10);
        let off = Duration::from_millis(2500);
        let now = UNIX_EPOCH + Duration::from_millis(1_000_000_000);
        let wait = until_next_slot(now, iv, off);
        assert!(wait > Duration::ZERO && wait <= iv);
        let at = now + wait;
        assert_eq!(
            at.duration_since(UNIX_EPOCH).unwrap().as_millis() % 10_000,
            2_500
        );
    }
}
