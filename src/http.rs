//! HTTP endpoints on hyper 1.x: defensive defaults (header-read timeout, small buffers,
//! GET/HEAD only where it applies), graceful drain on shutdown, no SNMP I/O at scrape.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::app::{AppState, ReloadRequest};
use crate::config::reload::Trigger;
use crate::metrics::collector::{registry, render, unix_seconds, Scope};
use crate::metrics::mapping::escape_label;

/// OpenMetrics text, as prometheus-client encodes it.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BUF: usize = 16 * 1024;
/// How long shutdown waits for open connections to finish.
const DRAIN: Duration = Duration::from_secs(5);

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Size of the chunks a streamed `/metrics` is sent in.
const CHUNK: usize = 256 * 1024;

/// `/metrics` with every device, encoded on a blocking thread and sent in chunks as it is
/// written. A buffered render held the whole body (64 MB for 1,000 devices × 55
/// interfaces, 638 MB for 10,000; peak RSS 1.5 GB there) once per concurrent scrape, and
/// blocked an async worker, and so polling, for the 0.2-5 s it took. Now a scrape holds a
/// few chunks; a client that goes away stops the encoding at its next chunk.
fn stream_metrics(registry: prometheus_client::registry::Registry) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut w = ChunkWriter {
            buf: String::with_capacity(CHUNK + CHUNK / 4),
            tx,
        };
        let result = prometheus_client::encoding::text::encode(&mut w, &registry);
        match result.and_then(|()| w.flush()) {
            Ok(()) => {}
            Err(_) if w.tx.is_closed() => {} // the client went away
            Err(e) => tracing::error!(error = %e, "encoding metrics failed"),
        }
    });
    Chunks(rx).boxed()
}

/// Collects encoder output and hands it over in [`CHUNK`]-sized pieces.
struct ChunkWriter {
    buf: String,
    tx: tokio::sync::mpsc::Sender<Bytes>,
}

impl ChunkWriter {
    fn flush(&mut self) -> std::fmt::Result {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, String::with_capacity(CHUNK + CHUNK / 4));
        // Waits while the client is CHUNK × 4 behind: the memory a scrape can hold.
        self.tx
            .blocking_send(Bytes::from(chunk))
            .map_err(|_| std::fmt::Error)
    }
}

impl std::fmt::Write for ChunkWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buf.push_str(s);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }
}

