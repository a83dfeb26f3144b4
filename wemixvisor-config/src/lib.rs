//! Configuration of wemixvisor: `wemixvisor.toml` and `node-options.toml`.
//!
//! This crate owns:
//! - the schema of `wemixvisor.toml` (version 2: sections `[node]`,
//!   `[restart]`, `[upgrade]`, `[download]`, `[backup]`, `[health]`,
//!   `[governance]`, `[api]`, `[log]`), its defaults, and reading the flat
//!   version 1 of the first release;
//! - the environment overlay (`DAEMON_*`, `UNSAFE_SKIP_BACKUP`,
//!   `WEMIXVISOR_*`, `COSMOVISOR_DISABLE_LOGS`) with strict parsing, and the
//!   flag overlay;
//! - validation that reports every problem at once with key path and
//!   `line:column`;
//! - the network templates (mainnet, testnet, devnet) `init` writes;
//! - `config set` / `reset` that edit the file in place with `toml_edit`,
//!   keeping comments and layout, and `config migrate`;
//! - the systemd unit for a home ([`systemd`]);
//! - `node-options.toml` (default geth options) and building geth's argv
//!   from it and the pass-through CLI arguments.
//!
//! # Theory of operation
//! One registry ([`schema::KEYS`]) lists every key with its type, docs,
//! environment variables and whether a running daemon can apply a change
//! on reload. Loading walks the file with `toml_edit` (keeping spans),
//! checks every key against the registry (unknown keys get a "did you
//! mean"), builds the typed [`Config`] from the defaults and the file,
//! lays the environment and then the flags over it (precedence flag > env >
//! file > default), and runs the rules in [`validate`]. The same registry
//! renders the commented templates, `config show`, and the key reference in
//! `docs/config.md`, so they cannot drift apart.
//!
//! Nothing here starts processes or talks to the network; all writes go
//! through [`wemixvisor_core::atomic::write_atomic`].
//!
//! # Features
//! None.

mod argv;
mod config;
mod edit;
mod error;
mod load;
mod migrate;
mod network;
mod node_options;
pub mod schema;
mod show;
pub mod systemd;
mod template;
pub mod validate;
mod value;

pub use argv::{build_argv, override_group, parse_args, ArgItem, BOOL_FLAGS, VALUE_FLAGS};
pub use config::{
    AlertsSection, ApiSection, BackupSection, Config, DownloadSection, FlagOverrides,
    GovernanceSection, HealthSection, LogSection, NodeSection, RestartSection, UpgradeSection,
    CURRENT_VERSION, GOV_NCP_ADDRESS,
};
pub use edit::{reset_key, reset_text, set_key, set_text, EditOutcome};
pub use error::{ConfigError, Location, Problem, Severity};
pub use load::{validate_daemon_name, Loaded, Source, DAEMON_NAME_EXPECTED, V1_KEYS, V1_WARNING};
pub use migrate::{migrate, migrate_text, Migration, Move};
pub use network::{LogFormat, Network, UnknownName};
pub use node_options::{
    check_enode, MetricsListener, NodeOptions, RpcListener, NODE_KEYS, REQUIRED_APIS,
};
pub use schema::{reload_safe, suggest_key};
pub use show::{render_reference_markdown, show, Shown, ShownEntry};
pub use template::{render_config, render_default_config, render_template};
pub use validate::{validate_home, ValidationReport};
pub use value::{format_duration, parse_bool, parse_duration, Kind, Value};
