//! A bare TCP relay for the media_s3 benchmark: `relay LISTEN_PORT UPSTREAM_PORT` (loopback).
//!
//! Every byte goes through user space with plain `read`/`write` of 256 KiB, as any gateway that
//! looks at the bytes must; nothing is parsed, decrypted or buffered beyond that. A plain GET
//! through it is the ceiling a gateway in front of the store can reach on the same machine.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

/// Copies `from` into `to` until `from` ends, then ends `to`'s writing side.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (listen, upstream) = match (args.get(1), args.get(2)) {
        (Some(l), Some(u)) => (l.clone(), u.clone()),
        _ => {
            eprintln!("usage: relay LISTEN_PORT UPSTREAM_PORT");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(("127.0.0.1", listen.parse::<u16>().expect("a port"))).expect("bind the relay's port");
    for client in listener.incoming().flatten() {
        let Ok(store) = TcpStream::connect(("127.0.0.1", upstream.parse::<u16>().expect("a port"))) else {
            continue;
        };
        for stream in [&client, &store] {
            let _ = stream.set_nodelay(true);
        }
        let (client_in, store_out) = (client.try_clone().expect("clone"), store.try_clone().expect("clone"));
        thread::spawn(move || pump(client_in, store_out));
        thread::spawn(move || pump(store, client));
    }
}
