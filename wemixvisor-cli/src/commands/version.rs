//! `wemixvisor version`.

use std::process::ExitCode;

use wemixvisor_core::Platform;

/// Prints the version, as text or JSON.
pub fn run(json: bool) -> anyhow::Result<ExitCode> {
    let version = env!("CARGO_PKG_VERSION");
    let platform = Platform::current().to_string();
    if json {
        let v = serde_json::json!({
            "name": "wemixvisor",
            "version": version,
            "platform": platform,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("wemixvisor {version} ({platform})");
    }
    Ok(ExitCode::SUCCESS)
}
