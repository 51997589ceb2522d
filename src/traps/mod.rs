//! The notification listener: SNMP traps and informs (v1, v2c, v3) on `traps.listen`,
//! into the event log, the store, metrics and Alertmanager.
//!
//! Receiving is async-snmp's [`NotificationReceiver`] (v1/v2c/v3 decoding, USM keys and
//! privacy, inform acknowledgements); octopoll adds the acceptance [`policy`] (community,
//! security level, attribution by source address: an inform is acknowledged only once
//! accepted), naming ([`names`]), counting ([`stats`]) and what each notification does:
//!
//! - one structured log line (`target: octopoll::trap`) and a row in the device's recent
//!   notifications (the store keeps [`crate::poller::store::NOTIFICATIONS_KEPT`]);
//! - `snmp_traps_total{device,trap}` and its last-seen time;
//! - Alertmanager: a linkDown opens `SnmpLinkDown` for the interface (labels from the
//!   latest poll), the linkUp of the same interface resolves it; coldStart, warmStart,
//!   authenticationFailure and configured notifications are one-shot `SnmpTrap` alerts
//!   that end after `alertmanager.expiry`;
//! - linkDown, linkUp, coldStart and warmStart poll the device at once (at most once per
//!   `traps.repoll_limit`).
//!
//! The receiver binds its own socket (async-snmp has no way to take one), so the wiring
//! calls [`Traps::prepare`], which binds, before anything is committed: a listener that
//! cannot bind fails the start-up or rejects the reload, and the old one keeps running.

pub mod names;
mod observe;
pub mod policy;
pub mod stats;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use async_snmp::{
    AuthoritativeEngine, DesSaltState, Notification, NotificationAcceptance,
    NotificationAcceptanceResult, NotificationEnvelope, NotificationReceiver,
    PersistedAuthoritativeEngine, PersistedDesSaltState, ReceivedNotification, UsmUser,
};
use tokio_util::sync::CancellationToken;

use crate::alertmanager::{Alert, AlertSender};
use crate::config::{self, AuthKind, Config, Device, TrapsConfig};
use crate::poller::{PollTrigger, Store, TrapEvent};
use crate::snmp::Oid;
use names::{Kind, Named, Specs, Standard, Varbind};
use policy::{Credentials, Origin, Rules, Verdict};
pub use stats::{TrapCollector, TrapMetrics};

/// How often open linkDown alerts are checked against the latest polls.
const RECONCILE_EVERY: Duration = Duration::from_secs(60);
/// An open linkDown whose interface the latest poll shows up this long after the trap is
/// resolved (its linkUp was lost, or never sent).
const STALE_LINK_DOWN: Duration = Duration::from_secs(600);
/// How often devices' host names are resolved again for attribution.
const RESOLVE_EVERY: Duration = Duration::from_secs(300);
/// Longest human message of one notification.
const MAX_MESSAGE: usize = 600;

/// Why the listener could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TrapError {
    /// The address could not be bound.
    #[error("cannot listen for notifications on {addr}: {reason}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// Why, with a hint for privileged ports.
        reason: String,
    },
    /// A USM user could not be set up (its keys).
    #[error("traps.users: auth `{auth}`: {reason}")]
    User {
        /// The auth's name.
        auth: String,
        /// What async-snmp said.
        reason: String,
    },
    /// The local SNMPv3 engine could not be set up.
    #[error("SNMPv3 engine for notifications: {0}")]
    Engine(String),
}

impl TrapError {
    /// As a config error, for a rejected reload.
    pub fn to_config_error(&self, config: &Config) -> config::ConfigError {
        let (file, line) = match config.traps.as_deref() {
            Some(t) => t.origin.clone(),
            None => (config.files.first().cloned().unwrap_or_default(), None),
        };
        config::ConfigError {
            file,
            line,
            key: match self {
                TrapError::Bind { .. } => "traps.listen".into(),
                TrapError::User { .. } => "traps.users".into(),
                TrapError::Engine(_) => "traps.engine_id".into(),
            },
            message: self.to_string(),
        }
    }
}

/// What one config makes of notifications (replaced whole on reload).
#[derive(Default, Clone)]
struct State {
    rules: Rules,
    specs: Specs,
    devices: HashMap<String, Arc<Device>>,
    repoll_limit: Duration,
    /// One-shot alerts' lifetime; `None`: no Alertmanager.
    expiry: Option<Duration>,
}

