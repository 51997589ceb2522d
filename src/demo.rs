//! `octopoll demo`: simulated devices plus octopoll polling them, no config needed.
//! PLACEHOLDER until the simulator lands.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Runs the demo until `shutdown`.
pub async fn run(
    _listener: TcpListener,
    _base_port: u16,
    _shutdown: CancellationToken,
) -> Result<(), crate::app::AppError> {
    Err(crate::app::AppError::Io(std::io::Error::other(
        "demo not built yet",
    )))
}
