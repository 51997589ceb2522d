//! The SNMP client: one cheap [`Session`] per device, a global cap on requests in flight,
//! and counters for octopoll's own metrics.
//!
//! SNMPv1/v2c requests are encoded and their replies decoded by octopoll itself
//! ([`super::ber`]), each on a socket of its own from a pool ([`super::udp`]); SNMPv3
//! (USM: discovery, keys, encryption, time windows) goes through async-snmp's client on
//! one shared socket per address family. Measured on 100 polls/s of 55-interface devices
//! against agents capped at 1,500 bytes, before and after (`bench/field.sh`,
//! `bench/instructions.sh`; BENCHMARKS.md has the figures).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_snmp as lib;
use tokio::sync::Semaphore;

use super::udp::Pool;
use super::walk::{ReplyLimits, Requester, VarbindSink};
use super::{ber, Oid, SnmpError, Value};
use crate::config::{self, AuthKind};

/// Largest UDP payload. async-snmp's default (1472) makes net-snmp answer big v3 GETBULKs
/// with genErr.
const MAX_MESSAGE_SIZE: usize = 65507;
/// `SO_RCVBUF` asked for the shared socket. Every device's replies land on one socket, and
/// with the kernel default (208 KiB) a burst of big GETBULK replies from a few hundred
/// devices overflows it: drops, then timeouts and retries. The kernel caps the request at
/// `net.core.rmem_max` (the README says how to raise it).
const RECV_BUFFER: usize = 8 << 20;

/// Counters the exporter publishes about SNMP traffic.
#[derive(Debug, Default)]
pub struct SnmpStats {
    /// Logical requests (GET/GETNEXT/GETBULK) started.
    pub requests: AtomicU64,
    /// Retransmissions (derived: elapsed / per-attempt timeout, fixed-delay retries).
    pub retries: AtomicU64,
    /// Requests that got no reply after every retransmission.
    pub timeouts: AtomicU64,
    /// Requests that ended in any other error.
    pub errors: AtomicU64,
}

/// The shared SNMP engine: sockets, in-flight limit, SNMPv3 engine cache, statistics.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    v4: lib::UdpTransport,
    v6: Option<lib::UdpTransport>,
    in_flight: Arc<Semaphore>,
    /// Polls running at once (see [`Engine::poll_slot`]).
    poll_slots: Semaphore,
    max_in_flight: usize,
    engine_cache: Arc<lib::EngineCache>,
    /// DES privacy salts for every DES session of this process (see [`des_salt_state`]).
    des_salt: lib::DesSaltState,
    stats: Arc<SnmpStats>,
    /// SNMPv1/v2c sockets, one per request in flight.
    pool: Pool,
    /// Next request id (SNMPv1/v2c); also the seed of the retry jitter.
    next_id: std::sync::atomic::AtomicU32,
}

