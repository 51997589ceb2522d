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

/// Ids of the serve-only options, for [`Cli::parse_checked`].
const SERVE_ONLY: [&str; 7] = [
    "config",
    "listen",
    "grafana_url",
    "shard",
    "max_in_flight",
    "no_watch",
    "web_config",
];

impl Cli {
    /// Parses the process arguments, exiting with clap's message on an error.
    pub fn parse_checked() -> Cli {
        Cli::try_parse_checked(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parses `args` like [`Parser::try_parse_from`], and also refuses serve options
    /// given before a subcommand (`octopoll --listen :1 check x.yml`): they would be
    /// ignored. Log options apply everywhere.
    pub fn try_parse_checked<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let mut cmd = Cli::command();
        let matches = cmd.try_get_matches_from_mut(args)?;
        if let Some((sub, _)) = matches.subcommand() {
            let given = SERVE_ONLY.iter().find(|id| {
                matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
            });
            if let Some(id) = given {
                let flag = format!("--{}", id.replace('_', "-"));
                return Err(cmd.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("{flag} is an option of serving, not of `octopoll {sub}` (see `octopoll {sub} --help`)"),
                ));
            }
        }
        Cli::from_arg_matches(&matches)
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a config file or directory; print every error and exit 1, or a summary.
    Check {
        /// Config file or directory.
        path: PathBuf,
        /// Check that `${VAR}` and `*_file` secrets are well-formed references without
        /// reading the environment or the files (for a config repository's CI, where the
        /// secrets are not).
        #[arg(long)]
        no_secrets: bool,
    },
    /// Walk (or get) an OID on a device, for debugging.
    Walk(WalkArgs),
    /// Serve simulated SNMP devices on loopback.
    Simulate(crate::sim::SimulateArgs),
    /// Run the simulator and octopoll on it with a built-in config; no device needed.
    Demo(DemoArgs),
}

/// `--config`, for the commands that read the device config.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Config file, or directory of *.yml files.
    #[arg(
        long,
        short = 'c',
        env = "OCTOPOLL_CONFIG",
        default_value = "octopoll.yml"
    )]
    pub config: PathBuf,
}

/// `--listen`, for the commands that serve HTTP.
#[derive(Debug, Args)]
pub struct ListenArg {
    /// HTTP listen address (`:9161` means every interface).
    #[arg(long, env = "OCTOPOLL_LISTEN", default_value = ":9161")]
    pub listen: String,
}

/// `--grafana-url`, for the commands that serve the status and device pages.
#[derive(Debug, Args)]
pub struct GrafanaArg {
    /// Base URL of the Grafana with the shipped dashboards (e.g. http://grafana:3000); the
    /// status and device pages then link to the Overview and Device dashboards.
    #[arg(long, env = "OCTOPOLL_GRAFANA_URL", value_name = "URL", value_parser = grafana_url)]
    pub grafana_url: Option<String>,
}

/// Accepts an absolute http(s) URL, so a typo fails at start instead of in a link.
fn grafana_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or_else(|| format!("{s:?} is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') || s.contains(char::is_whitespace) {
        return Err(format!("{s:?} has no host (want e.g. http://grafana:3000)"));
    }
    Ok(s.trim_end_matches('/').to_string())
}

/// `octopoll [serve]` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The device config.
    #[command(flatten)]
    pub config: ConfigArg,
    /// Where to serve HTTP.
    #[command(flatten)]
    pub listen: ListenArg,
    /// Links to Grafana.
    #[command(flatten)]
    pub grafana: GrafanaArg,
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
    /// The device config (for device names and auths).
    #[command(flatten)]
    pub config: ConfigArg,
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
    /// Where to serve HTTP.
    #[command(flatten)]
    pub listen: ListenArg,
    /// Links to Grafana.
    #[command(flatten)]
    pub grafana: GrafanaArg,
    /// First UDP port of the simulated devices on 127.0.0.1.
    #[arg(long, default_value_t = 16100)]
    pub sim_base_port: u16,
    /// Do not open the device page in a browser.
    #[arg(long)]
    pub no_open: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn help(sub: &str) -> String {
        let mut cmd = Cli::command();
        cmd.build();
        cmd.find_subcommand_mut(sub)
            .unwrap_or_else(|| panic!("no subcommand {sub}"))
            .render_long_help()
            .to_string()
    }

    fn options(help: &str) -> Vec<String> {
        help.lines()
            .filter_map(|l| {
                let l = l.trim_start();
                // `-c, --config`, `-h, --help`: the long name is what is compared.
                let l = match l.split_once(", --") {
                    Some((short, _)) if short.len() == 2 && short.starts_with('-') => &l[4..],
                    _ => l,
                };
                l.starts_with("--")
                    .then(|| l.split([' ', '=', '<']).next().unwrap().to_string())
            })
            .collect()
    }

    #[test]
    fn each_subcommand_lists_only_its_options() {
        let want: &[(&str, &[&str])] = &[
            (
                "check",
                &["--no-secrets", "--log-format", "--log-level", "--help"],
            ),
            (
                "walk",
                &[
                    "--config",
                    "--auth",
                    "--community",
                    "--timeout",
                    "--log-format",
                    "--log-level",
                    "--help",
                ],
            ),
            (
                "demo",
                &[
                    "--listen",
                    "--grafana-url",
                    "--sim-base-port",
                    "--no-open",
                    "--log-format",
                    "--log-level",
                    "--help",
                ],
            ),
        ];
        for (sub, opts) in want {
            let h = help(sub);
            let mut got = options(&h);
            let mut opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
            got.sort();
            opts.sort();
            assert_eq!(got, opts, "octopoll {sub} --help:\n{h}");
        }
    }

    #[test]
    fn serve_options_are_refused_with_a_subcommand() {
        for args in [
            &["octopoll", "--listen", ":1", "check", "x.yml"][..],
            &["octopoll", "check", "--listen", ":1", "x.yml"],
            &["octopoll", "--config", "a.yml", "check", "x.yml"],
            &["octopoll", "check", "--config", "a.yml", "x.yml"],
        ] {
            assert!(
                Cli::try_parse_checked(args).is_err(),
                "{args:?} was accepted"
            );
        }
        let e = Cli::try_parse_checked(["octopoll", "--listen", ":1", "check", "x.yml"]);
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("--listen is an option of serving"));
        for ok in [
            &["octopoll", "--log-level", "debug", "check", "x.yml"][..],
            &["octopoll", "check", "x.yml", "--log-level", "debug"],
            &["octopoll", "--listen", ":1", "--config", "a.yml"],
        ] {
            let r = Cli::try_parse_checked(ok);
            assert!(r.is_ok(), "{ok:?}: {r:?}");
        }
        let walk =
            Cli::try_parse_checked(["octopoll", "walk", "sw1", "1.3.6", "-c", "d.yml"]).unwrap();
        match walk.command {
            Some(Command::Walk(w)) => assert_eq!(w.config.config, PathBuf::from("d.yml")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn grafana_url_must_be_http() {
        assert_eq!(grafana_url("http://g:3000/").unwrap(), "http://g:3000");
        for bad in ["grafana:3000", "http://", "ftp://g", "http:///x"] {
            assert!(grafana_url(bad).is_err(), "{bad}");
        }
    }
}