/// The receiving end of [`stream_metrics`] as an HTTP body.
struct Chunks(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// Serves until `shutdown`, then drains open connections (bounded by a few seconds).
pub async fn serve(listener: TcpListener, state: Arc<AppState>, shutdown: CancellationToken) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_BUF);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: log, back off a little, go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let web = state.web();
        let watcher = graceful.watcher();
        let http = http.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&state, req).await) }
            });
            let result = match web.tls.clone() {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), svc))
                        .await
                }
                Some(tls) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                    let tls_stream =
                        match tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream))
                            .await
                        {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    watcher
                        .watch(http.serve_connection(TokioIo::new(tls_stream), svc))
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("some HTTP connections did not finish within {DRAIN:?}");
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut r = Response::new(full(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn with_type(mut r: Response<Body>, ct: &'static str) -> Response<Body> {
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed; use {allow}\n"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// Decodes `application/x-www-form-urlencoded` query pairs.
fn query(q: Option<&str>) -> BTreeMap<String, String> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (b[i], hex) {
                (b'+', _) => out.push(b' '),
                (b'%', Some(v)) => {
                    out.push(v);
                    i += 2;
                }
                (c, _) => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

async fn handle(state: &Arc<AppState>, req: Request<Incoming>) -> Response<Body> {
    let web = state.web();
    if web.requires_auth() {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        // bcrypt is deliberately slow: keep it off the async workers.
        let header = header.map(str::to_string);
        let ok = tokio::task::spawn_blocking(move || web.authorized(header.as_deref()))
            .await
            .unwrap_or(false);
        if !ok {
            let mut r = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
            r.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"octopoll\""),
            );
            return r;
        }
    }
    let path = req.uri().path().to_string();
    let params = query(req.uri().query());
    let get_or_head = matches!(*req.method(), Method::GET | Method::HEAD);
    let head = req.method() == Method::HEAD;
    let resp = match path.as_str() {
        "/metrics" | "/probe" | "/targets" | "/config" | "/" | "/-/healthy" | "/-/ready"
            if !get_or_head =>
        {
            method_not_allowed("GET, HEAD")
        }
        "/metrics" => {
            let scope = match params.get("devices").map(String::as_str) {
                Some("false") | Some("0") => Scope::SelfOnly,
                _ => Scope::All,
            };
            let mut r = text(StatusCode::OK, "");
            if !head {
                if let Some(registry) = registry(&state.poller, &state.exporter, scope) {
                    *r.body_mut() = stream_metrics(registry);
                }
            }
            with_type(r, OPENMETRICS)
        }
        "/probe" => probe(state, params.get("device")),
        "/targets" => targets(state),
        "/config" => with_type(
            text(
                StatusCode::OK,
                crate::config::render_redacted(&state.config()),
            ),
            "application/yaml; charset=utf-8",
        ),
        "/-/healthy" => text(StatusCode::OK, "OK\n"),
        "/-/ready" => text(StatusCode::OK, "Ready\n"),
        "/-/reload" => {
            if req.method() != Method::POST && req.method() != Method::PUT {
                method_not_allowed("POST, PUT")
            } else {
                // Drain a (small) body so keep-alive works; its content is ignored.
                let _ = Limited::new(req.into_body(), 4096).collect().await;
                reload(state).await
            }
        }
        "/" => with_type(
            text(StatusCode::OK, status_page(state)),
            "text/html; charset=utf-8",
        ),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found; see / for the endpoints\n",
        ),
    };
    if head {
        let (parts, _) = resp.into_parts();
        return Response::from_parts(parts, full(Bytes::new()));
    }
    resp
}

fn probe(state: &Arc<AppState>, device: Option<&String>) -> Response<Body> {
    let Some(name) = device.filter(|d| !d.is_empty()) else {
        return text(StatusCode::BAD_REQUEST, "missing parameter: device\n");
    };
    let config = state.config();
    if !config.devices.iter().any(|d| &d.name == name) {
        return text(StatusCode::NOT_FOUND, format!("unknown device {name:?}\n"));
    }
    match render(&state.poller, &state.exporter, Scope::Device(name)) {
        Some(body) => with_type(text(StatusCode::OK, body), OPENMETRICS),
        None => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("device {name:?} not polled yet (not in this shard, or first poll pending)\n"),
        ),
    }
}

fn targets(state: &Arc<AppState>) -> Response<Body> {
    let config = state.config();
    let list: Vec<serde_json::Value> = state
        .poller
        .owned(&config)
        .map(|d| {
            let mut labels = serde_json::Map::new();
            for (k, v) in &d.labels {
                labels.insert(k.clone(), serde_json::Value::String(v.clone()));
            }
            labels.insert(
                "__meta_octopoll_address".into(),
                serde_json::Value::String(d.address.clone()),
            );
            labels.insert(
                "__meta_octopoll_interval".into(),
                serde_json::Value::String(format!("{}s", d.interval.as_secs_f64())),
            );
            serde_json::json!({"targets": [d.name], "labels": labels})
        })
        .collect();
    with_type(
        text(
            StatusCode::OK,
            serde_json::to_string(&list).unwrap_or_else(|_| "[]".into()),
        ),
        "application/json",
    )
}

async fn reload(state: &Arc<AppState>) -> Response<Body> {
    let (tx, rx) = oneshot::channel();
    let req = ReloadRequest {
        trigger: Trigger::Http,
        reply: Some(tx),
    };
    if state.reload_tx.send(req).await.is_err() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
    }
    match rx.await {
        Ok(Ok(s)) => text(
            StatusCode::OK,
            format!(
                "config reloaded: {} added, {} removed, {} changed, {} unchanged\n",
                s.added.len(),
                s.removed.len(),
                s.changed.len(),
                s.unchanged
            ),
        ),
        Ok(Err(errors)) => text(
            StatusCode::BAD_REQUEST,
            format!("config rejected; the previous config stays in force:\n{errors}\n"),
        ),
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "reload aborted (shutting down)\n",
        ),
    }
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn ago(t: SystemTime) -> String {
    match SystemTime::now().duration_since(t) {
        Ok(d) => format!("{}s ago", d.as_secs()),
        Err(_) => "just now".into(),
    }
}