impl EngineInner {
    /// A request id: positive, never 0, different for consecutive requests.
    fn request_id(&self) -> i32 {
        loop {
            let id = (self.next_id.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff) as i32;
            if id != 0 {
                return id;
            }
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("v4", &self.inner.v4.local_addr())
            .finish()
    }
}

impl Engine {
    /// Binds the shared sockets (IPv4 always, IPv6 when the host has it) and caps requests
    /// in flight across all devices at `max_in_flight`.
    pub async fn new(max_in_flight: usize) -> Result<Engine, SnmpError> {
        let v4 = bind("0.0.0.0:0").await?;
        let v6 = match bind("[::]:0").await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::info!(error = %e, "no IPv6 SNMP socket; IPv6 devices will fail");
                None
            }
        };
        Ok(Engine {
            inner: Arc::new(EngineInner {
                v4,
                v6,
                in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
                poll_slots: Semaphore::new(max_in_flight.max(1)),
                max_in_flight: max_in_flight.max(1),
                engine_cache: Arc::new(lib::EngineCache::new()),
                des_salt: des_salt_state()?,
                stats: Arc::new(SnmpStats::default()),
                pool: Pool::default(),
                next_id: std::sync::atomic::AtomicU32::new(seed()),
            }),
        })
    }

    /// Waits for one of `max_in_flight` poll slots (FIFO). A poll sends one request at a
    /// time, so this bounds requests in flight too; its point is overload. When the CPU
    /// cannot keep up, letting every due poll run at once shares it among thousands of
    /// polls that all miss their deadline (measured: 5,000 polls/s offered on 2 cores gave
    /// 0 successful polls). With slots, running polls finish at full speed and the rest wait
    /// without spending CPU; the ones that wait past their deadline fail cheaply.
    pub async fn poll_slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.inner
            .poll_slots
            .acquire()
            .await
            .expect("the poll slot semaphore is never closed")
    }

    /// The number of poll slots and the cap on requests in flight.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight
    }

    /// Traffic counters.
    pub fn stats(&self) -> &Arc<SnmpStats> {
        &self.inner.stats
    }

    /// Datagrams dropped as late, duplicate, unmatched or garbage replies.
    pub fn discarded_datagrams(&self) -> u64 {
        let mut n = self.inner.v4.stats().discarded_datagrams;
        if let Some(v6) = &self.inner.v6 {
            n += v6.stats().discarded_datagrams;
        }
        n + self.inner.pool.discarded.load(Ordering::Relaxed)
    }

    /// Datagrams the kernel dropped because the shared sockets' receive buffers were full
    /// (the `drops` column of `/proc/net/udp{,6}`); `None` where that file is unreadable.
    /// Non-zero means replies were lost before octopoll saw them: raise
    /// `net.core.rmem_max` or lower `--max-in-flight`.
    pub fn socket_drops(&self) -> Option<u64> {
        let mut total = None;
        let pooled = self.inner.pool.ports();
        let shared = [Some(&self.inner.v4), self.inner.v6.as_ref()];
        for (t, file) in shared.into_iter().zip(["/proc/net/udp", "/proc/net/udp6"]) {
            let table = std::fs::read_to_string(file).ok()?;
            let ports = t
                .map(|t| t.local_addr().port())
                .into_iter()
                .chain(pooled.iter().copied());
            for port in ports {
                if let Some(d) = udp_drops(&table, port) {
                    *total.get_or_insert(0) += d;
                }
            }
        }
        total
    }

    /// Resolves `host` (bounded by `timeout`) and builds a session for it.
    pub async fn session(
        &self,
        host: &str,
        port: u16,
        auth: &config::Auth,
        timeout: Duration,
        retries: u32,
    ) -> Result<Session, SnmpError> {
        let addr = resolve(host, port, timeout).await?;
        self.session_for(addr, auth, timeout, retries).await
    }

    /// Builds a session for an already resolved address.
    pub async fn session_for(
        &self,
        addr: SocketAddr,
        auth: &config::Auth,
        timeout: Duration,
        retries: u32,
    ) -> Result<Session, SnmpError> {
        let retries = retries.min(lib::MAX_RETRIES);
        let backend = match &auth.kind {
            AuthKind::V1 { community } | AuthKind::V2c { community } => {
                Backend::Community(Community {
                    version: if matches!(auth.kind, AuthKind::V1 { .. }) {
                        ber::VERSION_1
                    } else {
                        ber::VERSION_2C
                    },
                    community: community.expose().as_bytes().to_vec(),
                    addr,
                    engine: self.inner.clone(),
                })
            }
            AuthKind::V3(_) => Backend::Usm(self.usm_client(addr, auth, timeout, retries).await?),
        };
        Ok(Session {
            backend,
            v3_priv: matches!(&auth.kind, AuthKind::V3(u) if u.privacy.is_some()),
            discovery: tokio::sync::OnceCell::new(),
            answered: std::sync::atomic::AtomicBool::new(false),
            v1: matches!(auth.kind, AuthKind::V1 { .. }),
            timeout,
            attempts: retries + 1,
            in_flight: self.inner.in_flight.clone(),
            stats: self.inner.stats.clone(),
            limits: Arc::default(),
        })
    }

    /// async-snmp's client for an SNMPv3 device, on the shared socket of its family.
    async fn usm_client(
        &self,
        addr: SocketAddr,
        auth: &config::Auth,
        timeout: Duration,
        retries: u32,
    ) -> Result<lib::Client<lib::UdpHandle>, SnmpError> {
        let transport = match addr {
            SocketAddr::V4(_) => &self.inner.v4,
            SocketAddr::V6(_) => self
                .inner
                .v6
                .as_ref()
                .ok_or_else(|| SnmpError::Network("no IPv6 socket on this host".into()))?,
        };
        let (initial, max) = backoff(timeout);
        let retry = lib::Retry::exponential(retries)
            .initial_delay(initial)
            .max_delay(max)
            .jitter(BACKOFF_JITTER)
            .build()
            .map_err(|e| SnmpError::Other(e.to_string()))?;
        let mut builder = lib::Client::builder(addr, to_lib_auth(&auth.kind)?)
            .request_timeout(timeout)
            .retry(retry)
            // A reply must come from the address we asked; anything else is dropped.
            .strict_source(true)
            // Let the agent's unauthenticated USM Reports (unknownUserName, wrongDigest,
            // ...) through as typed errors instead of dropping them and timing out, so a
            // wrong user or password says so. They can only end a request early (an
            // on-path attacker could as well drop it); a notInTimeWindow one is applied to
            // one packet only and never trusted (see async-snmp's docs).
            .allow_unauthenticated_v3_time_correction(true)
            .engine_cache(self.inner.engine_cache.clone());
        if let AuthKind::V3(usm) = &auth.kind {
            if matches!(usm.privacy, Some((config::PrivProtocol::Des, _))) {
                builder = builder.des_salt_state(self.inner.des_salt.clone());
            }
        }
        builder.build_with(transport).await.map_err(map_error)
    }
}

