//! Command-line interface (clap): one struct per subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::poller::Shard;

/// octopoll: polls network devices over SNMP in the background and serves the results to
/// Prometheus.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// Serve options (used when no subcommand is given).
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
    /// What to do; default: serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a config file or directory; print every error and exit 1, or a summary.
    Check {
        /// Config file or directory.
        path: PathBuf,
    },
    /// Walk (or get) an OID on a device, for debugging.
    Walk(WalkArgs),
    /// Serve simulated SNMP devices on loopback.
    Simulate(crate::sim::SimulateArgs),
    /// Run the simulator and octopoll on it with a built-in config; no device needed.
    Demo(DemoArgs),
}

/// `octopoll [serve]` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Config file, or directory of *.yml files.
    #[arg(
        long,
        short = 'c',
        env = "OCTOPOLL_CONFIG",
        default_value = "octopoll.yml",
        global = true
    )]
    pub config: PathBuf,
    /// HTTP listen address (`:9161` means every interface).
    #[arg(long, env = "OCTOPOLL_LISTEN", default_value = ":9161", global = true)]
    pub listen: String,
    /// Poll only the devices whose name hashes to K of N (several instances, one config).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Most polls running at once across all devices (and so SNMP requests in flight); a
    /// poll that waits for a slot more than half its deadline is skipped with an error.
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
    /// Do not watch the config for changes (SIGHUP and POST /-/reload still work).
    #[arg(long)]
    pub no_watch: bool,
    /// Web config file: TLS certificate/key and bcrypt basic-auth users for every endpoint
    /// (exporter-toolkit format); re-read on every reload.
    #[arg(long, alias = "web.config.file", value_name = "PATH")]
    pub web_config: Option<PathBuf>,
}

/// Log options.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Plain, global = true)]
    pub log_format: LogFormat,
    /// Log level or filter (tracing EnvFilter syntax, e.g. `debug` or `octopoll=debug`).
    #[arg(long, env = "OCTOPOLL_LOG", default_value = "info", global = true)]
    pub log_level: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable.
    Plain,
    /// One JSON object per line.
    Json,
}

/// `octopoll walk` options.
#[derive(Debug, Args)]
pub struct WalkArgs {
    /// A device name from --config, or host[:port].
    pub target: String,
    /// OID to walk (a scalar instance such as 1.3.6.1.2.1.1.3.0 is fetched with GET).
    pub oid: String,
    /// Auth name from --config to use with a host[:port] target.
    #[arg(long)]
    pub auth: Option<String>,
    /// Community for a host[:port] target without --auth (SNMPv2c).
    #[arg(long, default_value = "public")]
    pub community: String,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 2.0)]
    pub timeout: f64,
}

/// `octopoll demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// First UDP port of the simulated devices on 127.0.0.1.
    #[arg(long, default_value_t = 16100)]
    pub sim_base_port: u16,
}
