//! `/metrics` with every device, encoded on a blocking thread and sent in chunks.

use bytes::Bytes;
use http_body_util::BodyExt;

use super::Body;

/// Size of the chunks a streamed `/metrics` is sent in.
const CHUNK: usize = 256 * 1024;

/// `/metrics` with every device, encoded on a blocking thread and sent in chunks as it is
/// written. A buffered render held the whole body (64 MB for 1,000 devices × 55
/// interfaces, 638 MB for 10,000; peak RSS 1.5 GB there) once per concurrent scrape, and
/// blocked an async worker, and so polling, for the 0.2-5 s it took. Now a scrape holds a
/// few chunks; a client that goes away stops the encoding at its next chunk.
pub(super) fn stream_metrics(registry: prometheus_client::registry::Registry) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut w = ChunkWriter {
            buf: String::with_capacity(CHUNK + CHUNK / 4),
            tx,
        };
        let result = prometheus_client::encoding::text::encode(&mut w, &registry);
        match result.and_then(|()| w.flush()) {
            Ok(()) => {}
            Err(_) if w.tx.is_closed() => {} // the client went away
            Err(e) => tracing::error!(error = %e, "encoding metrics failed"),
        }
    });
    Chunks(rx).boxed()
}

/// Collects encoder output and hands it over in [`CHUNK`]-sized pieces.
struct ChunkWriter {
    buf: String,
    tx: tokio::sync::mpsc::Sender<Bytes>,
}

impl ChunkWriter {
    fn flush(&mut self) -> std::fmt::Result {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, String::with_capacity(CHUNK + CHUNK / 4));
        // Waits while the client is CHUNK × 4 behind: the memory a scrape can hold.
        self.tx
            .blocking_send(Bytes::from(chunk))
            .map_err(|_| std::fmt::Error)
    }
}

impl std::fmt::Write for ChunkWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buf.push_str(s);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }
}

/// The receiving end of [`stream_metrics`] as an HTTP body.
struct Chunks(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}