fn status_page(state: &Arc<AppState>) -> String {
    let config = state.config();
    let store = state.store();
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>octopoll</title>\
         <style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}}\
         .up{{color:#080}}.down{{color:#c00}}.ev{{font-size:85%;color:#444}}</style></head><body>\
         <h1>octopoll {}</h1><p>Config: {} ({} devices). Endpoints: <a href=\"/metrics\">/metrics</a> · \
         <a href=\"/targets\">/targets</a> · <a href=\"/config\">/config</a> · /probe?device=NAME · POST /-/reload</p>",
        env!("CARGO_PKG_VERSION"),
        html(&state.config_path.display().to_string()),
        config.devices.len()
    );
    let cfg_events = store.events("");
    if !cfg_events.is_empty() {
        h.push_str("<h2>Config</h2><ul class=\"ev\">");
        for e in cfg_events.iter().rev() {
            let _ = write!(h, "<li>{} — {}</li>", ago(e.at), html(&e.message));
        }
        h.push_str("</ul>");
    }
    h.push_str(
        "<h2>Devices</h2><table><tr><th>device</th><th>address</th><th>status</th><th>last poll</th>\
         <th>duration</th><th>interfaces</th><th>last error</th><th>recent events</th>\
         <th>recent notifications</th></tr>",
    );
    for d in state.poller.owned(&config) {
        let snap = store.get(&d.name);
        let (status, last, dur, ifaces, err) = match &snap {
            None => (
                "<span>pending</span>".to_string(),
                "never".to_string(),
                String::new(),
                String::new(),
                String::new(),
            ),
            Some(s) => (
                if s.up {
                    "<b class=\"up\">up</b>".into()
                } else {
                    "<b class=\"down\">down</b>".into()
                },
                format!("{} ({:.0})", ago(s.last_poll), unix_seconds(s.last_poll)),
                format!("{:.3}s", s.duration.as_secs_f64()),
                s.data
                    .as_ref()
                    .map(|d| d.interfaces.len().to_string())
                    .unwrap_or_default(),
                s.last_error.clone().unwrap_or_default(),
            ),
        };
        let mut events = String::new();
        for e in store.events(&d.name).iter().rev().take(5) {
            let _ = write!(events, "{} — {}<br>", ago(e.at), html(&e.message));
        }
        let _ = write!(
            h,
            "<tr><td><a href=\"/probe?device={n}\">{n}</a></td><td>{}</td><td>{status}</td><td>{last}</td>\
             <td>{dur}</td><td>{ifaces}</td><td>{}</td><td class=\"ev\">{events}</td>\
             <td class=\"ev\">{}</td></tr>",
            html(&d.address),
            html(&err),
            recent_notifications(store, &d.name),
            n = html(&escape_label(&d.name)),
        );
    }
    h.push_str("</table>");
    unknown_sources(&mut h, store, &config);
    h.push_str("</body></html>\n");
    h
}

/// The last five notifications of `device`, newest first.
fn recent_notifications(store: &crate::poller::Store, device: &str) -> String {
    let mut out = String::new();
    for n in store.notifications(device).iter().rev().take(5) {
        let _ = write!(out, "{} — {}<br>", ago(n.at), html(&n.message));
    }
    out
}

/// Notifications kept under a source address (`traps.accept_unknown_sources`).
fn unknown_sources(h: &mut String, store: &crate::poller::Store, config: &crate::config::Config) {
    let sources: Vec<String> = store
        .notification_sources()
        .into_iter()
        .filter(|s| !config.devices.iter().any(|d| &d.name == s))
        .collect();
    if sources.is_empty() {
        return;
    }
    h.push_str("<h2>Notifications from unknown sources</h2><table><tr><th>source</th><th>recent notifications</th></tr>");
    for s in sources {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"ev\">{}</td></tr>",
            html(&s),
            recent_notifications(store, &s)
        );
    }
    h.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query() {
        let q = query(Some("device=core%3Asw1&devices=false&x=a+b&bad=%zz&cut=%4"));
        assert_eq!(q["device"], "core:sw1");
        assert_eq!(q["devices"], "false");
        assert_eq!(q["x"], "a b");
        assert_eq!(q["bad"], "%zz");
        assert_eq!(q["cut"], "%4");
    }
}