/// The running listener and what it was built from.
struct Running {
    listen: SocketAddr,
    identity: Identity,
    local: SocketAddr,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// What a receiver is built from besides its address: a change needs a new receiver.
#[derive(Debug, Clone, PartialEq)]
struct Identity {
    users: Vec<config::Auth>,
    engine_id: Option<Vec<u8>>,
}

impl Identity {
    fn of(t: &TrapsConfig) -> Identity {
        Identity {
            users: t.users.iter().map(|a| (**a).clone()).collect(),
            engine_id: t.engine_id.clone(),
        }
    }
}

/// What a reload will do to the listener, decided (and bound) by [`Traps::prepare`].
pub struct Prepared(Plan);

enum Plan {
    Off,
    Keep,
    Start(Box<(NotificationReceiver, SocketAddr, Identity)>),
    /// Same port, new users or engine: the old socket must close before the new binds.
    Rebind,
}

/// The shared part, read by the receive loop and the acceptance policy.
struct Inner {
    store: Arc<Store>,
    trigger: PollTrigger,
    metrics: Arc<TrapMetrics>,
    alerts: AlertSender,
    state: RwLock<Arc<State>>,
    /// Open linkDown alerts: (device, ifIndex) -> when the trap came.
    open_links: Mutex<HashMap<(String, u32), SystemTime>>,
    handled: AtomicU64,
}

/// The configured engine ID (`None`: random), the engine and its DES salt state.
type LocalEngine = (Option<Vec<u8>>, AuthoritativeEngine, DesSaltState);

/// The notification service: start, reload and stop the listener.
pub struct Traps {
    inner: Arc<Inner>,
    running: tokio::sync::Mutex<Option<Running>>,
    /// The local SNMPv3 engine (informs), kept across rebinds while its ID is unchanged.
    engine: Mutex<Option<LocalEngine>>,
    shutdown: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Traps {
    /// A service with no listener yet. `metrics` are shared with `/metrics`, `trigger`
    /// re-polls devices; background tasks stop with `shutdown`.
    pub fn new(
        store: Arc<Store>,
        trigger: PollTrigger,
        metrics: Arc<TrapMetrics>,
        shutdown: CancellationToken,
    ) -> Traps {
        let alerts = AlertSender::spawn(metrics.clone(), shutdown.clone());
        let inner = Arc::new(Inner {
            store,
            trigger,
            metrics,
            alerts,
            state: RwLock::new(Arc::new(State::default())),
            open_links: Mutex::new(HashMap::new()),
            handled: AtomicU64::new(0),
        });
        tokio::spawn(reconcile(Arc::downgrade(&inner), shutdown.clone()));
        Traps {
            inner,
            running: tokio::sync::Mutex::new(None),
            engine: Mutex::new(None),
            shutdown,
        }
    }

    /// The address the listener is bound to (resolves a configured port 0).
    pub async fn local_addr(&self) -> Option<SocketAddr> {
        self.running.lock().await.as_ref().map(|r| r.local)
    }

    /// Notifications accepted and handled so far.
    pub fn handled(&self) -> u64 {
        self.inner.handled.load(Ordering::Relaxed)
    }

    /// Binds what `config` needs that can fail, before anything changes; the old listener
    /// keeps running until [`Traps::commit`].
    pub async fn prepare(&self, config: &Config) -> Result<Prepared, TrapError> {
        let running = self.running.lock().await;
        let Some(t) = config.traps.as_deref() else {
            return Ok(Prepared(Plan::Off));
        };
        let identity = Identity::of(t);
        if let Some(r) = running.as_ref() {
            if r.listen == t.listen && r.identity == identity {
                return Ok(Prepared(Plan::Keep));
            }
            if r.listen == t.listen {
                return Ok(Prepared(Plan::Rebind));
            }
        }
        match self.bind(t).await {
            Ok(rx) => Ok(Prepared(Plan::Start(Box::new((rx, t.listen, identity))))),
            // The port is ours (another address of it): hand it over in commit.
            Err(TrapError::Bind { .. })
                if running
                    .as_ref()
                    .is_some_and(|r| r.local.port() == t.listen.port() && t.listen.port() != 0) =>
            {
                Ok(Prepared(Plan::Rebind))
            }
            Err(e) => Err(e),
        }
    }

    /// Applies `config` (already accepted) with what [`Traps::prepare`] bound.
    pub async fn commit(&self, prepared: Prepared, config: &Config) {
        self.set_state(config);
        self.inner.metrics.prune(config);
        self.inner.alerts.configure(config.alertmanager.clone());
        let mut running = self.running.lock().await;
        match prepared.0 {
            Plan::Keep => {}
            Plan::Off => {
                if let Some(r) = running.take() {
                    self.stop(r).await;
                    tracing::info!("notification listener stopped (no `traps` in the config)");
                }
            }
            Plan::Start(b) => {
                let (rx, listen, identity) = *b;
                if let Some(r) = running.take() {
                    self.stop(r).await;
                }
                *running = Some(self.start(rx, listen, identity));
            }
            Plan::Rebind => {
                if let Some(r) = running.take() {
                    self.stop(r).await;
                }
                let Some(t) = config.traps.as_deref() else {
                    return;
                };
                match self.bind(t).await {
                    Ok(rx) => *running = Some(self.start(rx, t.listen, Identity::of(t))),
                    Err(e) => {
                        tracing::error!(error = %e, "notification listener lost while rebinding")
                    }
                }
            }
        }
    }

    fn set_state(&self, config: &Config) {
        let state = match config.traps.as_deref() {
            None => State::default(),
            Some(t) => State {
                rules: Rules::new(t, config),
                specs: Specs::new(&config.notifications),
                devices: config
                    .devices
                    .iter()
                    .map(|d| (d.name.clone(), d.clone()))
                    .collect(),
                repoll_limit: t.repoll_limit,
                expiry: config.alertmanager.as_ref().map(|a| a.expiry),
            },
        };
        let named: Vec<Arc<Device>> = config
            .devices
            .iter()
            .filter(|d| d.host.parse::<IpAddr>().is_err())
            .cloned()
            .collect();
        *self.inner.state.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(state);
        if config.traps.is_some() && !named.is_empty() {
            tokio::spawn(resolve_hosts(
                Arc::downgrade(&self.inner),
                named,
                self.shutdown.clone(),
            ));
        }
    }

    async fn bind(&self, t: &TrapsConfig) -> Result<NotificationReceiver, TrapError> {
        let (engine, des) = self.engine(t.engine_id.as_deref())?;
        let gate = Gate(Arc::downgrade(&self.inner));
        let mut b = NotificationReceiver::builder()
            .bind(t.listen.to_string())
            .authoritative_engine(engine)
            .des_salt_state(des)
            .try_acceptance_policy(gate);
        for a in &t.users {
            let AuthKind::V3(u) = &a.kind else { continue };
            b = b
                .usm_user(u.username.clone().into_bytes(), |user| usm_user(user, u))
                .map_err(|e| TrapError::User {
                    auth: a.name.clone(),
                    reason: e.to_string(),
                })?;
        }
        b.build().await.map_err(|e| {
            let mut reason = e.to_string();
            let denied = std::error::Error::source(&*e)
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied)
                || reason.contains("ermission denied");
            if denied && t.listen.port() < 1024 {
                reason.push_str(
                    " (ports below 1024 need a privilege: give the binary CAP_NET_BIND_SERVICE, \
                     or listen on a high port such as 1162 and map 162 to it)",
                );
            }
            TrapError::Bind {
                addr: t.listen,
                reason,
            }
        })
    }

