//! UDP sockets for SNMPv1/v2c requests: a pool with one socket per request in flight.
//!
//! async-snmp shares one socket among all requests: a background task reads every reply
//! and hands it to the waiting request through the transport's registry, a wake-up from
//! task to task, often from one worker thread to the other (a futex and a context switch
//! per reply). Here a request takes a socket of its own from the pool for its exchange,
//! and the task that sent it is the one the reactor wakes when the reply arrives. The
//! socket's readiness is cleared after each reply is read, so the next exchange waits at
//! once instead of spending a `recvfrom` on the EAGAIN that would clear it: per request,
//! one `sendto` and one `recvfrom`, as a blocking client does.
//!
//! A late reply (to a request that timed out) stays in its socket until the socket's next
//! exchange reads and drops it: replies are matched by source address and request id,
//! never by socket. The pool holds at most one socket per request in flight (`--max-in-
//! flight`), created on first use and kept.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::io::unix::AsyncFd;

/// Largest datagram read (the UDP maximum).
const RECV_BYTES: usize = 65_536;

/// One pooled socket and its buffers.
pub(crate) struct Socket {
    fd: AsyncFd<UdpSocket>,
    buf: Vec<u8>,
    port: u16,
    /// For the request being sent (kept to be reused).
    pub(crate) send_buf: Vec<u8>,
}

impl Socket {
    #[allow(unsafe_code)]
    fn bind(v6: bool) -> io::Result<Socket> {
        let sock = UdpSocket::bind(if v6 { "[::]:0" } else { "0.0.0.0:0" })?;
        sock.set_nonblocking(true)?;
        let port = sock.local_addr()?.port();
        // SAFETY: the AsyncFd owns the socket, so its descriptor is open and the same for
        // the AsyncFd's whole life (tokio's safe `new` is deprecated for lacking this
        // proof, not for a fault).
        let fd = unsafe { AsyncFd::register(sock) }.map_err(io::Error::from)?;
        Ok(Socket {
            fd,
            // Capacity only: pages are touched as far as replies reach.
            buf: Vec::with_capacity(RECV_BYTES),
            port,
            send_buf: Vec::new(),
        })
    }

    /// Sends `data` to `to`.
    pub(crate) async fn send_to(&self, data: &[u8], to: SocketAddr) -> io::Result<()> {
        loop {
            match self.fd.get_ref().send_to(data, to) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let mut guard = self.fd.writable().await?;
                    guard.clear_ready();
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits for datagrams and hands each to `accept` until it returns `Some`. A datagram
    /// `accept` refuses (wrong source, wrong request id, garbage) is dropped.
    pub(crate) async fn recv_until<T>(
        &mut self,
        mut accept: impl FnMut(&[u8], SocketAddr) -> Option<T>,
    ) -> io::Result<T> {
        self.buf.resize(RECV_BYTES, 0);
        loop {
            let mut guard = self.fd.readable().await?;
            loop {
                let buf = &mut self.buf;
                // try_io clears the readiness on EAGAIN; then wait for the next datagram.
                let Ok(read) = guard.try_io(|s| s.get_ref().recv_from(buf)) else {
                    break;
                };
                match read {
                    Ok((n, from)) => {
                        if let Some(v) = accept(&self.buf[..n], from) {
                            // Done: the next exchange waits for its reply right away
                            // (a datagram already queued behind this one still wakes
                            // it: each arrival is an edge of its own).
                            guard.clear_ready();
                            return Ok(v);
                        }
                    }
                    // ICMP errors queued on the socket (port unreachable from an earlier
                    // exchange): consumed by reading; keep waiting for this reply.
                    Err(e) if is_icmp_error(&e) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

fn is_icmp_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
    )
}

/// Idle sockets, per address family, and counters over all of them.
#[derive(Default)]
pub(crate) struct Pool {
    v4: Mutex<Vec<Socket>>,
    v6: Mutex<Vec<Socket>>,
    /// Local ports of every socket created (for the kernel's drop counters).
    ports: Mutex<Vec<u16>>,
    /// Datagrams read and dropped: late, duplicate, from another address, or garbage.
    pub(crate) discarded: AtomicU64,
}

impl Pool {
    /// An idle socket of `addr`'s family, or a new one.
    pub(crate) fn take(&self, addr: SocketAddr) -> io::Result<Checkout<'_>> {
        let v6 = addr.is_ipv6();
        let idle = self
            .idle(v6)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let sock = match idle {
            Some(s) => s,
            None => {
                let s = Socket::bind(v6)?;
                self.ports
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(s.port);
                s
            }
        };
        Ok(Checkout {
            pool: self,
            sock: Some(sock),
            v6,
        })
    }

    fn idle(&self, v6: bool) -> &Mutex<Vec<Socket>> {
        if v6 {
            &self.v6
        } else {
            &self.v4
        }
    }

    /// Local ports of the sockets created so far.
    pub(crate) fn ports(&self) -> Vec<u16> {
        self.ports.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Counts a dropped datagram.
    pub(crate) fn discard(&self) {
        self.discarded.fetch_add(1, Ordering::Relaxed);
    }
}

/// A socket taken from the pool; back to it when dropped (also when the request's future
/// is cancelled by the poll deadline).
pub(crate) struct Checkout<'a> {
    pool: &'a Pool,
    sock: Option<Socket>,
    v6: bool,
}

impl std::ops::Deref for Checkout<'_> {
    type Target = Socket;
    fn deref(&self) -> &Socket {
        self.sock.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for Checkout<'_> {
    fn deref_mut(&mut self) -> &mut Socket {
        self.sock.as_mut().expect("present until dropped")
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.sock.take() {
            self.pool
                .idle(self.v6)
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_are_matched_and_the_rest_dropped() {
        let pool = Pool::default();
        let agent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = agent.local_addr().unwrap();
        let mut s = pool.take(to).unwrap();
        let me = SocketAddr::from(([127, 0, 0, 1], s.port));
        s.send_to(b"ask", to).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, _) = agent.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ask");
        // Garbage from elsewhere, a stale reply, then the answer.
        stranger.send_to(b"noise", me).await.unwrap();
        agent.send_to(b"old", me).await.unwrap();
        agent.send_to(b"answer", me).await.unwrap();
        let mut seen = Vec::new();
        let got = s
            .recv_until(|d, from| {
                seen.push(d.to_vec());
                (from == to && d == b"answer").then_some(d.len())
            })
            .await
            .unwrap();
        assert_eq!(got, 6);
        assert_eq!(
            seen,
            vec![b"noise".to_vec(), b"old".to_vec(), b"answer".to_vec()]
        );
        // Readiness was cleared after the answer: a datagram queued later still wakes the
        // next exchange.
        agent.send_to(b"next", me).await.unwrap();
        let got = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            s.recv_until(|d, _| Some(d.to_vec())),
        )
        .await
        .expect("woken by the next datagram")
        .unwrap();
        assert_eq!(got, b"next");
        drop(s);
        // Back in the pool: taken again, not a new socket.
        let again = pool.take(to).unwrap();
        assert_eq!(SocketAddr::from(([127, 0, 0, 1], again.port)), me);
        assert_eq!(pool.ports().len(), 1);
    }
}
