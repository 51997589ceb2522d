//! What the HTTP layer reads and the one thing it asks for (a reload). The wiring in
//! [`crate::app`] builds a [`State`]; the endpoints depend on it, not on the wiring.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, oneshot};

use crate::config::reload::Trigger;
use crate::config::{Config, ConfigErrors};
use crate::metrics::ExporterState;
use crate::poller::{ApplySummary, Poller, Store};
use crate::web::WebConfig;

/// A reload request with an optional reply channel (HTTP waits for the outcome).
pub struct ReloadRequest {
    /// Where it came from.
    pub trigger: Trigger,
    /// Gets the outcome.
    pub reply: Option<oneshot::Sender<Result<ApplySummary, ConfigErrors>>>,
}

/// Everything the endpoints need from a running octopoll.
pub struct State {
    /// The poller and its store.
    pub poller: Poller,
    /// Reload status for metrics.
    pub exporter: Arc<ExporterState>,
    /// The config in force.
    pub config: RwLock<Arc<Config>>,
    /// Sends reload requests.
    pub reload_tx: mpsc::Sender<ReloadRequest>,
    /// Config path (for messages).
    pub config_path: PathBuf,
    /// Web config path, re-read on reload.
    pub web_config_path: Option<PathBuf>,
    /// TLS and basic auth in force.
    pub web: RwLock<Arc<WebConfig>>,
    /// Base URL of the Grafana that shows the shipped dashboards (`--grafana-url`), for
    /// links from the pages; `None` hides them.
    pub grafana_url: Option<String>,
    /// The notification listener (recent notifications and unknown sources for the pages).
    pub traps: Arc<crate::traps::Traps>,
}

impl State {
    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// TLS and basic auth in force.
    pub fn web(&self) -> Arc<WebConfig> {
        self.web.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        self.poller.store()
    }
}