    /// The local engine for `engine_id` (a random ID when `None`), made once. Its boots
    /// counter is the Unix time at start-up, so it grows across restarts without a state
    /// file (RFC 3414 wants it never to go back for one engine ID); DES salts take the
    /// same epoch, as the poller's do.
    fn engine(&self, id: Option<&[u8]>) -> Result<(AuthoritativeEngine, DesSaltState), TrapError> {
        let mut slot = lock(&self.engine);
        if let Some((have, e, d)) = slot.as_ref() {
            if have.as_deref() == id {
                return Ok((e.clone(), d.clone()));
            }
        }
        let bad = |e: &dyn std::fmt::Display| TrapError::Engine(e.to_string());
        let engine_id = match id {
            Some(id) => bytes::Bytes::copy_from_slice(id),
            None => async_snmp::generate_engine_id().map_err(|e| bad(&e))?,
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs());
        let previous = u32::try_from(now)
            .unwrap_or(u32::MAX)
            .clamp(1, i32::MAX as u32 - 1);
        let persisted =
            PersistedAuthoritativeEngine::new(engine_id, previous).map_err(|e| bad(&e))?;
        let engine =
            AuthoritativeEngine::restart(persisted, |_| Ok::<(), std::convert::Infallible>(()))
                .map_err(|e| bad(&e))?;
        let des = PersistedDesSaltState::new(previous)
            .map_err(|e| bad(&e))
            .and_then(|p| {
                DesSaltState::restart(p, |_| Ok::<(), std::convert::Infallible>(()))
                    .map_err(|e| bad(&e))
            })?;
        let hex: String = engine
            .engine_id()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        tracing::info!(engine_id = %hex, boots = engine.engine_boots(), "SNMPv3 engine for notifications");
        *slot = Some((id.map(<[u8]>::to_vec), engine.clone(), des.clone()));
        Ok((engine, des))
    }

