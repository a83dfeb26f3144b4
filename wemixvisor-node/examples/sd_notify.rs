//! Talks to systemd the way the supervisor does under `Type=notify`:
//! READY=1, a STATUS= line, WATCHDOG=1 at the watchdog interval, STOPPING=1.
//! Outside systemd (no `NOTIFY_SOCKET`) it says so and exits.
//!
//! `systemd-run --user --wait -p Type=notify -p WatchdogSec=4 \
//!    target/debug/examples/sd_notify`

use std::time::Duration;

use wemixvisor_node::sdnotify::{watchdog_interval, Notifier};

fn main() -> std::io::Result<()> {
    let Some(notifier) = Notifier::from_env()? else {
        println!("NOTIFY_SOCKET is not set: not started by systemd with Type=notify");
        return Ok(());
    };
    notifier.ready()?;
    notifier.status("example: running")?;
    let tick = watchdog_interval().unwrap_or(Duration::from_secs(1));
    for _ in 0..3 {
        std::thread::sleep(tick);
        notifier.watchdog()?;
    }
    notifier.stopping()
}
