//! The systemd unit that runs `wemixvisor run` for one home.
//!
//! `Type=notify`: wemixvisor reports readiness (the node answers RPC),
//! state changes (`STATUS=`) and liveness (`WATCHDOG=1` from its loop), so
//! systemd restarts a stuck supervisor. The stop timeout is the node's
//! `shutdown_grace` plus a margin, so systemd never SIGKILLs geth while it
//! flushes its database; `KillMode=mixed` sends SIGTERM to wemixvisor alone,
//! which stops the node itself, and SIGKILL to the whole group only at the
//! end.

use std::path::Path;
use std::time::Duration;

/// What the unit is rendered for.
#[derive(Debug, Clone)]
pub struct UnitSettings<'a> {
    /// The wemixvisor home (`WEMIX_HOME`).
    pub home: &'a Path,
    /// The installed `wemixvisor` binary.
    pub executable: &'a Path,
    /// The user to run as; `None` leaves `User=` out.
    pub user: Option<&'a str>,
    /// The node's `shutdown_grace`.
    pub shutdown_grace: Duration,
}

/// Margin on top of `shutdown_grace` for `TimeoutStopSec=`.
pub const STOP_MARGIN: Duration = Duration::from_secs(30);

/// A value as a unit file needs it: as is when plain, else `"..."` with C
/// escapes, and `%` doubled so systemd does not read it as a specifier.
fn quote(value: &str) -> String {
    if !value.contains([' ', '\t', '"', '\'', '\\', '\n', '%', ';']) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The unit text for `settings`.
pub fn render_systemd_unit(settings: &UnitSettings<'_>) -> String {
    let home = settings.home.to_string_lossy();
    let exe = quote(&settings.executable.to_string_lossy());
    let stop = (settings.shutdown_grace + STOP_MARGIN).as_secs();
    // A home under /home or /root must stay visible: read-only there, with
    // the home itself writable; elsewhere the user homes are hidden.
    let protect_home = if home.starts_with("/home/") || home.starts_with("/root") {
        "read-only"
    } else {
        "yes"
    };
    let user = settings
        .user
        .map(|u| format!("User={u}\nGroup={u}\n"))
        .unwrap_or_default();
    format!(
        "\
# wemixvisor: supervisor and upgrade manager for a Wemix WBFT node.
# Install: copy to /etc/systemd/system/, then
#   systemctl daemon-reload && systemctl enable --now wemixvisor
[Unit]
Description=wemixvisor (Wemix node supervisor)
Documentation=https://github.com/wemix/wemixvisor
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
NotifyAccess=main
{user}Environment={env}
ExecStart={exe} run
ExecReload={exe} reload
# SIGTERM to wemixvisor only: it stops the node gracefully itself.
KillMode=mixed
# shutdown_grace ({grace} s) plus a margin: geth may need minutes to flush.
TimeoutStopSec={stop}
TimeoutStartSec=infinity
WatchdogSec=60
Restart=on-failure
RestartSec=5
LimitNOFILE=65536

# Hardening that geth tolerates.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={rw}
ProtectHome={protect_home}
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictNamespaces=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
UMask=0077

[Install]
WantedBy=multi-user.target
",
        env = quote(&format!("WEMIX_HOME={home}")),
        grace = settings.shutdown_grace.as_secs(),
        rw = quote(&home),
    )
}

/// The unit shipped in release tarballs and `deploy/systemd/`: home
/// `/var/lib/wemix`, binary `/usr/local/bin/wemixvisor`, user `wemix`, the
/// default `shutdown_grace`.
pub fn default_systemd_unit() -> String {
    render_systemd_unit(&UnitSettings {
        home: Path::new("/var/lib/wemix"),
        executable: Path::new("/usr/local/bin/wemixvisor"),
        user: Some("wemix"),
        shutdown_grace: crate::Config::default().node.shutdown_grace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_unit_outlasts_the_grace_and_names_the_home() {
        let unit = default_systemd_unit();
        assert!(unit.contains("TimeoutStopSec=330\n"), "{unit}");
        assert!(unit.contains("Environment=WEMIX_HOME=/var/lib/wemix\n"));
        assert!(unit.contains("ReadWritePaths=/var/lib/wemix\n"));
        assert!(unit.contains("ExecStart=/usr/local/bin/wemixvisor run\n"));
        assert!(unit.contains("ExecReload=/usr/local/bin/wemixvisor reload\n"));
        assert!(unit.contains("Type=notify\n") && unit.contains("KillMode=mixed\n"));
        assert!(unit.contains("ProtectHome=yes\n") && unit.contains("User=wemix\n"));
    }

    #[test]
    fn odd_paths_are_quoted_and_a_home_under_home_stays_visible() {
        let unit = render_systemd_unit(&UnitSettings {
            home: Path::new("/home/op/my \"wemix\" 100%"),
            executable: Path::new("/opt/bin/wemixvisor"),
            user: None,
            shutdown_grace: Duration::from_secs(10),
        });
        assert!(
            unit.contains("ReadWritePaths=\"/home/op/my \\\"wemix\\\" 100%%\"\n"),
            "{unit}"
        );
        assert!(unit.contains("ProtectHome=read-only\n"));
        assert!(unit.contains("TimeoutStopSec=40\n"));
        assert!(!unit.contains("User="));
    }
}