    fn start(&self, rx: NotificationReceiver, listen: SocketAddr, identity: Identity) -> Running {
        let local = rx.local_addr();
        let cancel = self.shutdown.child_token();
        self.inner.metrics.set_receiver(Some(rx.clone()));
        let hex: String = rx.engine_id().iter().map(|b| format!("{b:02x}")).collect();
        tracing::info!(address = %local, engine_id = %hex, "listening for SNMP notifications");
        let task = tokio::spawn(receive(self.inner.clone(), rx, cancel.clone()));
        Running {
            listen,
            identity,
            local,
            cancel,
            task,
        }
    }

    async fn stop(&self, r: Running) {
        r.cancel.cancel();
        // The socket closes when the task drops the receiver.
        let _ = r.task.await;
        self.inner.metrics.set_receiver(None);
    }
}

fn usm_user(user: UsmUser, u: &config::UsmAuth) -> async_snmp::CryptoResult<UsmUser> {
    use config::{AuthProtocol as A, PrivProtocol as P};
    let auth = |p: A| match p {
        A::Md5 => async_snmp::AuthProtocol::Md5,
        A::Sha => async_snmp::AuthProtocol::Sha1,
        A::Sha224 => async_snmp::AuthProtocol::Sha224,
        A::Sha256 => async_snmp::AuthProtocol::Sha256,
        A::Sha384 => async_snmp::AuthProtocol::Sha384,
        A::Sha512 => async_snmp::AuthProtocol::Sha512,
    };
    let privacy = |p: P| match p {
        P::Des => async_snmp::PrivProtocol::Des,
        P::Aes => async_snmp::PrivProtocol::Aes128,
        P::Aes192 => async_snmp::PrivProtocol::Aes192Blumenthal,
        P::Aes256 => async_snmp::PrivProtocol::Aes256Blumenthal,
        P::Aes192C => async_snmp::PrivProtocol::Aes192Reeder,
        P::Aes256C => async_snmp::PrivProtocol::Aes256Reeder,
    };
    match (&u.auth, &u.privacy) {
        (Some((ap, apw)), Some((pp, ppw))) => {
            user.auth_priv(auth(*ap), apw.expose(), privacy(*pp), ppw.expose())
        }
        (Some((ap, apw)), None) => user.auth(auth(*ap), apw.expose()),
        _ => Ok(user),
    }
}

/// The acceptance policy async-snmp calls before delivering (and acknowledging).
struct Gate(std::sync::Weak<Inner>);

impl async_snmp::NotificationAcceptancePolicy for Gate {
    fn evaluate(&self, n: &NotificationEnvelope<'_>) -> NotificationAcceptanceResult {
        let Some(inner) = self.0.upgrade() else {
            return Ok(NotificationAcceptance::Reject);
        };
        let credentials = match (n.community, n.username, n.security_level) {
            (Some(c), _, _) => Credentials::Community(c.as_bytes()),
            (None, Some(user), Some(level)) => Credentials::Usm(user, to_level(level)),
            _ => return Ok(NotificationAcceptance::Reject),
        };
        let state = inner.state();
        Ok(match state.rules.decide(n.source, credentials) {
            Verdict::Accept(_) => NotificationAcceptance::Accept,
            // Counting is the only side effect: a rejection is final.
            Verdict::Unattributed(ip) => {
                inner.metrics.unattributed(ip);
                NotificationAcceptance::Reject
            }
            Verdict::Drop(reason) => {
                inner.metrics.dropped(reason);
                NotificationAcceptance::Reject
            }
        })
    }
}

fn to_level(l: async_snmp::SecurityLevel) -> config::SecurityLevel {
    match l {
        async_snmp::SecurityLevel::NoAuthNoPriv => config::SecurityLevel::NoAuthNoPriv,
        async_snmp::SecurityLevel::AuthNoPriv => config::SecurityLevel::AuthNoPriv,
        async_snmp::SecurityLevel::AuthPriv => config::SecurityLevel::AuthPriv,
    }
}

async fn receive(inner: Arc<Inner>, rx: NotificationReceiver, cancel: CancellationToken) {
    use tracing::instrument::WithSubscriber;
    let drops = tracing::Dispatch::new(observe::DropEvents(inner.metrics.clone()));
    loop {
        let r = tokio::select! {
            _ = cancel.cancelled() => return,
            r = rx.recv().with_subscriber(drops.clone()) => r,
        };
        match r {
            Ok(n) => inner.handle(n, SystemTime::now()),
            Err(e) => {
                // E.g. ICMP port unreachable for an inform's response; keep going.
                tracing::debug!(error = %e, "notification receive error");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Checks open linkDown alerts against the latest polls and the config.
async fn reconcile(inner: std::sync::Weak<Inner>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(inner) = inner.upgrade() else { return };
        inner.reconcile(SystemTime::now());
    }
}

/// Resolves devices' host names so their notifications are attributed too.
async fn resolve_hosts(
    inner: std::sync::Weak<Inner>,
    devices: Vec<Arc<Device>>,
    shutdown: CancellationToken,
) {
    loop {
        let mut found = Vec::new();
        for d in &devices {
            let lookup = tokio::net::lookup_host((d.host.as_str(), d.port));
            if let Ok(Ok(addrs)) = tokio::time::timeout(Duration::from_secs(2), lookup).await {
                found.extend(addrs.map(|a| (a.ip(), d.clone())));
            }
        }
        {
            let Some(inner) = inner.upgrade() else { return };
            let mut state = inner.state.write().unwrap_or_else(|e| e.into_inner());
            // A reload replaced the device list meanwhile: its own task resolves it.
            let current = devices.iter().all(|d| {
                state
                    .devices
                    .get(&d.name)
                    .is_some_and(|c| Arc::ptr_eq(c, d))
            });
            if !current {
                return;
            }
            let mut next = State::clone(&state);
            next.rules = state.rules.with_resolved(&found);
            *state = Arc::new(next);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(RESOLVE_EVERY) => {}
        }
    }
}

fn oid_of(o: &async_snmp::Oid) -> Oid {
    Oid::from_arcs(o.arcs())
}

/// The notification's OID: snmpTrapOID, or for SNMPv1 the RFC 3584 mapping (generic
/// traps to snmpTraps.N, enterprise-specific to `enterprise.0.specific`).
fn trap_oid(n: &Notification) -> Oid {
    match n.trap_oid() {
        Ok(o) => oid_of(&o),
        // Only a v1 trap with a negative specific-trap: name it by its enterprise.
        Err(_) => match n {
            Notification::TrapV1 { trap, .. } => oid_of(trap.enterprise()),
            _ => Oid::from_arcs([0, 0]),
        },
    }
}

/// `v2c inform`, `v1 trap`, ...
fn via(n: &Notification) -> String {
    let version = match n.version() {
        async_snmp::Version::V1 => "v1",
        async_snmp::Version::V2c => "v2c",
        _ => "v3",
    };
    let pdu = if n.is_confirmed() { "inform" } else { "trap" };
    format!("{version} {pdu}")
}

/// The escaped exposition label values back to text (for Alertmanager).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Inner {
    fn state(&self) -> Arc<State> {
        self.state.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// ifName, ifDescr, ifAlias of `device`'s interface `index` from its latest poll.
    fn interface_names(&self, device: &str, index: u32) -> Option<[String; 3]> {
        let snap = self.store.get(device)?;
        let data = snap.data.as_ref()?;
        let i = data
            .interfaces
            .binary_search_by_key(&index, |i| i.index)
            .ok()?;
        let l = &data.interfaces[i].labels;
        Some([unescape(&l[1]), unescape(&l[2]), unescape(&l[3])])
    }

    fn handle(&self, r: ReceivedNotification, now: SystemTime) {
        let state = self.state();
        let n = &r.notification;
        let credentials = match n {
            Notification::TrapV1 { community, .. }
            | Notification::TrapV2c { community, .. }
            | Notification::InformV2c { community, .. } => {
                Credentials::Community(community.as_bytes())
            }
            Notification::TrapV3 {
                username,
                security_level,
                ..
            }
            | Notification::InformV3 {
                username,
                security_level,
                ..
            } => Credentials::Usm(username, to_level(*security_level)),
        };
        // Accepted by the gate moments ago; a reload in between may have changed the
        // rules: then it counts under its address.
        let origin = match state.rules.decide(r.source, credentials) {
            Verdict::Accept(o) => o,
            _ => Origin::Unknown(policy::canonical(r.source.ip())),
        };
        let varbinds: Vec<Varbind> = n
            .varbinds()
            .iter()
            .map(|vb| Varbind {
                oid: oid_of(&vb.oid),
                value: names::value_text(&vb.value.to_string()),
            })
            .collect();
        let named = names::classify(&trap_oid(n), &varbinds, &state.specs);
        if !self.metrics.count(&origin, &named.name, now) {
            return; // one unknown source too many: counted, not kept
        }
        let (device, device_labels): (String, Vec<(String, String)>) = match &origin {
            Origin::Device(d) => (
                d.name.clone(),
                d.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            Origin::Unknown(ip) => (ip.to_string(), Vec::new()),
        };
        let iface = named
            .if_index
            .map(|i| (i, self.interface_names(&device, i)));
        let via = via(n);
        let message = message(&named, &via, r.source, iface.as_ref(), &varbinds);
        tracing::info!(
            target: "octopoll::trap",
            device = %device,
            trap = %named.name,
            via = %via,
            source = %r.source,
            if_index = named.if_index,
            "{message}"
        );
        self.store.notification(TrapEvent {
            at: now,
            device: device.clone(),
            trap: named.name.clone(),
            via: via.clone(),
            source: r.source,
            message: message.clone(),
        });
        if let Some(expiry) = state.expiry {
            self.alert(
                &named,
                &device,
                &device_labels,
                iface.as_ref(),
                &message,
                expiry,
                now,
            );
        }
        if let (Kind::Standard(s), Origin::Device(d)) = (&named.kind, &origin) {
            if s.repolls() {
                self.trigger.poll_now(&d.name, state.repoll_limit);
            }
        }
        self.handled.fetch_add(1, Ordering::Relaxed);
    }

    #[allow(clippy::too_many_arguments)]
    fn alert(
        &self,
        named: &Named,
        device: &str,
        device_labels: &[(String, String)],
        iface: Option<&(u32, Option<[String; 3]>)>,
        message: &str,
        expiry: Duration,
        now: SystemTime,
    ) {
        let severity = match &named.kind {
            Kind::Standard(Standard::LinkDown | Standard::LinkUp) if iface.is_some() => {
                let Some((index, names)) = iface else { return };
                let a = link_alert(device, device_labels, *index, names.as_ref(), message, now);
                let key = (device.to_string(), *index);
                let k = format!("{device}/{index}");
                if named.kind == Kind::Standard(Standard::LinkDown) {
                    lock(&self.open_links).entry(key).or_insert(now);
                    self.alerts.open(k, a);
                } else {
                    lock(&self.open_links).remove(&key);
                    self.alerts.resolve(k, a);
                }
                return;
            }
            // Without an ifIndex a linkDown has no state to follow: one-shot.
            Kind::Standard(Standard::LinkDown) => config::Severity::Warning,
            Kind::Standard(s) => match s.one_shot_severity() {
                Some(sev) => sev,
                None => return,
            },
            Kind::Configured(Some(sev)) => *sev,
            Kind::Configured(None) | Kind::Unknown => return,
        };
        let mut labels: BTreeMap<String, String> = device_labels.iter().cloned().collect();
        labels.extend(named.labels.iter().cloned());
        labels.insert("alertname".into(), "SnmpTrap".into());
        labels.insert("device".into(), device.to_string());
        labels.insert("trap".into(), named.name.clone());
        labels.insert("severity".into(), severity.as_str().into());
        let annotations = BTreeMap::from([
            (
                "summary".to_string(),
                format!("{device} sent {}", named.name),
            ),
            ("description".to_string(), message.to_string()),
        ]);
        self.alerts.fire(Alert {
            labels,
            annotations,
            starts_at: now,
            ends_at: Some(now + expiry),
        });
    }

    /// Resolves open linkDown alerts whose device left the config, or whose interface the
    /// latest poll, long after the trap, shows up (the linkUp was lost).
    fn reconcile(&self, now: SystemTime) {
        let state = self.state();
        let open: Vec<((String, u32), SystemTime)> = lock(&self.open_links)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for ((device, index), since) in open {
            let gone = !state.devices.contains_key(&device);
            let up_again = self.store.get(&device).is_some_and(|s| {
                s.last_poll > since + STALE_LINK_DOWN
                    && s.data.as_ref().is_some_and(|d| {
                        d.interfaces
                            .iter()
                            .any(|i| i.index == index && i.oper == Some(1))
                    })
            });
            if !(gone || up_again) {
                continue;
            }
            lock(&self.open_links).remove(&(device.clone(), index));
            let labels: Vec<(String, String)> = state
                .devices
                .get(&device)
                .map(|d| {
                    d.labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let names = self.interface_names(&device, index);
            let why = if gone {
                "device removed from the config"
            } else {
                "no linkUp came, but polls show the interface up"
            };
            let a = link_alert(&device, &labels, index, names.as_ref(), why, now);
            tracing::info!(target: "octopoll::trap", device = %device, if_index = index, "linkDown alert resolved: {why}");
            self.alerts.resolve(format!("{device}/{index}"), a);
        }
    }
}

/// The `SnmpLinkDown` alert of one interface (open on linkDown, resolved on linkUp).
fn link_alert(
    device: &str,
    device_labels: &[(String, String)],
    index: u32,
    names: Option<&[String; 3]>,
    message: &str,
    now: SystemTime,
) -> Alert {
    let mut labels: BTreeMap<String, String> = device_labels.iter().cloned().collect();
    labels.insert("alertname".into(), "SnmpLinkDown".into());
    labels.insert("severity".into(), "warning".into());
    labels.insert("device".into(), device.to_string());
    labels.insert("trap".into(), "linkDown".into());
    labels.insert("ifIndex".into(), index.to_string());
    if let Some([name, descr, alias]) = names {
        for (k, v) in [("ifName", name), ("ifDescr", descr), ("ifAlias", alias)] {
            if !v.is_empty() {
                labels.insert(k.into(), v.clone());
            }
        }
    }
    let shown = names
        .map(|[n, d, _]| if n.is_empty() { d.clone() } else { n.clone() })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("ifIndex {index}"));
    Alert {
        labels,
        annotations: BTreeMap::from([
            (
                "summary".to_string(),
                format!("Interface {shown} on {device} is down (linkDown notification)"),
            ),
            ("description".to_string(), message.to_string()),
        ]),
        starts_at: now,
        ends_at: None,
    }
}

/// One line for the log, the pages and alert descriptions.
fn message(
    named: &Named,
    via: &str,
    source: SocketAddr,
    iface: Option<&(u32, Option<[String; 3]>)>,
    varbinds: &[Varbind],
) -> String {
    let mut m = format!("{} ({via} from {source})", named.name);
    if let Some((index, names)) = iface {
        let name = names
            .as_ref()
            .map(|[n, d, _]| if n.is_empty() { d.as_str() } else { n.as_str() })
            .unwrap_or("");
        if name.is_empty() {
            m.push_str(&format!(" interface ifIndex {index}"));
        } else {
            m.push_str(&format!(" interface {name} (ifIndex {index})"));
        }
    }
    for (k, v) in &named.labels {
        m.push_str(&format!(" {k}={v}"));
    }
    let mut first = true;
    for vb in varbinds {
        if m.chars().count() > MAX_MESSAGE {
            m.push_str(" …");
            break;
        }
        m.push_str(if first { ": " } else { ", " });
        first = false;
        m.push_str(&format!("{}={}", vb.oid, vb.value));
    }
    m
}
