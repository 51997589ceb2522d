//! The `octopoll` binary: parse the command line, set up logging, call the library.

use std::process::ExitCode;

use anyhow::Context as _;
use octopoll::cli::{Cli, Command, LogFormat};
use tokio_util::sync::CancellationToken;

// mimalloc instead of glibc's malloc: a poll allocates and frees thousands of small
// values (OIDs, varbinds, label strings); with glibc, malloc/free were 28% of octopoll's
// CPU in a 1,000-device profile (BENCHMARKS.md has the before/after).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (position in v3's option enum; default 1,000 ms).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the OS 10 ms after it is freed. At once (0), every poll of a
/// busy fleet faulted its pages back in: 1,000 devices every 10 s spent 36 µs of system
/// CPU per request instead of 24. At the default 1 s, a 100,000-interface chassis polled
/// every minute held 2,348 bytes per interface between polls instead of 742 (pages of
/// the poll's work, freed, kept while the process sleeps). An explicit
/// `MIMALLOC_PURGE_DELAY` other than the default is left alone.
fn purge_freed_memory_soon() {
    // SAFETY: plain FFI calls on mimalloc's option table, no pointers involved. The
    // default is checked first, so a future mimalloc with another enum order is left alone.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == 1000 {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10);
        }
    }
}

fn main() -> ExitCode {
    purge_freed_memory_soon();
    let cli = Cli::parse_checked();
    init_logging(&cli.log.log_format, &cli.log.log_level);
    if let Some(Command::Check { path, no_secrets }) = &cli.command {
        return check(path, *no_secrets);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("octopoll: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("octopoll: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: &LogFormat, level: &str) {
    // async-snmp logs an ERROR for every failed request; octopoll reports those itself.
    let mut filter = level.to_string();
    if !filter.contains("async_snmp") {
        filter.push_str(",async_snmp=off");
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,async_snmp=off"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Plain => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn check(path: &std::path::Path, no_secrets: bool) -> ExitCode {
    let options = octopoll::config::LoadOptions {
        unresolved_secrets: no_secrets,
    };
    match octopoll::config::load_with(path, options) {
        Ok(cfg) => {
            for note in &cfg.notes {
                println!("note: {note}");
            }
            println!("{}", octopoll::config::summary(&cfg));
            if no_secrets {
                println!("secrets: references checked, not resolved (--no-secrets)");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{} error(s) in {}", errors.0.len(), path.display());
            ExitCode::FAILURE
        }
    }
}

/// Cancels on SIGINT or SIGTERM.
fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term_fut = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term_fut => {}
        }
        tracing::info!("shutting down");
        t.cancel();
    });
    token
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let shutdown = shutdown_on_signals();
    match cli.command {
        Some(Command::Check { .. }) => unreachable!("handled before the runtime starts"),
        Some(Command::Walk(args)) => octopoll::app::walk(&args.config.config, &args)
            .await
            .map_err(Into::into),
        Some(Command::Simulate(args)) => octopoll::sim::run(args, shutdown).await,
        Some(Command::Demo(args)) => {
            let listener = octopoll::app::bind(&args.listen.listen)
                .await
                .with_context(|| format!("cannot listen on {}", args.listen.listen))?;
            octopoll::demo::run(listener, &args, shutdown)
                .await
                .map_err(Into::into)
        }
        None => {
            let listen = &cli.serve.listen.listen;
            let listener = octopoll::app::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            tracing::info!(address = %listener.local_addr()?, "serving HTTP");
            let opts = octopoll::app::Options {
                config_path: cli.serve.config.config.clone(),
                shard: cli.serve.shard,
                max_in_flight: cli.serve.max_in_flight,
                watch: !cli.serve.no_watch,
                web_config: cli.serve.web_config.clone(),
                grafana_url: cli.serve.grafana.grafana_url.clone(),
            };
            octopoll::app::run(listener, opts, shutdown)
                .await
                .map_err(Into::into)
        }
    }
}
