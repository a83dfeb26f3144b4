//! Checks snapshot names and retention ages the way `wemixvisor backup`
//! does before it touches the disk.
//!
//! `cargo run -p wemixvisor-backup --example snapshot_names -- pre-v1.2.0 "../evil" 7d`

use wemixvisor_backup::{is_snapshot_id, parse_max_age, validate_name};

fn main() {
    for arg in std::env::args().skip(1) {
        if let Ok(age) = parse_max_age(&arg) {
            println!("{arg:?}: a retention age of {} s", age.as_secs());
        } else if is_snapshot_id(&arg) {
            println!("{arg:?}: a snapshot id");
        } else {
            match validate_name(&arg) {
                Ok(()) => println!("{arg:?}: a valid snapshot name"),
                Err(e) => println!("{arg:?}: rejected: {e}"),
            }
        }
    }
}
