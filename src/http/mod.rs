//! HTTP endpoints on hyper 1.x: defensive defaults (header-read timeout, small buffers,
//! GET/HEAD only where it applies), graceful drain on shutdown, no SNMP I/O at scrape.
//!
//! - [`State`]: what the endpoints read, built by the wiring in [`crate::app`].
//! - `stream`: `/metrics` encoded on a blocking thread and sent in chunks.
//! - [`pages`]: the status page and the device page (askama templates in `templates/`).
//! - [`display`]: how numbers and times read on those pages.

pub mod display;
pub mod pages;
mod state;
mod stream;

pub use state::{ReloadRequest, State};

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::config::reload::Trigger;
use crate::metrics::collector::{registry, render, Scope};
use stream::stream_metrics;

/// OpenMetrics text, as prometheus-client encodes it.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BUF: usize = 16 * 1024;
/// How long shutdown waits for open connections to finish.
const DRAIN: Duration = Duration::from_secs(5);

/// The body of every response: buffered, or streamed for `/metrics`.
type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Serves until `shutdown`, then drains open connections (bounded by a few seconds).
pub async fn serve(listener: TcpListener, state: Arc<State>, shutdown: CancellationToken) {
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

/// Decodes `application/x-www-form-urlencoded` query pairs (the last of a repeated key
/// wins).
fn query(q: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

async fn handle(state: &Arc<State>, req: Request<Incoming>) -> Response<Body> {
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
        p if p.starts_with("/devices/") && !get_or_head => method_not_allowed("GET, HEAD"),
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
                crate::config::render_redacted_with(&state.config(), &|device| {
                    let data = state.store().get(device)?.data.clone()?;
                    Some(data.rule_modules.clone())
                }),
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
        "/" => html_page(StatusCode::OK, pages::status_page(state, &params)),
        "/devices" | "/devices/" => redirect("/"),
        p if p.starts_with("/devices/") => device(state, &p["/devices/".len()..], &params),
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

fn html_page(status: StatusCode, body: String) -> Response<Body> {
    let mut r = with_type(text(status, body), "text/html; charset=utf-8");
    // The pages show live state; a cached copy would be stale at once.
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn redirect(to: &'static str) -> Response<Body> {
    let mut r = text(StatusCode::FOUND, format!("see {to}\n"));
    r.headers_mut()
        .insert(LOCATION, HeaderValue::from_static(to));
    r
}

/// `/devices/NAME`: the name is one percent-encoded path segment.
fn device(state: &Arc<State>, segment: &str, params: &BTreeMap<String, String>) -> Response<Body> {
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8();
    let name = match decoded {
        // A literal `/` is another path step; a name with `/` in it comes as %2F.
        Ok(n) if !n.is_empty() && !segment.contains('/') => n,
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("bad device name in the path: {segment:?} (want /devices/NAME, NAME percent-encoded UTF-8)\n"),
            )
        }
    };
    match pages::device_page(state, &name, params) {
        Ok(page) => html_page(StatusCode::OK, page),
        Err(page) => html_page(StatusCode::NOT_FOUND, page),
    }
}

fn probe(state: &Arc<State>, device: Option<&String>) -> Response<Body> {
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

fn targets(state: &Arc<State>) -> Response<Body> {
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

async fn reload(state: &Arc<State>) -> Response<Body> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query() {
        let q = query(Some(
            "device=core%3Asw1&devices=false&x=a+b&bad=%zz&cut=%4&u=%C3%A9",
        ));
        assert_eq!(q["u"], "é");
        assert_eq!(q["device"], "core:sw1");
        assert_eq!(q["devices"], "false");
        assert_eq!(q["x"], "a b");
        assert_eq!(q["bad"], "%zz");
        assert_eq!(q["cut"], "%4");
    }
}