/// A seed for request ids and jitter: differs between runs (so a restarted octopoll does not
/// reuse the ids of its last requests, which late replies may still carry).
fn seed() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u32) ^ std::process::id().rotate_left(16)
}

/// Jitter of the retry backoff (±25%): devices that timed out together (a link blip)
/// do not retransmit in lockstep.
const BACKOFF_JITTER: f64 = 0.25;

/// Backoff before retransmission k (0-based) is `initial × 2^k`, capped at `max`: a quarter
/// of the timeout (at most 250 ms) doubling up to one timeout. An agent or link that is
/// slow right now gets a breather instead of an immediate second copy of the request.
fn backoff(timeout: Duration) -> (Duration, Duration) {
    ((timeout / 4).min(Duration::from_millis(250)), timeout)
}

/// How many retransmissions had been sent when a reply came `elapsed` after the first
/// send: attempts start at k × timeout plus the nominal backoffs before them. Used to
/// count retries, which async-snmp does not report.
fn retries_before(elapsed: Duration, timeout: Duration, attempts: u32) -> u32 {
    let (initial, max) = backoff(timeout);
    let mut start = Duration::ZERO;
    let mut delay = initial;
    let mut retried = 0;
    while retried + 1 < attempts {
        start += timeout + delay;
        if elapsed < start {
            break;
        }
        retried += 1;
        delay = (delay * 2).min(max);
    }
    retried
}

/// async-snmp refuses DES privacy without "durable" salt state: the 64-bit salt (boots
/// epoch, counter) that makes each DES IV unique must never repeat under one key, even
/// across restarts. octopoll keeps no state file; instead the epoch is the Unix time in
/// seconds at start-up, so a later start always uses a larger epoch than an earlier one
/// (unless the clock steps back or two processes start in the same second). Before this,
/// every DES device failed with "durable DES sender state is required".
fn des_salt_state() -> Result<lib::DesSaltState, SnmpError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    // Engine boots stop at 2^31 - 1 (RFC 3414); restart() adds one to `previous`.
    let previous = u32::try_from(now)
        .unwrap_or(u32::MAX)
        .clamp(1, i32::MAX as u32 - 1);
    let bad = |e: lib::DesSaltStateError| SnmpError::Other(format!("DES salt state: {e}"));
    let previous = lib::PersistedDesSaltState::new(previous).map_err(bad)?;
    lib::DesSaltState::restart(previous, |_| Ok::<(), std::convert::Infallible>(())).map_err(bad)
}

async fn bind(addr: &str) -> Result<lib::UdpTransport, SnmpError> {
    lib::UdpTransport::builder()
        .bind(addr)
        .max_message_size(MAX_MESSAGE_SIZE)
        .recv_buffer_size(RECV_BUFFER)
        .build()
        .await
        .map_err(map_error)
}

async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<SocketAddr, SnmpError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let fut = tokio::net::lookup_host((host, port));
    let err = |reason: String| SnmpError::Resolve {
        host: host.to_string(),
        reason,
    };
    match tokio::time::timeout(timeout.max(Duration::from_secs(1)), fut).await {
        Err(_) => Err(err("timed out".into())),
        Ok(Err(e)) => Err(err(e.to_string())),
        Ok(Ok(mut addrs)) => addrs.next().ok_or_else(|| err("no address".into())),
    }
}

