//! Verified downloads: URL policy (HTTPS only except loopback, host
//! allow-list, on every redirect too), streaming into a `.partial` file
//! beside the target while hashing, resume with `Range` where the server
//! allows, retries with backoff on network errors only, fsync, checksum,
//! rename. Every download is bounded: at most `download.max_bytes`
//! (checked against `Content-Length` before the body and while it
//! streams) and at most `download.timeout` overall, retries included.

use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{ACCEPT_RANGES, CONTENT_RANGE, RANGE};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};
use wemixvisor_core::Checksum;

use crate::{DownloadSettings, UpgradeError};

/// Largest text document (info JSON, signature) fetched into memory.
pub const TEXT_LIMIT: usize = 1 << 20;

/// Which URLs may be fetched.
#[derive(Debug, Clone)]
pub struct UrlPolicy {
    allowed_hosts: Vec<String>,
}

fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl UrlPolicy {
    /// A policy allowing `allowed_hosts` (`*.example.com` matches its
    /// subdomains; empty = any host).
    pub fn new(allowed_hosts: &[String]) -> Self {
        UrlPolicy {
            allowed_hosts: allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        if self.allowed_hosts.is_empty() {
            return true;
        }
        let host = host.to_ascii_lowercase();
        self.allowed_hosts
            .iter()
            .any(|a| match a.strip_prefix("*.") {
                Some(suffix) => host.ends_with(&format!(".{suffix}")),
                None => *a == host,
            })
    }

    /// Checks one URL; the reason and fix when refused.
    pub fn check(&self, url: &Url) -> Result<(), (String, String)> {
        let host = url.host_str().unwrap_or("").to_string();
        if host.is_empty() {
            return Err(("it has no host".into(), "give a full https:// URL".into()));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(&host) => {}
            "http" => {
                return Err((
                    format!("plain HTTP to '{host}' is not allowed (only to loopback)"),
                    "use an https:// URL".into(),
                ))
            }
            other => {
                return Err((
                    format!("the scheme '{other}' is not supported"),
                    "use an https:// URL".into(),
                ))
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err((
                "it carries credentials".into(),
                "remove user:password@ from the URL".into(),
            ));
        }
        if !self.host_allowed(&host) {
            return Err((
                format!(
                    "host '{host}' is not in download.allowed_hosts ({})",
                    self.allowed_hosts.join(", ")
                ),
                format!("add '{host}' to download.allowed_hosts if you trust it"),
            ));
        }
        Ok(())
    }
}

/// An HTTP client that applies the download policy.
#[derive(Debug, Clone)]
pub struct Fetcher {
    settings: DownloadSettings,
    policy: UrlPolicy,
    client: reqwest::Client,
}

/// Why one attempt failed.
enum AttemptError {
    /// Worth another attempt (connection, timeout, 5xx, truncated body).
    Retry(String),
    /// Final.
    Fatal(UpgradeError),
}

impl Fetcher {
    /// A client with the policy, timeouts and extra CA certificate of `settings`.
    pub fn new(settings: &DownloadSettings) -> Result<Self, UpgradeError> {
        let policy = UrlPolicy::new(&settings.allowed_hosts);
        let redirect_policy = policy.clone();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .user_agent(concat!("wemixvisor/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 10 {
                    return attempt.error("more than 10 redirects");
                }
                match redirect_policy.check(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err((reason, _)) => {
                        let msg = format!("redirect to '{}' refused: {reason}", attempt.url());
                        attempt.error(msg)
                    }
                }
            }));
        if let Some(ca) = &settings.ca_cert {
            let pem =
                std::fs::read(ca).map_err(|e| UpgradeError::io("read CA certificate", ca, e))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                UpgradeError::UrlRefused {
                    url: String::new(),
                    reason: format!("CA certificate '{}' is not PEM: {e}", ca.display()),
                    help: "point WEMIXVISOR_DOWNLOAD_CA_CERT at a PEM certificate".into(),
                }
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(|e| UpgradeError::Network {
            url: String::new(),
            reason: format!("cannot set up the HTTP client: {e}"),
            attempts: 0,
        })?;
        Ok(Fetcher {
            settings: settings.clone(),
            policy,
            client,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &DownloadSettings {
        &self.settings
    }

    /// Parses `url` and checks it against the policy.
    pub fn check_url(&self, url: &str) -> Result<Url, UpgradeError> {
        let parsed = Url::parse(url).map_err(|e| UpgradeError::UrlRefused {
            url: url.to_string(),
            reason: format!("it is not a valid URL: {e}"),
            help: "give a full https:// URL".into(),
        })?;
        self.policy
            .check(&parsed)
            .map_err(|(reason, help)| UpgradeError::UrlRefused {
                url: url.to_string(),
                reason,
                help,
            })?;
        Ok(parsed)
    }

    fn classify(url: &str, e: &reqwest::Error) -> AttemptError {
        if e.is_redirect() || e.is_builder() {
            return AttemptError::Fatal(UpgradeError::UrlRefused {
                url: url.to_string(),
                reason: error_chain(e),
                help: "check the URL and download.allowed_hosts".into(),
            });
        }
        AttemptError::Retry(error_chain(e))
    }

    /// Decides after attempt `n` failed: `Ok(wait)` to try again, or the
    /// final error.
    fn after_failure(
        &self,
        url: &str,
        n: u32,
        err: AttemptError,
        wait: &mut Duration,
    ) -> Result<Duration, UpgradeError> {
        let total = self.settings.retries + 1;
        match err {
            AttemptError::Fatal(e) => Err(e),
            AttemptError::Retry(reason) if n < total => {
                let w = *wait;
                tracing::warn!(url, attempt = n, of = total, error = %reason, "download attempt failed; retrying in {w:?}");
                *wait = (*wait * 2).min(Duration::from_secs(60));
                Ok(w)
            }
            AttemptError::Retry(reason) => Err(UpgradeError::Network {
                url: url.to_string(),
                reason,
                attempts: n,
            }),
        }
    }

    /// Fetches a small text document (info JSON, a `.minisig`).
    /// `Ok(None)` on 404 when `missing_ok`.
    pub async fn get_text(
        &self,
        url: &str,
        missing_ok: bool,
    ) -> Result<Option<String>, UpgradeError> {
        let parsed = self.check_url(url)?;
        let mut wait = self.settings.retry_backoff;
        let mut n = 0;
        let attempts = async {
            loop {
                n += 1;
                match self.text_attempt(&parsed, url, missing_ok).await {
                    Ok(v) => return Ok(v),
                    Err(e) => {
                        let w = self.after_failure(url, n, e, &mut wait)?;
                        tokio::time::sleep(w).await;
                    }
                }
            }
        };
        tokio::time::timeout(self.settings.timeout, attempts)
            .await
            .unwrap_or_else(|_| {
                Err(UpgradeError::DownloadTimedOut {
                    url: url.to_string(),
                    timeout: humantime::format_duration(self.settings.timeout).to_string(),
                    got: 0,
                })
            })
    }

    async fn text_attempt(
        &self,
        parsed: &Url,
        url: &str,
        missing_ok: bool,
    ) -> Result<Option<String>, AttemptError> {
        let mut resp = self
            .client
            .get(parsed.clone())
            .send()
            .await
            .map_err(|e| Self::classify(url, &e))?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND && missing_ok {
            return Ok(None);
        }
        status_check(url, status)?;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| Self::classify(url, &e))? {
            body.extend_from_slice(&chunk);
            if body.len() > TEXT_LIMIT {
                return Err(AttemptError::Fatal(UpgradeError::UrlRefused {
                    url: url.to_string(),
                    reason: format!("the document is larger than {TEXT_LIMIT} bytes"),
                    help: "point the plan at the right document".into(),
                }));
            }
        }
        String::from_utf8(body).map(Some).map_err(|_| {
            AttemptError::Fatal(UpgradeError::UrlRefused {
                url: url.to_string(),
                reason: "the document is not UTF-8 text".into(),
                help: "point the plan at the right document".into(),
            })
        })
    }

    /// Downloads `url` to `dest`: streams into `<dest>.partial` while
    /// hashing, resumes after a network error where the server allows,
    /// fsyncs, checks `expected`, then renames into place. On any failure
    /// nothing is left at `dest` or `<dest>.partial`. Returns the sha256 hex.
    pub async fn download(
        &self,
        url: &str,
        dest: &Path,
        expected: Option<&Checksum>,
    ) -> Result<String, UpgradeError> {
        let parsed = self.check_url(url)?;
        if expected.is_none() && self.settings.must_have_checksum {
            return Err(UpgradeError::ChecksumRequired {
                url: url.to_string(),
            });
        }
        let partial = partial_path(dest);
        let guard = RemoveOnDrop(vec![partial.clone()]);
        let _ = std::fs::remove_file(&partial);
        let bar = self.progress_bar(url);
        let mut resumable = false;
        let mut wait = self.settings.retry_backoff;
        let mut n = 0;
        let attempts = async {
            loop {
                n += 1;
                match self
                    .attempt(&parsed, url, &partial, &mut resumable, &bar)
                    .await
                {
                    Ok(d) => break Ok(d),
                    Err(e) => match self.after_failure(url, n, e, &mut wait) {
                        Ok(w) => tokio::time::sleep(w).await,
                        Err(e) => break Err(e),
                    },
                }
            }
        };
        let result = match tokio::time::timeout(self.settings.timeout, attempts).await {
            Ok(r) => r,
            Err(_) => Err(UpgradeError::DownloadTimedOut {
                url: url.to_string(),
                timeout: humantime::format_duration(self.settings.timeout).to_string(),
                got: std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0),
            }),
        };
        bar.finish_and_clear();
        let digest = result?;
        if let Some(exp) = expected {
            if exp.hex != digest {
                return Err(UpgradeError::ChecksumMismatch {
                    url: url.to_string(),
                    expected: exp.to_string(),
                    actual: digest,
                });
            }
        }
        std::fs::rename(&partial, dest)
            .map_err(|e| UpgradeError::io("rename into place", dest, e))?;
        if let Some(dir) = dest.parent() {
            wemixvisor_core::atomic::fsync_dir(dir)?;
        }
        guard.disarm();
        Ok(digest)
    }

    fn progress_bar(&self, url: &str) -> indicatif::ProgressBar {
        if !self.settings.progress || !std::io::stderr().is_terminal() {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        let name = url
            .split('?')
            .next()
            .and_then(|u| u.rsplit('/').next())
            .unwrap_or("download")
            .to_string();
        bar.set_message(name);
        bar
    }

    /// One attempt: resumes from what `partial` holds when the server said
    /// it accepts ranges, else starts over. Returns the sha256 hex.
    async fn attempt(
        &self,
        parsed: &Url,
        url: &str,
        partial: &Path,
        resumable: &mut bool,
        bar: &indicatif::ProgressBar,
    ) -> Result<String, AttemptError> {
        let have = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
        let mut req = self.client.get(parsed.clone());
        let resume_from = (*resumable && have > 0).then_some(have);
        if let Some(from) = resume_from {
            req = req.header(RANGE, format!("bytes={from}-"));
        }
        let mut resp = req.send().await.map_err(|e| Self::classify(url, &e))?;
        let status = resp.status();
        status_check(url, status)?;
        *resumable = resp
            .headers()
            .get(ACCEPT_RANGES)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("bytes"));
        let io_fatal = |op: &'static str, e: std::io::Error| {
            AttemptError::Fatal(UpgradeError::io(op, partial, e))
        };
        let resumed = resume_from.is_some()
            && status == StatusCode::PARTIAL_CONTENT
            && resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok())
                == resume_from;
        let mut hasher = Sha256::new();
        let mut file = if resumed {
            let mut existing = std::fs::File::open(partial).map_err(|e| io_fatal("open", e))?;
            std::io::copy(&mut existing, &mut hasher).map_err(|e| io_fatal("read", e))?;
            std::fs::OpenOptions::new()
                .append(true)
                .open(partial)
                .map_err(|e| io_fatal("open", e))?
        } else {
            if status == StatusCode::PARTIAL_CONTENT {
                return Err(AttemptError::Retry(
                    "the server sent a range that was not asked for".into(),
                ));
            }
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(partial)
                .map_err(|e| io_fatal("create", e))?
        };
        let start = if resumed { have } else { 0 };
        let expected_len = resp.content_length().map(|n| n.saturating_add(start));
        let limit = self.settings.max_bytes;
        let too_large = |actual: String| {
            AttemptError::Fatal(UpgradeError::DownloadTooLarge {
                url: url.to_string(),
                limit,
                actual,
            })
        };
        if let Some(n) = expected_len.filter(|n| *n > limit) {
            return Err(too_large(n.to_string()));
        }
        bar.set_length(expected_len.unwrap_or(0));
        bar.set_position(start);
        let mut got = start;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if got.saturating_add(chunk.len() as u64) > limit {
                        return Err(too_large(format!(
                            "at least {}",
                            got.saturating_add(chunk.len() as u64)
                        )));
                    }
                    hasher.update(&chunk);
                    file.write_all(&chunk).map_err(|e| io_fatal("write", e))?;
                    got += chunk.len() as u64;
                    bar.set_position(got);
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = file.sync_all();
                    return Err(AttemptError::Retry(format!(
                        "the transfer broke off after {got}{} bytes: {}",
                        expected_len.map(|n| format!(" of {n}")).unwrap_or_default(),
                        error_chain(&e)
                    )));
                }
            }
        }
        file.sync_all().map_err(|e| io_fatal("fsync", e))?;
        if let Some(n) = expected_len {
            if got != n {
                return Err(AttemptError::Retry(format!(
                    "the body is truncated: got {got} of {n} bytes"
                )));
            }
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

fn status_check(url: &str, status: StatusCode) -> Result<(), AttemptError> {
    if status.is_success() {
        return Ok(());
    }
    let code = status.as_u16();
    if status.is_server_error() || code == 429 || code == 408 {
        Err(AttemptError::Retry(format!(
            "the server answered HTTP {code}"
        )))
    } else {
        Err(AttemptError::Fatal(UpgradeError::HttpStatus {
            url: url.to_string(),
            status: code,
        }))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// `<dest>.partial`.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "download".into());
    name.push(".partial");
    dest.with_file_name(name)
}

/// The `.minisig` URL of a download URL (query and fragment dropped).
pub fn minisig_url(url: &str) -> Option<String> {
    let mut u = Url::parse(url).ok()?;
    u.set_query(None);
    u.set_fragment(None);
    let path = format!("{}.minisig", u.path());
    u.set_path(&path);
    Some(u.to_string())
}

/// Removes files when dropped unless disarmed.
struct RemoveOnDrop(Vec<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.0.clear();
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Reply, TestServer};

    fn settings() -> DownloadSettings {
        DownloadSettings {
            allow: true,
            retries: 2,
            retry_backoff: Duration::from_millis(10),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            progress: false,
            ..DownloadSettings::default()
        }
    }

    fn sum(data: &[u8]) -> Checksum {
        Checksum::parse(&format!("sha256:{}", hex::encode(Sha256::digest(data)))).unwrap()
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn policy_rules() {
        let p = UrlPolicy::new(&[]);
        let ok = |s: &str| p.check(&Url::parse(s).unwrap()).is_ok();
        assert!(ok("https://example.com/x"));
        assert!(ok("http://127.0.0.1:8080/x"));
        assert!(ok("http://localhost/x"));
        assert!(ok("http://[::1]:9/x"));
        assert!(!ok("http://example.com/x"));
        assert!(!ok("http://10.0.0.1/x"));
        assert!(!ok("ftp://example.com/x"));
        assert!(!ok("https://u:p@example.com/x"));
        let p = UrlPolicy::new(&["releases.example.com".into(), "*.mirror.org".into()]);
        let ok = |s: &str| p.check(&Url::parse(s).unwrap()).is_ok();
        assert!(ok("https://releases.example.com/x"));
        assert!(ok("https://a.mirror.org/x"));
        assert!(!ok("https://mirror.org.evil.com/x"));
        assert!(!ok("https://evil.com/releases.example.com"));
        assert_eq!(
            minisig_url("https://h/a/geth.tar.gz?checksum=sha256:ab#x").unwrap(),
            "https://h/a/geth.tar.gz.minisig"
        );
    }

    #[tokio::test]
    async fn https_with_extra_ca_good_checksum() {
        let body = b"binary bytes".repeat(1000);
        let srv = TestServer::https();
        srv.route("/geth", Reply::ok(body.clone()));
        let d = tempfile::tempdir().unwrap();
        let mut s = settings();
        s.ca_cert = Some(srv.ca_pem_file(d.path()));
        let f = Fetcher::new(&s).unwrap();
        let dest = d.path().join("out");
        let digest = f
            .download(&srv.url("/geth"), &dest, Some(&sum(&body)))
            .await
            .unwrap();
        assert_eq!(digest, sum(&body).hex);
        assert_eq!(std::fs::read(&dest).unwrap(), body);
        assert!(!partial_path(&dest).exists());

        // without the CA the same server is refused (TLS), and nothing is left
        let mut s2 = settings();
        s2.retries = 0;
        let f2 = Fetcher::new(&s2).unwrap();
        let dest2 = d.path().join("out2");
        let e = f2
            .download(&srv.url("/geth"), &dest2, Some(&sum(&body)))
            .await
            .unwrap_err();
        assert!(matches!(e, UpgradeError::Network { .. }), "{e}");
        assert!(!dest2.exists() && !partial_path(&dest2).exists());
    }

    #[tokio::test]
    async fn refusals_leave_nothing_behind() {
        let body = b"0123456789".repeat(100);
        let srv = TestServer::http();
        srv.route("/geth", Reply::ok(body.clone()));
        srv.route("/short", Reply::truncated(body.clone(), 300));
        let d = tempfile::tempdir().unwrap();
        let f = Fetcher::new(&settings()).unwrap();
        let dest = d.path().join("out");

        let wrong = sum(b"something else");
        let e = f
            .download(&srv.url("/geth"), &dest, Some(&wrong))
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&wrong.hex) && msg.contains(&sum(&body).hex),
            "{msg}"
        );
        assert_eq!(srv.hits("/geth"), 1, "verification errors are not retried");

        let e = f
            .download(&srv.url("/missing"), &dest, Some(&wrong))
            .await
            .unwrap_err();
        assert!(
            matches!(e, UpgradeError::HttpStatus { status: 404, .. }),
            "{e}"
        );
        assert_eq!(srv.hits("/missing"), 1);

        let e = f
            .download(&srv.url("/short"), &dest, Some(&sum(&body)))
            .await
            .unwrap_err();
        assert!(
            matches!(e, UpgradeError::Network { attempts: 3, .. }),
            "{e}"
        );
        assert_eq!(srv.hits("/short"), 3, "network errors are retried");

        let e = f
            .download(&srv.url("/geth"), &dest, None)
            .await
            .unwrap_err();
        assert!(matches!(e, UpgradeError::ChecksumRequired { .. }), "{e}");

        let e = f
            .download("http://example.invalid/geth", &dest, Some(&wrong))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("plain HTTP"), "{e}");

        let mut s = settings();
        s.allowed_hosts = vec!["releases.example.com".into()];
        let f = Fetcher::new(&s).unwrap();
        let e = f
            .download(&srv.url("/geth"), &dest, Some(&sum(&body)))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("allowed_hosts"), "{e}");
        assert!(leftovers(d.path()).is_empty(), "{:?}", leftovers(d.path()));
    }

    #[tokio::test]
    async fn broken_transfer_resumes_with_range() {
        let body: Vec<u8> = (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let srv = TestServer::http();
        srv.route(
            "/geth",
            Reply::truncated_once_then_ranges(body.clone(), 70_000),
        );
        let d = tempfile::tempdir().unwrap();
        let f = Fetcher::new(&settings()).unwrap();
        let dest = d.path().join("out");
        f.download(&srv.url("/geth"), &dest, Some(&sum(&body)))
            .await
            .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), body);
        assert_eq!(srv.ranges("/geth"), vec!["bytes=70000-".to_string()]);
    }

    #[tokio::test]
    async fn redirects_are_checked_too() {
        let srv = TestServer::http();
        srv.route("/r", Reply::redirect("http://example.invalid/geth"));
        let d = tempfile::tempdir().unwrap();
        let f = Fetcher::new(&settings()).unwrap();
        let e = f
            .download(&srv.url("/r"), &d.path().join("o"), Some(&sum(b"x")))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("plain HTTP"), "{e}");
    }

    #[tokio::test]
    async fn downloads_over_max_bytes_are_refused_by_length_and_while_streaming() {
        let srv = TestServer::http();
        srv.route("/announced", Reply::ok(vec![7u8; 4096]));
        srv.route("/unsized", Reply::unsized_zeros(64 << 20));
        let d = tempfile::tempdir().unwrap();
        let mut s = settings();
        s.max_bytes = 1024 * 1024;
        let f = Fetcher::new(&s).unwrap();
        let dest = d.path().join("out");

        let mut small = settings();
        small.max_bytes = 1000;
        let e = Fetcher::new(&small)
            .unwrap()
            .download(&srv.url("/announced"), &dest, Some(&sum(b"x")))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, UpgradeError::DownloadTooLarge { limit: 1000, actual, .. } if actual == "4096"),
            "{e}"
        );
        assert!(e.to_string().contains("download.max_bytes"), "{e}");
        assert_eq!(srv.hits("/announced"), 1, "a size refusal is not retried");

        let e = f
            .download(&srv.url("/unsized"), &dest, Some(&sum(b"x")))
            .await
            .unwrap_err();
        match &e {
            UpgradeError::DownloadTooLarge { actual, .. } => {
                let n: u64 = actual.trim_start_matches("at least ").parse().unwrap();
                assert!(n > 1024 * 1024 && n < 2 * 1024 * 1024, "{actual}");
            }
            other => panic!("{other}"),
        }
        assert_eq!(srv.hits("/unsized"), 1);
        assert!(leftovers(d.path()).is_empty(), "{:?}", leftovers(d.path()));
    }

    #[tokio::test]
    async fn a_dripping_server_hits_the_overall_deadline() {
        let srv = TestServer::http();
        srv.route("/drip", Reply::drip(1_000_000, Duration::from_millis(50)));
        let d = tempfile::tempdir().unwrap();
        let mut s = settings();
        // Each byte arrives well within the read timeout; only the overall
        // deadline can end this.
        s.read_timeout = Duration::from_secs(30);
        s.timeout = Duration::from_millis(800);
        let f = Fetcher::new(&s).unwrap();
        let dest = d.path().join("out");
        let e = f
            .download(&srv.url("/drip"), &dest, Some(&sum(b"x")))
            .await
            .unwrap_err();
        match &e {
            UpgradeError::DownloadTimedOut { got, .. } => assert!(*got > 0, "{e}"),
            other => panic!("{other}"),
        }
        assert!(e.to_string().contains("download.timeout"), "{e}");
        assert!(leftovers(d.path()).is_empty(), "{:?}", leftovers(d.path()));
    }
}
