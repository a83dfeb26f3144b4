//! A stand-in for go-wbft's `db_migrator`, for the migration tests: it
//! converts a devnode datadir from format 1 to format 2.
//!
//! ```text
//! db_migrator -src <old datadir> -dst <new datadir> [-batch N]
//! db_migrator -inplace <datadir>
//! ```
//!
//! With `-src/-dst` the old datadir is only read; the new one gets
//! `devnode/FORMAT` = 2 and `devnode/head.v2`, after ten "batches" written
//! under `devnode/convert/`. With `-inplace` the datadir itself is converted:
//! its `FORMAT` reads `converting` while the work runs, so a node of either
//! format refuses it until it is done (a half-converted datadir).
//!
//! Knobs (flag or environment variable):
//! - `-fail-at P` / `DB_MIGRATOR_FAIL_AT=P`: exit 2 with `panic: simulated
//!   failure` once P percent is done (the work so far is left behind);
//! - `-slow MS` / `DB_MIGRATOR_SLOW_MS=MS`: sleep MS milliseconds per batch;
//! - `-need BYTES` / `DB_MIGRATOR_NEED_BYTES=BYTES`: print `required size:
//!   BYTES bytes` and exit 1 when the destination's file system has less free.
//!
//! It holds an exclusive lock on `<dst>/devnode/MIGRATOR.lock` while it
//! works: a second migrator on the same datadir exits 1 at once.
//! Exit codes: 0 done, 1 bad usage or refused, 2 simulated failure.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

const BATCHES: u64 = 10;

struct Opts {
    src: Option<PathBuf>,
    dst: Option<PathBuf>,
    inplace: Option<PathBuf>,
    fail_at: Option<u64>,
    slow: Duration,
    need: Option<u64>,
}

fn env_u64(name: &str) -> Result<Option<u64>, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name}={v} is not a number")),
        _ => Ok(None),
    }
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        src: None,
        dst: None,
        inplace: None,
        fail_at: env_u64("DB_MIGRATOR_FAIL_AT")?,
        slow: Duration::from_millis(env_u64("DB_MIGRATOR_SLOW_MS")?.unwrap_or(0)),
        need: env_u64("DB_MIGRATOR_NEED_BYTES")?,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let name = a.trim_start_matches('-');
        let (name, inline) = match name.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (name, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("flag needs an argument: -{name}"))
        };
        let num = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("invalid value {v:?} for flag -{name}"))
        };
        match name {
            "src" => o.src = Some(PathBuf::from(value()?)),
            "dst" => o.dst = Some(PathBuf::from(value()?)),
            "inplace" => o.inplace = Some(PathBuf::from(value()?)),
            "batch" => {
                num(value()?)?;
            }
            "fail-at" => o.fail_at = Some(num(value()?)?),
            "slow" => o.slow = Duration::from_millis(num(value()?)?),
            "need" => o.need = Some(num(value()?)?),
            _ => return Err(format!("flag provided but not defined: -{name}")),
        }
    }
    match (&o.src, &o.dst, &o.inplace) {
        (Some(_), Some(_), None) | (None, None, Some(_)) => Ok(o),
        _ => Err(
            "usage: db_migrator -src <datadir (v1)> -dst <datadir (v2)> | -inplace <datadir>"
                .into(),
        ),
    }
}

fn read_format(dir: &Path) -> String {
    match fs::read_to_string(dir.join("devnode/FORMAT")) {
        Ok(s) => s.trim().to_string(),
        Err(_) if dir.join("devnode/head").exists() => "1".into(),
        Err(_) => "none".into(),
    }
}

fn read_head(dir: &Path) -> Result<u64, String> {
    let p = dir.join("devnode/head");
    match fs::read_to_string(&p) {
        Ok(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("corrupt head file {p:?}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(format!("cannot read {p:?}: {e}")),
    }
}

fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

fn free_bytes(p: &Path) -> u64 {
    let mut p = p;
    while !p.exists() {
        match p.parent() {
            Some(x) => p = x,
            None => break,
        }
    }
    nix::sys::statvfs::statvfs(p)
        .map(|s| {
            #[allow(clippy::unnecessary_cast)]
            let free = (s.blocks_available() as u64).saturating_mul(s.fragment_size() as u64);
            free
        })
        .unwrap_or(0)
}

fn run(o: Opts) -> Result<(), (u8, String)> {
    let refuse = |m: String| (1u8, m);
    let (src, dst) = match (&o.src, &o.dst, &o.inplace) {
        (Some(s), Some(d), _) => (s.clone(), d.clone()),
        (_, _, Some(d)) => (d.clone(), d.clone()),
        _ => return Err(refuse("nothing to do".into())),
    };
    let inplace = o.inplace.is_some();
    let format = read_format(&src);
    if format != "1" {
        return Err(refuse(format!(
            "source {src:?} is not a format-1 datadir (format: {format})"
        )));
    }
    if !inplace && dst.join("devnode/FORMAT").exists() {
        return Err(refuse(format!(
            "destination {dst:?} already holds a database; give a new directory"
        )));
    }
    let head = read_head(&src).map_err(refuse)?;
    fs::create_dir_all(dst.join("devnode"))
        .map_err(|e| refuse(format!("cannot create {dst:?}: {e}")))?;
    let lock_file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dst.join("devnode/MIGRATOR.lock"))
        .map_err(|e| refuse(format!("cannot open the lock: {e}")))?;
    let _lock = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock)
        .map_err(|_| refuse(format!("another db_migrator is already working on {dst:?}")))?;
    if let Some(need) = o.need {
        println!("required size: {need} bytes");
        let free = free_bytes(&dst);
        if free < need {
            return Err(refuse(format!(
                "not enough space: need {need} bytes, {free} bytes free at {dst:?}"
            )));
        }
    }
    println!("Migrating chaindata {src:?} to {dst:?} (head {head})");
    if inplace {
        write_atomic(&dst.join("devnode/FORMAT"), "converting\n")
            .map_err(|e| refuse(format!("cannot mark {dst:?}: {e}")))?;
    }
    let work = dst.join("devnode/convert");
    fs::create_dir_all(&work).map_err(|e| refuse(format!("cannot create {work:?}: {e}")))?;
    for i in 1..=BATCHES {
        std::thread::sleep(o.slow);
        let pct = i * 100 / BATCHES;
        fs::write(work.join(format!("batch-{i:02}")), format!("{i}\n"))
            .map_err(|e| refuse(format!("cannot write: {e}")))?;
        println!("Write {i} pairs {} bytes ({pct}%)", i * 1024);
        let _ = std::io::stdout().flush();
        if o.fail_at.is_some_and(|f| pct >= f) {
            return Err((2, format!("panic: simulated failure at {pct}%")));
        }
    }
    let d = dst.join("devnode");
    write_atomic(
        &d.join("head.v2"),
        &format!("{{\"format\":2,\"head\":{head}}}\n"),
    )
    .map_err(|e| refuse(format!("cannot write: {e}")))?;
    if inplace {
        let _ = fs::remove_file(d.join("head"));
    }
    write_atomic(&d.join("FORMAT"), "2\n").map_err(|e| refuse(format!("cannot write: {e}")))?;
    let _ = fs::remove_dir_all(&work);
    let _ = fs::remove_file(d.join("MIGRATOR.lock"));
    println!("Done");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    match run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    }
}
