//! Alerts from notifications to Alertmanager's API v2 (`POST {url}/api/v2/alerts`).
//!
//! One task owns the queue; callers hand it alerts with `try_send` and never wait, so a
//! slow or unreachable Alertmanager cannot hold up notifications or polling. While
//! Alertmanager is unreachable the queue holds up to `alertmanager.queue_size` alerts
//! (then the oldest are dropped and counted) and POSTs are retried with backoff
//! ([`BACKOFF_MIN`] doubling to [`BACKOFF_MAX`]). Open alerts with a state (a linkDown until
//! its linkUp) are re-sent every [`RESEND`] with an end [`OPEN_FOR`] ahead, as Alertmanager
//! expects of its clients: if octopoll goes away, they resolve by themselves.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::AlertmanagerConfig;
use crate::traps::stats::AlertStats;

/// Commands waiting for the sender task; beyond, alerts are dropped (and counted).
const CHANNEL: usize = 4096;
/// Alerts per POST.
const BATCH: usize = 100;
/// How often open alerts are re-sent.
pub const RESEND: Duration = Duration::from_secs(60);
/// An open alert's end time, from each send: it resolves by itself this long after
/// octopoll stops re-sending it.
pub const OPEN_FOR: Duration = Duration::from_secs(300);
/// First retry delay after a failed POST.
pub const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// Longest retry delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Connect + request + response, per POST.
const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// One alert as Alertmanager's API takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Identifying labels (`alertname`, `device`, ...).
    pub labels: BTreeMap<String, String>,
    /// Non-identifying text (`summary`, `description`).
    pub annotations: BTreeMap<String, String>,
    /// When it began.
    pub starts_at: SystemTime,
    /// When it ends (one-shot: start + expiry; resolved: now); `None` while open.
    pub ends_at: Option<SystemTime>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Postable<'a> {
    labels: &'a BTreeMap<String, String>,
    annotations: &'a BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The JSON body of one POST; open alerts (`ends_at: None`) end [`OPEN_FOR`] after `now`.
pub fn body(alerts: &[Alert], now: SystemTime) -> Vec<u8> {
    let list: Vec<Postable> = alerts
        .iter()
        .map(|a| Postable {
            labels: &a.labels,
            annotations: &a.annotations,
            starts_at: rfc3339(a.starts_at),
            ends_at: rfc3339(a.ends_at.unwrap_or(now + OPEN_FOR)),
        })
        .collect();
    serde_json::to_vec(&list).unwrap_or_else(|_| b"[]".to_vec())
}

enum Command {
    Configure(Option<Arc<AlertmanagerConfig>>),
    Fire(Alert),
    Open(String, Alert),
    Resolve(String, Alert),
}

/// The handle callers use; cheap to clone.
#[derive(Clone, Debug)]
pub struct AlertSender {
    tx: mpsc::Sender<Command>,
    stats: Arc<crate::traps::TrapMetrics>,
}

impl AlertSender {
    /// Starts the sender task (idle until configured) until `shutdown`.
    pub fn spawn(
        stats: Arc<crate::traps::TrapMetrics>,
        shutdown: CancellationToken,
    ) -> AlertSender {
        let (tx, rx) = mpsc::channel(CHANNEL);
        tokio::spawn(Worker::new(stats.clone()).run(rx, shutdown));
        AlertSender { tx, stats }
    }

    fn send(&self, c: Command) {
        if self.tx.try_send(c).is_err() {
            self.stats.alerts.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Where alerts go from now on (`None`: nowhere; the queue is emptied).
    pub fn configure(&self, config: Option<Arc<AlertmanagerConfig>>) {
        // In order with the alerts sent after it; if the channel is full, a configuration
        // change must still not be lost: wait for room in the background.
        if let Err(mpsc::error::TrySendError::Full(c)) =
            self.tx.try_send(Command::Configure(config))
        {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(c).await;
            });
        }
    }

    /// A one-shot alert (its `ends_at` set).
    pub fn fire(&self, alert: Alert) {
        self.send(Command::Fire(alert));
    }

    /// Opens an alert with a state under `key`, re-sent until [`AlertSender::resolve`].
    pub fn open(&self, key: String, alert: Alert) {
        self.send(Command::Open(key, alert));
    }

    /// Resolves the alert open under `key`; `alert` is sent resolved if none is open (one
    /// opened before a restart has the same labels).
    pub fn resolve(&self, key: String, alert: Alert) {
        self.send(Command::Resolve(key, alert));
    }
}

struct Worker {
    config: Option<Arc<AlertmanagerConfig>>,
    queue: VecDeque<Alert>,
    active: BTreeMap<String, Alert>,
    backoff: Duration,
    retry_at: Option<Instant>,
    last_resend: Instant,
    stats: Arc<crate::traps::TrapMetrics>,
}

