//! PLACEHOLDER: simulated SNMP agents (being written by the simulator helper).

/// Simulator options.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {}

/// Runs the simulator.
pub async fn run(
    _args: SimulateArgs,
    _shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
