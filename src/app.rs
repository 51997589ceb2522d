//! Wiring: config → poller → HTTP, and the one reload task.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::config::reload::{self, Trigger};
use crate::config::{self, ConfigErrors};
use crate::http::{ReloadRequest, State};
use crate::metrics::ExporterState;
use crate::poller::{Event, Poller, Shard, Store};
use crate::snmp::{Engine, SnmpError};
use crate::traps::Traps;
use crate::web::WebConfig;

/// Errors that stop octopoll from starting.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    // The messages leave the cause out: it is the error's source, and main prints the
    // whole chain (naming it twice was "invalid configuration: X: X").
    /// The initial config is invalid.
    #[error("invalid configuration")]
    Config(#[from] ConfigErrors),
    /// The SNMP sockets could not be opened.
    #[error("SNMP engine")]
    Snmp(#[from] SnmpError),
    /// The web config is invalid.
    #[error("invalid web config")]
    Web(#[from] crate::web::WebConfigError),
    /// I/O (listening socket).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The notification listener could not start.
    #[error(transparent)]
    Traps(#[from] crate::traps::TrapError),
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Config file or directory.
    pub config_path: PathBuf,
    /// Poll only this shard of the devices.
    pub shard: Option<Shard>,
    /// Global cap on SNMP requests in flight.
    pub max_in_flight: usize,
    /// Watch the config for changes.
    pub watch: bool,
    /// TLS and basic-auth settings for HTTP.
    pub web_config: Option<PathBuf>,
    /// Grafana base URL for links from the status and device pages.
    pub grafana_url: Option<String>,
}

/// Loads the config, starts polling and serves HTTP on `listener` until `shutdown`.
pub async fn run(
    listener: TcpListener,
    opts: Options,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let path = opts.config_path.clone();
    let initial = tokio::task::spawn_blocking(move || config::load(&path))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    let web = load_web(opts.web_config.as_deref())?;
    let engine = Engine::new(opts.max_in_flight).await?;
    let store = Arc::new(Store::default());
    let poller = Poller::new(engine, store.clone(), opts.shard, shutdown.child_token());
    let exporter = Arc::new(ExporterState::default());
    let traps = Arc::new(Traps::new(
        store,
        poller.trigger().clone(),
        exporter.traps.clone(),
        shutdown.child_token(),
    ));
    // Bound before polling starts: a listener that cannot bind stops the start-up.
    let prepared = traps.prepare(&initial).await?;
    let summary = poller.apply(&initial, true);
    traps.commit(prepared, &initial).await;
    tracing::info!(
        devices = summary.added.len(),
        files = initial.files.len(),
        shard = ?opts.shard,
        "config loaded from {}",
        opts.config_path.display()
    );
    exporter.reload_ok.store(true, Ordering::Relaxed);
    exporter
        .reload_success_ts
        .store(now_secs(), Ordering::Relaxed);

    let (reload_tx, reload_rx) = mpsc::channel::<ReloadRequest>(16);
    // The module files of the config in force: the watcher watches them too.
    let module_files = watch::Sender::new(initial.module_files.clone());
    let state = Arc::new(State {
        poller,
        exporter,
        config: RwLock::new(Arc::new(initial)),
        reload_tx: reload_tx.clone(),
        config_path: opts.config_path.clone(),
        web_config_path: opts.web_config.clone(),
        web: RwLock::new(Arc::new(web)),
        grafana_url: opts.grafana_url.clone(),
        traps,
    });

    // Watcher and SIGHUP send bare triggers; adapt them to requests.
    let (trig_tx, mut trig_rx) = mpsc::channel::<Trigger>(16);
    if opts.watch {
        reload::spawn_watcher(
            opts.config_path.clone(),
            module_files.subscribe(),
            trig_tx.clone(),
            shutdown.clone(),
        );
    }
    reload::spawn_sighup(trig_tx, shutdown.clone());
    {
        let reload_tx = reload_tx.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                let t = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    t = trig_rx.recv() => t,
                };
                let Some(trigger) = t else { return };
                if reload_tx
                    .send(ReloadRequest {
                        trigger,
                        reply: None,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
    }
    tokio::spawn(reload_loop(
        state.clone(),
        module_files,
        reload_rx,
        shutdown.clone(),
    ));

    crate::http::serve(listener, state, shutdown).await;
    Ok(())
}

fn load_web(path: Option<&std::path::Path>) -> Result<WebConfig, crate::web::WebConfigError> {
    match path {
        Some(p) => WebConfig::load(p),
        None => Ok(WebConfig::open()),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The one place a config is reloaded: all or nothing.
async fn reload_loop(
    state: Arc<State>,
    module_files: watch::Sender<Vec<PathBuf>>,
    mut rx: mpsc::Receiver<ReloadRequest>,
    shutdown: CancellationToken,
) {
    loop {
        let req = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = rx.recv() => r,
        };
        let Some(req) = req else { return };
        let path = state.config_path.clone();
        let web_path = state.web_config_path.clone();
        let loaded = match tokio::task::spawn_blocking(move || {
            // All or nothing: a bad web config rejects the whole reload.
            let web = load_web(web_path.as_deref()).map_err(|e| {
                ConfigErrors(vec![config::ConfigError {
                    file: e.file.clone(),
                    line: None,
                    key: String::new(),
                    message: e.message.clone(),
                }])
            });
            match (config::load(&path), web) {
                (Ok(c), Ok(w)) => Ok((c, w)),
                (Err(mut a), Err(b)) => {
                    a.0.extend(b.0);
                    Err(a)
                }
                (Err(a), _) | (_, Err(a)) => Err(a),
            }
        })
        .await
        {
            Ok(r) => r,
            Err(e) => Err(ConfigErrors(vec![config::ConfigError {
                file: state.config_path.clone(),
                line: None,
                key: String::new(),
                message: format!("loader crashed: {e}"),
            }])),
        };
        // The notification listener binds a changed address before anything changes: one
        // that cannot bind rejects the reload like any config error.
        let loaded = match loaded {
            Ok((new, web)) => match state.traps.prepare(&new).await {
                Ok(prepared) => Ok((new, web, prepared)),
                Err(e) => Err(ConfigErrors(vec![e.to_config_error(&new)])),
            },
            Err(e) => Err(e),
        };
        let outcome = match loaded {
            Ok((new, web, prepared)) => {
                *state.web.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(web);
                let summary = state.poller.apply(&new, false);
                module_files.send_if_modified(|files| {
                    let changed = *files != new.module_files;
                    files.clone_from(&new.module_files);
                    changed
                });
                state.traps.commit(prepared, &new).await;
                *state.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(new);
                state.exporter.reload_ok.store(true, Ordering::Relaxed);
                state
                    .exporter
                    .reload_success_ts
                    .store(now_secs(), Ordering::Relaxed);
                if summary.added.is_empty()
                    && summary.removed.is_empty()
                    && summary.changed.is_empty()
                {
                    tracing::debug!(
                        trigger = req.trigger.as_str(),
                        "config reloaded, no device changed"
                    );
                } else {
                    state.store().event(Event {
                        at: SystemTime::now(),
                        device: String::new(),
                        interface: None,
                        kind: "config_reloaded",
                        message: format!(
                            "config reloaded ({}): added [{}], removed [{}], changed [{}], {} unchanged",
                            req.trigger.as_str(),
                            summary.added.join(", "),
                            summary.removed.join(", "),
                            summary.changed.join(", "),
                            summary.unchanged
                        ),
                    });
                }
                Ok(summary)
            }
            Err(errors) => {
                state.exporter.reload_ok.store(false, Ordering::Relaxed);
                state.store().event(Event {
                    at: SystemTime::now(),
                    device: String::new(),
                    interface: None,
                    kind: "config_rejected",
                    message: format!(
                        "config rejected ({}), old config stays in force: {}",
                        req.trigger.as_str(),
                        errors.to_string().replace('\n', "; ")
                    ),
                });
                Err(errors)
            }
        };
        if let Some(reply) = req.reply {
            let _ = reply.send(outcome);
        }
    }
}

/// Binds the HTTP listener. `:PORT` means every interface (IPv6 and IPv4 where the host
/// allows, else IPv4).
pub async fn bind(listen: &str) -> std::io::Result<TcpListener> {
    if let Some(port) = listen.strip_prefix(':') {
        return match TcpListener::bind(format!("[::]:{port}")).await {
            Ok(l) => Ok(l),
            Err(_) => TcpListener::bind(format!("0.0.0.0:{port}")).await,
        };
    }
    TcpListener::bind(listen).await
}

/// Errors of `octopoll walk`.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// Config problems.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// SNMP failure.
    #[error("{0}")]
    Snmp(#[from] SnmpError),
}

/// `octopoll walk TARGET OID`: prints `OID = TYPE: value` lines.
pub async fn walk(
    config_path: &std::path::Path,
    args: &crate::cli::WalkArgs,
) -> Result<(), WalkError> {
    use crate::snmp::{walk_columns, Oid, Value};
    let oid: Oid = args
        .oid
        .parse()
        .map_err(|e| WalkError::Usage(format!("bad OID {:?}: {e}", args.oid)))?;
    let timeout = std::time::Duration::try_from_secs_f64(args.timeout)
        .map_err(|_| WalkError::Usage(format!("bad --timeout {}", args.timeout)))?;
    let config = if config_path.exists() {
        Some(config::load(config_path)?)
    } else {
        None
    };
    let device = config
        .as_ref()
        .and_then(|c| c.devices.iter().find(|d| d.name == args.target).cloned());
    let (host, port, auth, max_rep) = match &device {
        Some(d) => (d.host.clone(), d.port, d.auth.clone(), d.max_repetitions),
        None => {
            let (host, port) = split_host_port(&args.target)?;
            let auth = match &args.auth {
                Some(name) => config
                    .as_ref()
                    .and_then(|c| {
                        c.devices
                            .iter()
                            .map(|d| &d.auth)
                            .find(|a| &a.name == name)
                            .cloned()
                    })
                    .ok_or_else(|| {
                        WalkError::Usage(format!(
                            "auth {name:?} is not used by any device in {}",
                            config_path.display()
                        ))
                    })?,
                None => Arc::new(config::Auth {
                    name: "cli".into(),
                    kind: config::AuthKind::V2c {
                        community: config::Secret::new(args.community.clone()),
                    },
                }),
            };
            (host, port, auth, 25)
        }
    };
    let engine = Engine::new(8).await?;
    let session = engine.session(&host, port, &auth, timeout, 1).await?;
    let walked = walk_columns(
        &session,
        std::slice::from_ref(&oid),
        max_rep,
        crate::poller::poll::ROW_LIMIT,
    )
    .await?;
    let mut rows = walked.columns.into_iter().next().unwrap_or_default();
    if rows.is_empty() {
        rows = session.get(std::slice::from_ref(&oid)).await?;
    }
    for w in walked.warnings {
        eprintln!("warning: {w}");
    }
    for (o, v) in rows {
        let shown = match &v {
            Value::OctetString(b) => format!("STRING: {:?}", String::from_utf8_lossy(b)),
            other => format!("{other:?}"),
        };
        println!("{o} = {shown}");
    }
    Ok(())
}

fn split_host_port(s: &str) -> Result<(String, u16), WalkError> {
    let bad = || {
        WalkError::Usage(format!(
            "bad target {s:?}: want NAME (from --config), host, host:port or [v6]:port"
        ))
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once(']').ok_or_else(bad)?;
        let port = match p.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if p.is_empty() => 161,
            None => return Err(bad()),
        };
        return Ok((h.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Ok((h.to_string(), p.parse().map_err(|_| bad())?)),
        _ => Ok((s.to_string(), 161)),
    }
}
