//! Loopback networking for tests: [`free_port`] and [`FileServer`], a
//! plain-HTTP file server on 127.0.0.1 (downloads over plain HTTP are the
//! ones wemixvisor allows only to loopback).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A TCP port on 127.0.0.1 that was free a moment ago (0 if none could be
/// bound, which makes the caller's own bind fail loudly).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A plain-HTTP file server on 127.0.0.1: `GET /<name>` → the file (query
/// ignored), 404 otherwise; every requested path is recorded. It serves on
/// its own thread until the test process ends.
#[derive(Debug)]
pub struct FileServer {
    /// Its port.
    pub port: u16,
    hits: Arc<Mutex<Vec<String>>>,
}

impl FileServer {
    /// Serves `files` (path → body).
    pub fn start(files: Vec<(&str, Vec<u8>)>) -> std::io::Result<FileServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let files: Arc<Vec<(String, Vec<u8>)>> =
            Arc::new(files.into_iter().map(|(p, b)| (p.to_string(), b)).collect());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let seen = hits.clone();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&req);
                let path = text
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .split('?')
                    .next()
                    .unwrap_or("/")
                    .to_string();
                if let Ok(mut h) = seen.lock() {
                    h.push(path.clone());
                }
                let _ = match files.iter().find(|(p, _)| *p == path) {
                    Some((_, body)) => write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .and_then(|_| s.write_all(body)),
                    None => write!(
                        s,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    ),
                };
            }
        });
        Ok(FileServer { port, hits })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Paths requested so far.
    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(port: u16, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_files_and_records_hits() {
        assert_ne!(free_port(), 0);
        let srv = FileServer::start(vec![("/geth", b"bin".to_vec())]).unwrap();
        assert!(get(srv.port, "/geth?checksum=x").ends_with("\r\n\r\nbin"));
        assert!(get(srv.port, "/nope").starts_with("HTTP/1.1 404"));
        assert_eq!(srv.hits(), ["/geth", "/nope"]);
        assert_eq!(srv.url("/a"), format!("http://127.0.0.1:{}/a", srv.port));
    }
}