fn to_lib_auth(kind: &AuthKind) -> Result<lib::Auth, SnmpError> {
    use config::{AuthProtocol as A, PrivProtocol as P};
    Ok(match kind {
        AuthKind::V1 { community } => lib::Auth::v1(community.expose().as_bytes().to_vec()),
        AuthKind::V2c { community } => lib::Auth::v2c(community.expose().as_bytes().to_vec()),
        AuthKind::V3(usm) => {
            let mut cfg = lib::UsmConfig::new(usm.username.clone().into_bytes());
            let auth_proto = |p: A| match p {
                A::Md5 => lib::AuthProtocol::Md5,
                A::Sha => lib::AuthProtocol::Sha1,
                A::Sha224 => lib::AuthProtocol::Sha224,
                A::Sha256 => lib::AuthProtocol::Sha256,
                A::Sha384 => lib::AuthProtocol::Sha384,
                A::Sha512 => lib::AuthProtocol::Sha512,
            };
            let priv_proto = |p: P| match p {
                P::Des => lib::PrivProtocol::Des,
                P::Aes => lib::PrivProtocol::Aes128,
                P::Aes192 => lib::PrivProtocol::Aes192Blumenthal,
                P::Aes256 => lib::PrivProtocol::Aes256Blumenthal,
                P::Aes192C => lib::PrivProtocol::Aes192Reeder,
                P::Aes256C => lib::PrivProtocol::Aes256Reeder,
            };
            let bad = |e: lib::CryptoError| SnmpError::Auth(e.to_string());
            cfg = match (&usm.auth, &usm.privacy) {
                (Some((ap, apw)), Some((pp, ppw))) => cfg
                    .auth_priv(auth_proto(*ap), apw.expose(), priv_proto(*pp), ppw.expose())
                    .map_err(bad)?,
                (Some((ap, apw)), None) => cfg.auth(auth_proto(*ap), apw.expose()).map_err(bad)?,
                _ => cfg,
            };
            if !usm.context_name.is_empty() {
                cfg = cfg.context_name(usm.context_name.clone().into_bytes());
            }
            lib::Auth::from(cfg)
        }
    })
}

/// One device's client. Cheap: sockets belong to the engine.
pub struct Session {
    backend: Backend,
    /// SNMPv3 with privacy (for the wrong-privacy-password diagnosis).
    v3_priv: bool,
    /// SNMPv3: this session's own engine discovery, done once before its first request.
    discovery: tokio::sync::OnceCell<()>,
    /// Some request of this session got a reply.
    answered: std::sync::atomic::AtomicBool,
    v1: bool,
    timeout: Duration,
    attempts: u32,
    in_flight: Arc<Semaphore>,
    stats: Arc<SnmpStats>,
    /// What walks learned about this agent's replies (see [`ReplyLimits`]).
    limits: Arc<ReplyLimits>,
}

/// How a session talks to its agent.
enum Backend {
    /// SNMPv1/v2c: octopoll's own encoding over the engine's socket pool.
    Community(Community),
    /// SNMPv3: async-snmp's client (USM).
    Usm(lib::Client<lib::UdpHandle>),
}

/// An SNMPv1/v2c agent.
struct Community {
    /// [`ber::VERSION_1`] or [`ber::VERSION_2C`].
    version: i64,
    community: Vec<u8>,
    addr: SocketAddr,
    engine: Arc<EngineInner>,
}

impl Session {
    /// Uses `limits` (learned by an earlier session of the same device) instead of
    /// starting from nothing: a session rebuilt after a failed poll then spends no
    /// request rediscovering the agent's reply size.
    pub fn with_reply_limits(mut self, limits: Arc<ReplyLimits>) -> Session {
        self.limits = limits;
        self
    }

    /// What walks on this session learned about the agent's replies, to hand to a
    /// rebuilt session with [`Session::with_reply_limits`].
    pub fn learned_limits(&self) -> Arc<ReplyLimits> {
        self.limits.clone()
    }

    /// GET of several OIDs in one PDU. Missing objects come back as exception values
    /// (SNMPv1's noSuchName is returned as an error for the caller to handle).
    pub async fn get(&self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        match &self.backend {
            Backend::Community(c) => {
                let mut out = Collected::default();
                self.exchange(c, ber::GET, oids, 0, 0, &mut out).await?;
                Ok(out.0)
            }
            Backend::Usm(client) => {
                let lib_oids: Vec<lib::Oid> = oids.iter().map(to_lib_oid).collect();
                self.run_usm(client, || async {
                    client.get_many(&lib_oids).await.map(|r| r.varbinds)
                })
                .await
            }
        }
    }