/// Why a POST failed.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Not reachable, timed out, or a 5xx/429: retried.
    #[error("{0}")]
    Retry(String),
    /// Alertmanager refused the alerts (4xx): retrying would not help.
    #[error("{0}")]
    Refused(String),
}

impl Worker {
    fn new(stats: Arc<crate::traps::TrapMetrics>) -> Worker {
        Worker {
            config: None,
            queue: VecDeque::new(),
            active: BTreeMap::new(),
            backoff: BACKOFF_MIN,
            retry_at: None,
            last_resend: Instant::now(),
            stats,
        }
    }

    fn stats(&self) -> &AlertStats {
        &self.stats.alerts
    }

    fn enqueue(&mut self, alert: Alert) {
        let Some(cfg) = &self.config else { return };
        while self.queue.len() >= cfg.queue_size {
            self.queue.pop_front();
            self.stats().dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.queue.push_back(alert);
    }

    fn apply(&mut self, c: Command) {
        match c {
            Command::Configure(cfg) => {
                if cfg.is_none() {
                    self.queue.clear();
                    self.active.clear();
                }
                if let (Some(new), Some(old)) = (&cfg, &self.config) {
                    if new.url != old.url {
                        self.retry_at = None;
                        self.backoff = BACKOFF_MIN;
                    }
                }
                self.config = cfg;
                if let Some(cfg) = &self.config {
                    while self.queue.len() > cfg.queue_size {
                        self.queue.pop_front();
                        self.stats().dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            _ if self.config.is_none() => {}
            Command::Fire(a) => self.enqueue(a),
            Command::Open(key, a) => {
                self.active.insert(key, a.clone());
                self.enqueue(a);
            }
            Command::Resolve(key, given) => {
                let mut a = self.active.remove(&key).unwrap_or(given);
                a.ends_at = Some(SystemTime::now());
                self.enqueue(a);
            }
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Command>, shutdown: CancellationToken) {
        loop {
            let wake = match (&self.config, self.retry_at) {
                (None, _) => Instant::now() + Duration::from_secs(3600),
                (Some(_), Some(at)) => at,
                (Some(_), None) if !self.queue.is_empty() => Instant::now(),
                (Some(_), None) => self.last_resend + RESEND,
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                c = rx.recv() => {
                    let Some(c) = c else { return };
                    self.apply(c);
                    while let Ok(c) = rx.try_recv() {
                        self.apply(c);
                    }
                }
                _ = tokio::time::sleep_until(wake) => {}
            }
            self.flush().await;
            self.stats()
                .queued
                .store(self.queue.len() as u64, Ordering::Relaxed);
        }
    }

    /// Sends what is due: the queue first, then the open alerts when a re-send is due.
    async fn flush(&mut self) {
        let Some(cfg) = self.config.clone() else {
            return;
        };
        let now = Instant::now();
        if self.retry_at.is_some_and(|at| at > now) {
            return;
        }
        let (batch, resend): (Vec<Alert>, bool) = if !self.queue.is_empty() {
            let n = self.queue.len().min(BATCH);
            (self.queue.iter().take(n).cloned().collect(), false)
        } else if now >= self.last_resend + RESEND {
            self.last_resend = now;
            (self.active.values().cloned().collect(), true)
        } else {
            return;
        };
        if batch.is_empty() {
            return;
        }
        let mut result = Ok(());
        for chunk in batch.chunks(BATCH) {
            result = post(&cfg.url, body(chunk, SystemTime::now())).await;
            if result.is_err() {
                break;
            }
        }
        match result {
            Ok(()) => {
                self.stats()
                    .sent
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                if !resend {
                    self.queue.drain(..batch.len());
                }
                self.backoff = BACKOFF_MIN;
                self.retry_at = None;
            }
            Err(PostError::Refused(e)) => {
                tracing::warn!(url = %cfg.url, error = %e, alerts = batch.len(), "Alertmanager refused alerts; dropped");
                self.stats()
                    .dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                if !resend {
                    self.queue.drain(..batch.len());
                }
            }
            Err(PostError::Retry(e)) => {
                self.stats().failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(url = %cfg.url, error = %e, retry_in = ?self.backoff, queued = self.queue.len(), "cannot send alerts to Alertmanager; will retry");
                if resend {
                    // Re-send the open alerts as soon as Alertmanager is back.
                    self.last_resend = now - RESEND;
                }
                self.retry_at = Some(now + self.backoff);
                self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// POSTs `body` to `{url}/api/v2/alerts` over a fresh HTTP/1.1 connection.
pub async fn post(url: &str, body: Vec<u8>) -> Result<(), PostError> {
    match tokio::time::timeout(POST_TIMEOUT, post_inner(url, body)).await {
        Ok(r) => r,
        Err(_) => Err(PostError::Retry(format!(
            "no answer within {POST_TIMEOUT:?}"
        ))),
    }
}

async fn post_inner(url: &str, body: Vec<u8>) -> Result<(), PostError> {
    let retry = |e: &dyn std::fmt::Display| PostError::Retry(e.to_string());
    let uri: hyper::Uri = format!("{url}/api/v2/alerts")
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| PostError::Refused(e.to_string()))?;
    let authority = uri
        .authority()
        .ok_or_else(|| PostError::Refused(format!("no host in {url}")))?
        .clone();
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| retry(&e))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| retry(&e))?;
    let conn = tokio::spawn(conn);
    let request = Request::post(uri.path())
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("octopoll/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| PostError::Refused(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| retry(&e));
    let outcome = match response {
        Err(e) => Err(e),
        Ok(resp) => {
            let status = resp.status();
            // The reply is short (empty or an error text); read a little of it for logs.
            let text = match resp.into_body().collect().await {
                Ok(b) => String::from_utf8_lossy(&b.to_bytes()[..])
                    .chars()
                    .take(200)
                    .collect(),
                Err(_) => String::new(),
            };
            if status.is_success() {
                Ok(())
            } else if status.is_client_error() && status != hyper::StatusCode::TOO_MANY_REQUESTS {
                Err(PostError::Refused(format!(
                    "HTTP {status}: {}",
                    text.trim()
                )))
            } else {
                Err(PostError::Retry(format!("HTTP {status}: {}", text.trim())))
            }
        }
    };
    conn.abort();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_api_v2_json() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let mut labels = BTreeMap::new();
        labels.insert("alertname".to_string(), "SnmpLinkDown".to_string());
        labels.insert("ifName".to_string(), "Gi0/\"1\"".to_string());
        let open = Alert {
            labels: labels.clone(),
            annotations: BTreeMap::from([("summary".to_string(), "down".to_string())]),
            starts_at: t,
            ends_at: None,
        };
        let done = Alert {
            ends_at: Some(t + Duration::from_secs(3600)),
            ..open.clone()
        };
        let text = String::from_utf8(body(&[open, done], t)).unwrap();
        assert_eq!(
            text,
            "[{\"labels\":{\"alertname\":\"SnmpLinkDown\",\"ifName\":\"Gi0/\\\"1\\\"\"},\"annotations\":{\"summary\":\"down\"},\
             \"startsAt\":\"2023-11-14T22:13:20.123Z\",\"endsAt\":\"2023-11-14T22:18:20.123Z\"},\
             {\"labels\":{\"alertname\":\"SnmpLinkDown\",\"ifName\":\"Gi0/\\\"1\\\"\"},\"annotations\":{\"summary\":\"down\"},\
             \"startsAt\":\"2023-11-14T22:13:20.123Z\",\"endsAt\":\"2023-11-14T23:13:20.123Z\"}]"
        );
    }

    fn alert(n: u32) -> Alert {
        Alert {
            labels: BTreeMap::from([("n".to_string(), n.to_string())]),
            annotations: BTreeMap::new(),
            starts_at: SystemTime::UNIX_EPOCH,
            ends_at: Some(SystemTime::UNIX_EPOCH),
        }
    }

    #[tokio::test]
    async fn queue_is_bounded_and_resolve_uses_the_opened_labels() {
        let stats = Arc::new(crate::traps::TrapMetrics::default());
        let mut w = Worker::new(stats.clone());
        // Not configured: nothing is kept, nothing counted.
        w.apply(Command::Fire(alert(0)));
        assert!(w.queue.is_empty());
        w.apply(Command::Configure(Some(Arc::new(AlertmanagerConfig {
            url: "http://127.0.0.1:1".into(),
            expiry: Duration::from_secs(60),
            queue_size: 3,
        }))));
        for n in 1..=5 {
            w.apply(Command::Fire(alert(n)));
        }
        let kept: Vec<&str> = w.queue.iter().map(|a| a.labels["n"].as_str()).collect();
        assert_eq!(kept, ["3", "4", "5"]);
        assert_eq!(stats.alerts.dropped.load(Ordering::Relaxed), 2);

        let mut opened = alert(10);
        opened.ends_at = None;
        w.apply(Command::Open("sw1/3".into(), opened));
        assert_eq!(w.active.len(), 1);
        w.apply(Command::Resolve("sw1/3".into(), alert(99)));
        assert!(w.active.is_empty());
        let last = w.queue.back().unwrap();
        assert_eq!(
            last.labels["n"], "10",
            "resolved with the labels it was opened with"
        );
        assert!(last.ends_at.is_some());

        // Unreachable Alertmanager: the queue stays, a retry is scheduled with backoff.
        w.flush().await;
        assert_eq!(w.queue.len(), 3);
        assert!(w.retry_at.is_some());
        assert_eq!(w.backoff, BACKOFF_MIN * 2);
        assert_eq!(stats.alerts.failures.load(Ordering::Relaxed), 1);

        w.apply(Command::Configure(None));
        assert!(w.queue.is_empty() && w.active.is_empty());
    }
}
