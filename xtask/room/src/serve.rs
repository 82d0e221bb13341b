//! `room serve`: opens the room's database, finds (or makes) its code,
//! prints what to tell the students, and serves the router of `app.rs`.

use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::app::{self, AppState};
use crate::checkpoints::Catalogue;
use crate::store::Store;

pub struct Options {
    pub host: IpAddr,
    pub port: u16,
    pub db: PathBuf,
    pub checkpoints: PathBuf,
    pub lesson: PathBuf,
}

/// Letters and digits that cannot be misheard or misread for another: no
/// 0/O, 1/I/L.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LENGTH: usize = 6;

/// A new room code, e.g. `K7PXQ3`.
///
/// The code is said aloud to the whole room, so it is no secret from the
/// students; it keeps out reports meant for another room (the class next
/// door on the same network, yesterday's workshop). Its randomness comes
/// from std's `RandomState`, whose keys are seeded from the operating
/// system's random source for every process: enough for that, and no crate.
pub fn new_code() -> String {
    let state = std::collections::hash_map::RandomState::new();
    (0..CODE_LENGTH)
        .map(|i| {
            let mut hasher = state.build_hasher();
            hasher.write_usize(i);
            let index = hasher.finish() % ALPHABET.len() as u64;
            char::from(ALPHABET[index as usize])
        })
        .collect()
}

pub fn run(options: Options) -> Result<()> {
    let catalogue = Catalogue::load(&options.checkpoints)?;
    // A lesson file without `[timing]` gives no minutes: the page then
    // uses its own default threshold.
    let minutes = lesson::plan::load(&options.lesson)?
        .map(|timing| timing.minutes_by_checkpoint())
        .unwrap_or_default();
    let store = Store::open(&options.db)
        .with_context(|| format!("cannot open the room's database {}", options.db.display()))?;
    let code = store.code(new_code)?;
    let students = store.students()?.len();
    let state = AppState::new(store, code.clone(), catalogue, minutes);

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let address = SocketAddr::new(options.host, options.port);
        let listener = tokio::net::TcpListener::bind(address).await.with_context(|| {
            format!(
                "cannot listen on {address}: is another room running there? Pass --port to use another"
            )
        })?;
        let port = listener.local_addr()?.port();
        announce(&options, port, &code, students);
        let server = axum::serve(
            listener,
            app::router(state).into_make_service_with_connect_info::<SocketAddr>(),
        );
        // Not a graceful shutdown: an open room page holds its event stream
        // forever, and waiting for it would never end. Stopping mid-request
        // loses nothing, as each report is stored in one transaction.
        tokio::select! {
            served = server => served.context("the room's server failed"),
            _ = tokio::signal::ctrl_c() => {
                println!("room: stopped; the code and the table are kept in {}", options.db.display());
                Ok(())
            }
        }
    })
}

/// What the instructor reads: the code, the page, what students run, and
/// who can reach it.
fn announce(options: &Options, port: u16, code: &str, students: usize) {
    let local = match options.host {
        host if host.is_unspecified() => format!("http://127.0.0.1:{port}"),
        host => format!("http://{}", SocketAddr::new(host, port)),
    };
    let for_students = match options.host {
        host if host.is_unspecified() => lan_address()
            .map(|ip| format!("http://{}", SocketAddr::new(ip, port)))
            .unwrap_or_else(|| format!("http://<this machine's address>:{port}")),
        _ => local.clone(),
    };
    println!();
    println!("  Room code:     {code}");
    println!("  The room:      {local}/   (open it on this machine)");
    println!(
        "  Students run:  cargo xtask check --room {for_students} --code {code} --name \"Their Name\""
    );
    println!();
    if options.host.is_loopback() {
        println!(
            "  Listening on {} only: only this machine can report. To let students on your",
            options.host
        );
        println!(
            "  network report, run `cargo xtask room --host 0.0.0.0` (plain HTTP: a LAN you trust)."
        );
    } else {
        println!(
            "  Listening on {}: anyone on your network who has the code can report.",
            options.host
        );
        println!("  The room page itself is shown only on this machine.");
    }
    println!(
        "  Students send only checkpoint results, the hints they asked for, the first failure's"
    );
    println!(
        "  expected/seen line, their doctor's lines, a build id and a random machine id; never code."
    );
    if students > 0 {
        println!(
            "  {students} student(s) from earlier in this room, kept in {}",
            options.db.display()
        );
    } else {
        println!("  Kept in {}", options.db.display());
    }
    println!();
}

/// This machine's address on the network its default route is on: a UDP
/// socket "connected" to an address on the internet picks the interface
/// without sending a packet.
fn lan_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_unambiguous_characters_and_differ() {
        let code = new_code();
        assert_eq!(code.len(), CODE_LENGTH);
        assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
        assert!(!code.contains(['0', 'O', '1', 'I', 'L']));
        let codes: std::collections::HashSet<String> = (0..20).map(|_| new_code()).collect();
        assert!(codes.len() > 15);
    }
}