    /// Forgets the SNMPv3 engine (after the device was replaced or rebooted with a new
    /// engine ID); the next request rediscovers it. Nothing to forget on v1/v2c.
    pub async fn rediscover(&self) -> Result<(), SnmpError> {
        match &self.backend {
            Backend::Community(_) => Ok(()),
            Backend::Usm(client) => client.rediscover_engine().await.map_err(map_error),
        }
    }

    /// One SNMPv1/v2c request: sent, retransmitted after each timeout with the retry
    /// backoff (the same request id, so a late reply to any copy counts), answered by
    /// the first reply from the agent's address with that id, whose varbinds are
    /// appended to `out`.
    async fn exchange<S: VarbindSink + Send>(
        &self,
        c: &Community,
        pdu: u8,
        oids: &[Oid],
        non_repeaters: u32,
        max_repetitions: u32,
        out: &mut S,
    ) -> Result<(), SnmpError> {
        let _permit = self.start_request().await?;
        let request_id = c.engine.request_id();
        let mut sock = c.engine.pool.take(c.addr).map_err(|e| self.network(e))?;
        let mut datagram = std::mem::take(&mut sock.send_buf);
        ber::encode_request(
            &mut datagram,
            &ber::Request {
                version: c.version,
                community: &c.community,
                pdu,
                request_id,
                non_repeaters,
                max_repetitions,
                oids,
            },
        );
        let result = self
            .send_and_receive(c, &mut sock, &datagram, request_id, out)
            .await;
        sock.send_buf = datagram;
        result
    }

