//! Reload triggers: the file watcher and SIGHUP. Both feed the same channel as
//! `POST /-/reload`; the app owns the one task that loads and applies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Where a reload request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The config file or directory changed.
    Watch,
    /// SIGHUP.
    Signal,
    /// `POST /-/reload`.
    Http,
}

impl Trigger {
    /// Name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Watch => "file change",
            Trigger::Signal => "SIGHUP",
            Trigger::Http => "HTTP",
        }
    }
}

/// How long the watcher waits for events to stop before reloading: editors and
/// `git checkout` write several files and temp files in a burst.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// Watches `path`, and the files `extra` holds (the config's `module_files`, which may lie
/// elsewhere), and sends [`Trigger::Watch`] after each burst of changes.
///
/// A file is watched through its directory (non-recursive), so an editor or `git checkout`
/// replacing it by rename keeps being seen; a directory is watched recursively. If the
/// watcher fails it is recreated; when `extra` changes (a reload listed other module
/// files) the watches are set up again.
pub fn spawn_watcher(
    path: PathBuf,
    mut extra: tokio::sync::watch::Receiver<Vec<PathBuf>>,
    tx: mpsc::Sender<Trigger>,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            let files = extra.borrow_and_update().clone();
            let outcome = tokio::select! {
                r = watch_once(&path, &files, &tx, &shutdown) => r,
                changed = extra.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => return,
                },
            };
            match outcome {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "config watcher failed; recreating in 1s");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    });
}

fn relevant(event_path: &Path, config: &Path, is_dir: bool, extra: &[PathBuf]) -> bool {
    if is_dir && event_path.starts_with(config) {
        // Any change in the tree: also catches ConfigMap-style `..data` symlink swaps.
        return true;
    }
    let same_name =
        |p: &Path| event_path.file_name() == p.file_name() && event_path.parent() == p.parent();
    (!is_dir && event_path.file_name() == config.file_name()) || extra.iter().any(|p| same_name(p))
}

/// The directory a file is watched through.
fn parent_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

async fn watch_once(
    path: &Path,
    extra: &[PathBuf],
    tx: &mpsc::Sender<Trigger>,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    let is_dir = path.is_dir();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Result<notify::Event, notify::Error>>();
    let mut watcher = notify::recommended_watcher(move |res| {
        let _ = ev_tx.send(res);
    })
    .map_err(|e| e.to_string())?;
    let (target, mode) = if is_dir {
        (path.to_path_buf(), RecursiveMode::Recursive)
    } else {
        (parent_dir(path), RecursiveMode::NonRecursive)
    };
    watcher.watch(&target, mode).map_err(|e| e.to_string())?;
    // Module files: each through its directory, unless the config tree already covers it.
    let mut dirs: Vec<PathBuf> = extra.iter().map(|p| parent_dir(p)).collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        let covered = d == target || (is_dir && d.starts_with(&target));
        if !covered {
            watcher
                .watch(&d, RecursiveMode::NonRecursive)
                .map_err(|e| format!("{}: {e}", d.display()))?;
        }
    }
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            ev = ev_rx.recv() => ev,
        };
        let mut hit = match first {
            None => return Err("watcher stopped".into()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(ev)) => {
                is_change(&ev) && ev.paths.iter().any(|p| relevant(p, path, is_dir, extra))
            }
        };
        // Debounce: keep draining until the burst is over.
        loop {
            match tokio::time::timeout(DEBOUNCE, ev_rx.recv()).await {
                Err(_) => break,
                Ok(None) => return Err("watcher stopped".into()),
                Ok(Some(Err(e))) => return Err(e.to_string()),
                Ok(Some(Ok(ev))) => {
                    hit |=
                        is_change(&ev) && ev.paths.iter().any(|p| relevant(p, path, is_dir, extra))
                }
            }
        }
        if hit && tx.send(Trigger::Watch).await.is_err() {
            return Ok(());
        }
    }
}

fn is_change(ev: &notify::Event) -> bool {
    !matches!(ev.kind, notify::EventKind::Access(_))
}

/// Sends [`Trigger::Signal`] on every SIGHUP.
pub fn spawn_sighup(tx: mpsc::Sender<Trigger>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                s = hup.recv() => {
                    if s.is_none() || tx.send(Trigger::Signal).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
}
