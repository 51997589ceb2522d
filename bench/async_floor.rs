//! The floor, sent from tokio: `bench/floor.c`'s GETBULK (the 13 IF-MIB columns), sent
//! and received the way an async poller does (a task on tokio's multi-thread runtime, a
//! `tokio::net::UdpSocket`, a timeout per request), and nothing else: no decode, no walk,
//! no store. Between the blocking floor and octopoll it tells what the runtime costs per
//! request (a reactor wake-up, a timer, epoll) apart from what octopoll does.
//!
//!   cargo build --release --example async_floor
//!   target/release/examples/async_floor HOST PORT COMMUNITY N [MAX_REPETITIONS PACE_US CHAIN]
//!
//! Arguments as `bench/floor.c`'s: N requests, in chains of CHAIN back to back, one chain
//! every PACE_US (0: back to back). Prints the same line, `cpu_us_per_request=`, from the
//! process's own user and system time over the requests (start-up not counted).
//!
//! Variants, to tell what of the runtime's cost a poller could avoid:
//! `ASYNC_FLOOR_RUNTIME=current` runs the task on a current-thread runtime (no second
//! worker to wake); `ASYNC_FLOOR_TIMEOUT=0` waits for each reply without a timer;
//! `ASYNC_FLOOR_PIPELINE=1` sends each chain's requests at once and then takes their
//! replies (one timer per chain), as a poller could when it knows a walk's rows.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use async_snmp as lib;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: async_floor HOST PORT COMMUNITY N [MAX_REPETITIONS PACE_US CHAIN]");
        std::process::exit(2);
    }
    let number = |i: usize, default: u64| -> u64 {
        args.get(i).map_or(default, |s| {
            s.parse().unwrap_or_else(|_| {
                eprintln!("async_floor: argument {} is not a number: {s:?}", i + 1);
                std::process::exit(2)
            })
        })
    };
    let port = number(1, 0) as u16;
    let Some(addr) = (args[0].as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
    else {
        eprintln!("async_floor: cannot resolve {}:{port}", args[0]);
        std::process::exit(2)
    };
    let (n, reps, pace_us, chain) = (number(3, 0), number(4, 25), number(5, 0), number(6, 1));
    let request = Request::new(args[2].as_bytes(), reps as u32);
    let current = std::env::var("ASYNC_FLOOR_RUNTIME").is_ok_and(|v| v == "current");
    let timed = std::env::var("ASYNC_FLOOR_TIMEOUT").map_or(true, |v| v != "0");
    let pipelined = std::env::var("ASYNC_FLOOR_PIPELINE").is_ok_and(|v| v == "1");
    let runtime = if current {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
    .enable_all()
    .build()
    .expect("tokio runtime");
    // A spawned task, as octopoll's polls are: the worker that the reactor wakes runs it.
    let run = runtime.spawn(requests(
        addr,
        request,
        n,
        pace_us,
        chain.max(1),
        timed,
        pipelined,
    ));
    let r = match runtime.block_on(run) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            eprintln!("async_floor: {e}");
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("async_floor: {e}");
            std::process::exit(1)
        }
    };
    println!(
        "async_floor runtime={} timeout={timed} pipelined={pipelined} requests={n} ok={} pace_us={pace_us} chain={chain} cpu_us_per_request={:.2} user_us={:.0} sys_us={:.0} wall_s={:.3} reply_bytes={}",
        if current { "current" } else { "multi" },
        r.ok,
        (r.user_us + r.sys_us) / n.max(1) as f64,
        r.user_us,
        r.sys_us,
        r.wall.as_secs_f64(),
        r.reply_bytes
    );
    std::process::exit(if r.ok == n { 0 } else { 1 });
}

/// The encoded GETBULK and where its 4-octet request id lies.
struct Request {
    bytes: Vec<u8>,
    id_at: usize,
}

/// Request ids from here up always encode in 4 octets.
const FIRST_ID: i32 = 0x1000_0000;

impl Request {
    fn new(community: &[u8], reps: u32) -> Request {
        let columns = [
            "1.3.6.1.2.1.2.2.1.2",
            "1.3.6.1.2.1.2.2.1.7",
            "1.3.6.1.2.1.2.2.1.8",
            "1.3.6.1.2.1.2.2.1.13",
            "1.3.6.1.2.1.2.2.1.14",
            "1.3.6.1.2.1.2.2.1.19",
            "1.3.6.1.2.1.2.2.1.20",
            "1.3.6.1.2.1.31.1.1.1.1",
            "1.3.6.1.2.1.31.1.1.1.6",
            "1.3.6.1.2.1.31.1.1.1.10",
            "1.3.6.1.2.1.31.1.1.1.15",
            "1.3.6.1.2.1.31.1.1.1.18",
            "1.3.6.1.2.1.2.2.1.1",
        ];
        let varbinds = columns
            .iter()
            .map(|c| {
                let arcs: Vec<u32> = c.split('.').map(|a| a.parse().expect("arc")).collect();
                lib::VarBind::null(lib::Oid::from_slice(&arcs))
            })
            .collect();
        let pdu =
            lib::GetBulkPdu::new(lib::Version::V2c, FIRST_ID, 0, reps, varbinds).expect("GETBULK");
        let bytes =
            lib::message::CommunityMessage::v2c(bytes::Bytes::copy_from_slice(community), pdu)
                .expect("message")
                .encode()
                .expect("encoded message")
                .to_vec();
        let id = FIRST_ID.to_be_bytes();
        let marker = [0x02, 4, id[0], id[1], id[2], id[3]];
        let id_at = bytes
            .windows(marker.len())
            .position(|w| w == marker)
            .expect("request id in the message")
            + 2;
        Request { bytes, id_at }
    }

