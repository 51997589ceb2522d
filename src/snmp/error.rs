//! Typed SNMP failures, worded for the status page and the log.

use std::time::Duration;

/// Why an SNMP exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnmpError {
    /// No (valid) reply after every retransmission.
    #[error("no response after {attempts} attempt(s) of {timeout:?} each")]
    Timeout {
        /// Sends made (1 + retries).
        attempts: u32,
        /// Per-attempt timeout.
        timeout: Duration,
    },
    /// The agent answered tooBig even for the smallest request we can make.
    #[error("agent answered tooBig")]
    TooBig,
    /// SNMPv1 noSuchName at a 1-based varbind index (the v1 way to say "end of MIB").
    #[error("agent answered noSuchName (varbind {index})")]
    NoSuchName {
        /// 1-based varbind index.
        index: u32,
    },
    /// Any other error-status from the agent.
    #[error("agent answered {status} (varbind {index})")]
    Status {
        /// Error status name, e.g. `genErr`.
        status: String,
        /// 1-based varbind index.
        index: u32,
    },
    /// SNMPv3 authentication or privacy failure (wrong user or password).
    #[error("SNMPv3 authentication failed: {0}")]
    Auth(String),
    /// Network error (unreachable, refused).
    #[error("network error: {0}")]
    Network(String),
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// Host as configured.
        host: String,
        /// Resolver's message.
        reason: String,
    },
    /// A reply that could not be decoded or violated the protocol.
    #[error("bad response: {0}")]
    BadResponse(String),
    /// A walk would not end: one column returned more rows than octopoll accepts for a
    /// column of one device (an endless table, or a limit set too low for the device).
    #[error(
        "column {oid} returned more than {limit} rows, the device's per-column row limit \
         (max_rows): walk stopped, as for an endless table; raise max_rows if the table \
         really is that big"
    )]
    TooManyRows {
        /// The column that tripped the limit.
        oid: String,
        /// Rows per column allowed.
        limit: usize,
    },
    /// The agent returned nothing useful and the walk could not advance.
    #[error("walk made no progress: {0}")]
    NoProgress(String),
    /// The whole poll ran past its deadline.
    #[error("poll exceeded its deadline of {0:?}")]
    Deadline(Duration),
    /// The poll never started: every poll slot (`--max-in-flight`) stayed busy for half its
    /// deadline. octopoll is overloaded (CPU) or too many devices are slow or dead.
    #[error(
        "poll did not start within {0:?} (half its deadline): all {1} poll slots were \
         busy (octopoll overloaded; raise --max-in-flight or add a --shard)"
    )]
    NoSlot(Duration, usize),
    /// Anything else the SNMP library reported.
    #[error("{0}")]
    Other(String),
}
