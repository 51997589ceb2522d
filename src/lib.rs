//! octopoll: a lean SNMP poller for Prometheus.
//!
//! # Layout
//! - [`config`]: configuration files into an immutable [`config::Config`], one concern per
//!   file: `files` (finding and reading), `yaml` (one parse per file, with positions, and a
//!   serde deserializer whose errors name key and line), `report` (errors with file, line
//!   and key), `raw` (the YAML as written), `scalars` (durations, names, addresses),
//!   `secrets` (`${VAR}`, `*_file`), `auths`, `modules`, `devices` (defaults and devices),
//!   `build` (parse, merge, validate), `redact` (`/config`), and `reload` (the one reload
//!   path fed by the file watcher, SIGHUP and `POST /-/reload`).
//! - [`snmp`]: owned OID/value types and the SNMP client (timeouts, retries, table walks);
//!   with [`traps`], the only modules that name the `async-snmp` crate.
//! - [`table`]: the table engine, knowing nothing of HTTP: the module model (indexes,
//!   lookups, value types, filters; snmp_exporter's semantics) that the config produces
//!   for the built-in `if_mib`, octopoll's own modules and snmp_exporter module files; the
//!   plan that fetches each OID of a device's modules once; the decoders into families.
//! - [`traps`]: the notification listener (v1/v2c/v3 traps and informs on async-snmp's
//!   receiver): acceptance and attribution, names, counters, the event log, re-polls;
//!   [`alertmanager`] sends the alerts they raise (API v2, bounded queue, retries).
//! - [`poller`]: the scheduler (one task per device, diffed on reload) and the snapshot
//!   store the HTTP layer reads.
//! - [`metrics`]: pure mapping from poll results to samples, the prometheus-client
//!   `Collector` over snapshots, and octopoll's own metrics.
//! - [`http`]: the endpoints (`/metrics`, `/probe`, `/targets`, `/-/reload`, `/config`) and
//!   the HTML pages (`/`, `/devices/NAME`, askama templates in `templates/`); it reads an
//!   [`http::State`] and does not depend on the wiring.
//! - [`sim`]: simulated SNMP agents for the demo, tests and benchmarks.
//! - [`app`]: wires the pieces together for `octopoll` serve and `octopoll demo`.
//! - [`cli`]: the clap types, one struct per subcommand; [`demo`]: `octopoll demo`;
//!   [`web`]: TLS and basic auth (the web config).

pub mod alertmanager;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod http;
pub mod metrics;
pub mod poller;
pub mod sim;
pub mod snmp;
pub mod table;
pub mod traps;
pub mod web;