    fn set_id(&mut self, id: u32) {
        self.bytes[self.id_at..self.id_at + 4].copy_from_slice(&id.to_be_bytes());
    }
}

/// The request id of a v1/v2c message whose id is 4 octets (as every reply to ours is).
fn request_id(b: &[u8]) -> Option<u32> {
    // (offset after a TLV's tag and length, its content length)
    let header = |i: usize| -> Option<(usize, usize)> {
        let first = *b.get(i + 1)?;
        if first < 0x80 {
            return Some((i + 2, usize::from(first)));
        }
        let n = usize::from(first & 0x7f);
        let len = b.get(i + 2..i + 2 + n)?;
        Some((
            i + 2 + n,
            len.iter().fold(0, |l, &x| l << 8 | usize::from(x)),
        ))
    };
    let (i, _) = header(0)?; // message
    let (i, l) = header(i)?; // version
    let (i, l) = header(i + l)?; // community
    let (i, _) = header(i + l)?; // PDU
    let (i, l) = header(i)?; // request id
    (l == 4).then_some(())?;
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

struct Outcome {
    ok: u64,
    user_us: f64,
    sys_us: f64,
    wall: Duration,
    reply_bytes: usize,
}

async fn requests(
    addr: SocketAddr,
    mut request: Request,
    n: u64,
    pace_us: u64,
    chain: u64,
    timed: bool,
    pipelined: bool,
) -> std::io::Result<Outcome> {
    let local = if addr.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    };
    let sock = tokio::net::UdpSocket::bind(local).await?;
    let mut buf = vec![0u8; 65_536];
    let (mut ok, mut reply_bytes) = (0, 0);
    let (u0, s0) = cpu_us();
    let start = Instant::now();
    let mut next = tokio::time::Instant::now();
    let mut i = 0;
    while i < n {
        if pace_us > 0 && i % chain == 0 {
            next += Duration::from_micros(pace_us);
            tokio::time::sleep_until(next).await;
        }
        if pipelined {
            // The whole chain at once, then its replies in any order.
            let m = chain.min(n - i);
            let first = FIRST_ID as u32 + i as u32;
            for k in 0..m {
                request.set_id(first + k as u32);
                sock.send_to(&request.bytes, addr).await?;
            }
            let mut pending = m;
            let replies = async {
                while pending > 0 {
                    let (got, from) = sock.recv_from(&mut buf).await?;
                    let id = request_id(&buf[..got]).unwrap_or(0);
                    if from == addr && (first..first + m as u32).contains(&id) {
                        pending -= 1;
                        ok += 1;
                        reply_bytes = got;
                    }
                }
                Ok::<(), std::io::Error>(())
            };
            if let Ok(r) = tokio::time::timeout(Duration::from_secs(2), replies).await {
                r?;
            }
            i += m;
            continue;
        }
        let id = FIRST_ID as u32 + i as u32;
        request.set_id(id);
        sock.send_to(&request.bytes, addr).await?;
        // Until the reply with this id, or 2 s (counted as not ok), as floor.c waits.
        let reply = async {
            loop {
                let (got, from) = sock.recv_from(&mut buf).await?;
                if from == addr && request_id(&buf[..got]) == Some(id) {
                    return Ok::<usize, std::io::Error>(got);
                }
            }
        };
        let got = if timed {
            tokio::time::timeout(Duration::from_secs(2), reply)
                .await
                .ok()
        } else {
            Some(reply.await)
        };
        if let Some(got) = got {
            ok += 1;
            reply_bytes = got?;
        }
        i += 1;
    }
    let wall = start.elapsed();
    let (u1, s1) = cpu_us();
    Ok(Outcome {
        ok,
        user_us: u1 - u0,
        sys_us: s1 - s0,
        wall,
        reply_bytes,
    })
}

/// This process's user and system CPU time so far, in microseconds.
#[allow(unsafe_code)]
fn cpu_us() -> (f64, f64) {
    // SAFETY: getrusage writes into the zeroed struct it is given and nothing else.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut r) };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    (us(r.ru_utime), us(r.ru_stime))
}