    /// Waits for one of the engine's in-flight slots and counts the request.
    async fn start_request(&self) -> Result<tokio::sync::SemaphorePermit<'_>, SnmpError> {
        // The semaphore is never closed, so acquire only fails if it were.
        let permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| SnmpError::Other("engine shut down".into()))?;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        Ok(permit)
    }

    /// A network error, counted.
    fn network(&self, e: std::io::Error) -> SnmpError {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        SnmpError::Network(e.to_string())
    }

    /// The attempts of one exchange on `sock`.
    async fn send_and_receive<S: VarbindSink + Send>(
        &self,
        c: &Community,
        sock: &mut super::udp::Checkout<'_>,
        datagram: &[u8],
        request_id: i32,
        out: &mut S,
    ) -> Result<(), SnmpError> {
        let (initial, max) = backoff(self.timeout);
        for attempt in 0..self.attempts {
            if attempt > 0 {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                let jitter = jitter_factor(c.engine.request_id() as u32);
                let delay = (initial * 2u32.saturating_pow(attempt - 1)).min(max);
                tokio::time::sleep(delay.mul_f64(jitter).min(max)).await;
            }
            sock.send_to(datagram, c.addr)
                .await
                .map_err(|e| self.network(e))?;
            let reply = sock.recv_until(|d, from| {
                let status = (from == c.addr)
                    .then(|| ber::envelope(d).ok())
                    .flatten()
                    .filter(|e| {
                        e.version == c.version
                            && e.community == c.community.as_slice()
                            && e.pdu == ber::RESPONSE
                            && e.request_id == i64::from(request_id)
                    })
                    .and_then(|e| e.response_each(out).ok());
                if status.is_none() {
                    c.engine.pool.discard();
                }
                status
            });
            match tokio::time::timeout(self.timeout, reply).await {
                Ok(Ok((status, index))) => return self.status(status, index),
                Ok(Err(e)) => return Err(self.network(e)),
                Err(_) => {}
            }
        }
        self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
        Err(SnmpError::Timeout {
            attempts: self.attempts,
            timeout: self.timeout,
        })
    }

    /// A v1/v2c Response's error status as an error (0: none).
    fn status(&self, status: i64, index: i64) -> Result<(), SnmpError> {
        self.answered.store(true, Ordering::Relaxed);
        if status == 0 {
            return Ok(());
        }
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        let index = u32::try_from(index).unwrap_or(0);
        Err(match status {
            1 => SnmpError::TooBig,
            2 => SnmpError::NoSuchName { index },
            s => SnmpError::Status {
                status: lib::ErrorStatus::from_i32(i32::try_from(s).unwrap_or(-1)).to_string(),
                index,
            },
        })
    }

    async fn run_usm<F, Fut>(
        &self,
        client: &lib::Client<lib::UdpHandle>,
        f: F,
    ) -> Result<Vec<(Oid, Value)>, SnmpError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = lib::Result<Vec<lib::VarBind>>>,
    {
        let _permit = self.start_request().await?;
        // Discover the agent's engine afresh for every new session instead of taking it
        // from the shared engine cache: a device replaced by one with a new engine ID
        // (same address) is then picked up by the session the poller builds after the
        // first failure, where the cache would have handed out the stale engine for its
        // 300 s TTL and every request would have been dropped by the agent. Keys are
        // localized here, once per session; sessions live across successful polls.
        // Rediscovery also refreshes the cache entry.
        self.discovery
            .get_or_try_init(|| async { client.rediscover_engine().await })
            .await
            .map_err(|e| self.failed(e))?;
        let started = Instant::now();
        let result = f().await;
        let elapsed = started.elapsed();
        match result {
            Ok(varbinds) => {
                self.answered.store(true, Ordering::Relaxed);
                let retried = u64::from(retries_before(elapsed, self.timeout, self.attempts));
                self.stats
                    .retries
                    .fetch_add(retried.min(u64::from(self.attempts - 1)), Ordering::Relaxed);
                Ok(varbinds.into_iter().map(from_lib_varbind).collect())
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    /// Maps and counts a failed SNMPv3 exchange.
    fn failed(&self, e: Box<lib::Error>) -> SnmpError {
        let e = map_error(e);
        if let SnmpError::Timeout { .. } = e {
            self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
            self.stats
                .retries
                .fetch_add(u64::from(self.attempts - 1), Ordering::Relaxed);
            // net-snmp silently drops a request it cannot decrypt (no decryptionError
            // Report), so a wrong privacy password looks like a dead agent. It is not: it
            // answered this session's discovery moments ago but never a request.
            if self.v3_priv
                && self.discovery.initialized()
                && !self.answered.load(Ordering::Relaxed)
            {
                return SnmpError::Auth(format!(
                    "no response to encrypted requests after {} attempt(s) of {:?} each, \
                     although the agent answers SNMPv3 discovery: privacy password or \
                     protocol probably wrong",
                    self.attempts, self.timeout
                ));
            }
            SnmpError::Timeout {
                attempts: self.attempts,
                timeout: self.timeout,
            }
        } else {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
            e
        }
    }
}

/// One exchange's varbinds, collected (a fresh vector per exchange, so a malformed
/// reply is discarded by clearing it).
#[derive(Default)]
struct Collected(Vec<(Oid, Value)>);

impl VarbindSink for Collected {
    fn push(&mut self, oid: Oid, value: Value) {
        self.0.push((oid, value));
    }

    fn discard(&mut self) {
        self.0.clear();
    }
}

/// A factor in [1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER] from `seed` (a fresh request id:
/// devices that timed out together draw different ones).
fn jitter_factor(seed: u32) -> f64 {
    let mut z = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
    1.0 - BACKOFF_JITTER + 2.0 * BACKOFF_JITTER * unit
}

impl Requester for Session {
    fn is_v1(&self) -> bool {
        self.v1
    }

    async fn get_bulk_each<S: VarbindSink + Send>(
        &self,
        oids: &[Oid],
        non_repeaters: u32,
        max_repetitions: u32,
        sink: &mut S,
    ) -> Result<(), SnmpError> {
        match &self.backend {
            Backend::Community(c) => {
                self.exchange(c, ber::GET_BULK, oids, non_repeaters, max_repetitions, sink)
                    .await
            }
            Backend::Usm(_) => {
                for (oid, value) in self.get_bulk(oids, non_repeaters, max_repetitions).await? {
                    sink.push(oid, value);
                }
                Ok(())
            }
        }
    }

    fn reply_limits(&self) -> Option<&ReplyLimits> {
        Some(&self.limits)
    }

    async fn get_bulk(
        &self,
        oids: &[Oid],
        non_repeaters: u32,
        max_repetitions: u32,
    ) -> Result<Vec<(Oid, Value)>, SnmpError> {
        match &self.backend {
            Backend::Community(c) => {
                let mut out = Collected::default();
                self.exchange(
                    c,
                    ber::GET_BULK,
                    oids,
                    non_repeaters,
                    max_repetitions,
                    &mut out,
                )
                .await?;
                Ok(out.0)
            }
            Backend::Usm(client) => {
                let lib_oids: Vec<lib::Oid> = oids.iter().map(to_lib_oid).collect();
                self.run_usm(client, || {
                    client.get_bulk(&lib_oids, non_repeaters, max_repetitions)
                })
                .await
            }
        }
    }

    async fn get_next(&self, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
        match &self.backend {
            Backend::Community(c) => {
                let mut out = Collected::default();
                self.exchange(c, ber::GET_NEXT, oids, 0, 0, &mut out)
                    .await?;
                Ok(out.0)
            }
            Backend::Usm(client) => {
                let lib_oids: Vec<lib::Oid> = oids.iter().map(to_lib_oid).collect();
                self.run_usm(client, || async {
                    client.get_next_many(&lib_oids).await.map(|r| r.varbinds)
                })
                .await
            }
        }
    }
}

/// The `drops` of the socket bound to local `port` in a `/proc/net/udp` table. Lines are
/// `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer
/// drops`, addresses as `HEXIP:HEXPORT`.
fn udp_drops(table: &str, port: u16) -> Option<u64> {
    let want = format!(":{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.len() >= 13 && f[1].ends_with(&want))
            .then(|| f[12].parse().ok())
            .flatten()
    })
}

/// Decodes one SNMP datagram into our varbinds, the way a reply's values reach the
/// walker: v1 and v2c with octopoll's own decoder (the client's path), anything else (a
/// plaintext v3 message) with async-snmp's. For the fuzzer and tests.
pub fn decode_message(datagram: &[u8]) -> Result<Vec<(Oid, Value)>, SnmpError> {
    match ber::envelope(datagram) {
        Ok(e)
            if (e.version == ber::VERSION_1 || e.version == ber::VERSION_2C)
                && e.pdu != ber::TRAP_V1 =>
        {
            e.response()
                .map(|r| r.varbinds)
                .map_err(|e| SnmpError::BadResponse(e.to_string()))
        }
        // v3 (its header is no community), a v1 trap, or garbage.
        _ => decode_with_async_snmp(datagram),
    }
}

/// async-snmp's decode of any SNMP message, mapped to our values (what the client did
/// for v1/v2c before [`super::ber`]; still its path for v3). The reference the fuzzer
/// and the unit tests compare [`super::ber`] with.
pub fn decode_with_async_snmp(datagram: &[u8]) -> Result<Vec<(Oid, Value)>, SnmpError> {
    let msg = lib::message::Message::decode(
        bytes::Bytes::copy_from_slice(datagram),
        lib::DecodeConfig::default(),
    )
    .map_err(map_error)?
    .value;
    let pdu = msg
        .into_pdu()
        .ok_or_else(|| SnmpError::BadResponse("no readable PDU".into()))?;
    Ok(pdu
        .into_varbinds()
        .into_iter()
        .map(from_lib_varbind)
        .collect())
}

fn to_lib_oid(oid: &Oid) -> lib::Oid {
    lib::Oid::from_slice(oid.arcs())
}

fn from_lib_varbind(vb: lib::VarBind) -> (Oid, Value) {
    (Oid::from_arcs(vb.oid.arcs()), from_lib_value(vb.value))
}

/// Maps the library's value to ours; the SMI type is kept.
fn from_lib_value(v: lib::Value) -> Value {
    match v {
        lib::Value::Integer(i) => Value::Integer(i64::from(i)),
        lib::Value::OctetString(b) => Value::OctetString(b.to_vec()),
        lib::Value::Null => Value::Null,
        lib::Value::ObjectIdentifier(o) => Value::ObjectId(Oid::from_arcs(o.arcs())),
        lib::Value::IpAddress(a) => Value::IpAddress(a),
        lib::Value::Counter32(c) => Value::Counter32(c),
        lib::Value::Gauge32(g) | lib::Value::UInteger32(g) => Value::Gauge32(g),
        lib::Value::TimeTicks(t) => Value::TimeTicks(t),
        lib::Value::Opaque(b) => Value::Opaque(b.to_vec()),
        lib::Value::Counter64(c) => Value::Counter64(c),
        lib::Value::NoSuchObject => Value::NoSuchObject,
        lib::Value::NoSuchInstance => Value::NoSuchInstance,
        lib::Value::EndOfMibView => Value::EndOfMibView,
        _ => Value::Unknown,
    }
}

#[allow(clippy::boxed_local)] // the library hands errors over boxed
fn map_error(e: Box<lib::Error>) -> SnmpError {
    use lib::{Error as E, ErrorStatus as S};
    match e.exchange_source() {
        E::Timeout { .. } => SnmpError::Timeout {
            attempts: 0,
            timeout: Duration::ZERO,
        },
        E::Snmp {
            status: S::TooBig, ..
        } => SnmpError::TooBig,
        E::Snmp {
            status: S::NoSuchName,
            index,
            ..
        } => SnmpError::NoSuchName { index: *index },
        E::Snmp { status, index, .. } => SnmpError::Status {
            status: status.to_string(),
            index: *index,
        },
        // A reply whose digest or time check failed on our side.
        E::Auth { .. } => SnmpError::Auth(
            "reply failed authentication (authentication password or protocol?)".into(),
        ),
        E::Report { status, .. } => SnmpError::Auth(report_message(status)),
        E::Network { source, .. } => SnmpError::Network(source.to_string()),
        E::Decode(d) => SnmpError::BadResponse(d.to_string()),
        E::MalformedResponse { .. } => SnmpError::BadResponse("malformed response".into()),
        other => SnmpError::Other(other.to_string()),
    }
}

/// The agent's USM Report, worded for an operator: which credential is wrong. The
/// library's text carries the agent's ever-growing counter, which made the status page
/// change on every poll and hid what to fix.
fn report_message(status: &lib::v3::ReportStatus) -> String {
    use lib::v3::ReportStatus as R;
    match status {
        R::UnknownUserName { .. } => "unknown user name (the agent has no such USM user)".into(),
        R::WrongDigest { .. } => {
            "wrong digest (authentication password or protocol does not match the agent's)".into()
        }
        R::DecryptionError { .. } => {
            "decryption error (privacy password or protocol does not match the agent's)".into()
        }
        R::UnsupportedSecurityLevel { .. } => {
            "unsupported security level (the agent's user is not set up for this level)".into()
        }
        R::NotInTimeWindow { .. } => {
            "not in time window (the agent's engine boots/time moved twice in a row)".into()
        }
        R::UnknownEngineId { .. } => {
            "unknown engine ID (the agent was replaced or reset; rediscovering)".into()
        }
        R::Other { oid, .. } => format!("agent sent an unrecognised Report ({oid})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_backoff_schedule() {
        let t = Duration::from_secs(1);
        // Attempts start at 0, 1 + 0.25 = 1.25, 1.25 + 1 + 0.5 = 2.75, 2.75 + 1 + 1 = 4.75.
        let at = |ms| retries_before(Duration::from_millis(ms), t, 4);
        assert_eq!(at(10), 0);
        assert_eq!(at(1200), 0);
        assert_eq!(at(1300), 1);
        assert_eq!(at(2700), 1);
        assert_eq!(at(2800), 2);
        assert_eq!(at(4800), 3);
        assert_eq!(at(60_000), 3, "never more than attempts - 1");
        assert_eq!(retries_before(Duration::from_secs(9), t, 1), 0);
        assert_eq!(
            backoff(Duration::from_secs(5)).0,
            Duration::from_millis(250)
        );
    }

    #[test]
    fn udp_drops_reads_the_column_of_our_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
   1: 0100007F:3E81 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0\n\
   2: 00000000:9C41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 17\n";
        assert_eq!(udp_drops(table, 0x9C41), Some(17));
        assert_eq!(udp_drops(table, 16001), Some(0));
        assert_eq!(udp_drops(table, 1), None);
    }

    #[test]
    fn maps_every_numeric_type_keeping_width() {
        let cases = [
            (lib::Value::Counter32(7), Value::Counter32(7)),
            (lib::Value::Counter64(u64::MAX), Value::Counter64(u64::MAX)),
            (lib::Value::Gauge32(1000), Value::Gauge32(1000)),
            (lib::Value::UInteger32(3), Value::Gauge32(3)),
            (lib::Value::TimeTicks(12345), Value::TimeTicks(12345)),
            (lib::Value::Integer(-5), Value::Integer(-5)),
            (lib::Value::EndOfMibView, Value::EndOfMibView),
        ];
        for (input, want) in cases {
            assert_eq!(from_lib_value(input), want);
        }
    }
}
