//! Upgrades that change the data, on devnode datadir formats 1 and 2 and
//! the `db_migrator` simulator.

use std::path::Path;
use std::process::Command;

use wemixvisor_tests::*;

fn devnode(datadir: &Path, format: &str) -> std::process::Output {
    Command::new(&bins().devnode)
        // it opens the data, makes one block and exits 2 ("crash")
        .args(["--sim.db-format", format, "--sim.block-period", "20ms"])
        .args(["--sim.crash-at", "1", "--sim.quiet", "--datadir"])
        .arg(datadir)
        .output()
        .expect("run devnode")
}

fn migrator(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(&bins().db_migrator);
    c.args(args);
    for v in [
        "DB_MIGRATOR_FAIL_AT",
        "DB_MIGRATOR_SLOW_MS",
        "DB_MIGRATOR_NEED_BYTES",
    ] {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    c.output().expect("run db_migrator")
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ran_on_it(o: &std::process::Output) -> bool {
    o.status.code() == Some(2) && text(o).contains("Loaded most recent local block")
}

#[test]
fn db_migrator_converts_v1_to_v2_and_each_devnode_refuses_the_other_format() {
    let d = tempfile::tempdir().unwrap();
    let old = d.path().join("old");
    std::fs::create_dir_all(old.join("devnode")).unwrap();
    std::fs::write(old.join("devnode/head"), "41\n").unwrap();
    // a v1 node runs on v1 data, a v2 node refuses it (exit 1, clear message)
    let ran = devnode(&old, "1");
    assert!(ran_on_it(&ran), "{}", text(&ran));
    let refused = devnode(&old, "2");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused).contains("holds format 1, this binary reads format 2"),
        "{}",
        text(&refused)
    );

    // out of place: the source (head 42 after that run) is only read
    let new = d.path().join("new");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = migrator(&["-src", &s(&old), "-dst", &s(&new)], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Done"));
    assert!(old.join("devnode/head").exists() && !old.join("devnode/head.v2").exists());
    let ran = devnode(&new, "2");
    assert!(ran_on_it(&ran), "{}", text(&ran));
    assert!(text(&ran).contains("number=42"), "{}", text(&ran));
    let refused = devnode(&new, "1");
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("holds format 2, this binary reads format 1"));
    // a second run into a datadir that already holds a database is refused
    let again = migrator(&["-src", &s(&old), "-dst", &s(&new)], &[]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));

    // in place, failing halfway: half-converted data that both formats refuse
    let inplace = d.path().join("inplace");
    std::fs::create_dir_all(inplace.join("devnode")).unwrap();
    std::fs::write(inplace.join("devnode/head"), "5\n").unwrap();
    let out = migrator(
        &["-inplace", &s(&inplace)],
        &[("DB_MIGRATOR_FAIL_AT", "50")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("simulated failure at 50%"),
        "{}",
        text(&out)
    );
    for f in ["1", "2"] {
        let o = devnode(&inplace, f);
        assert_eq!(
            o.status.code(),
            Some(1),
            "format {f} ran on half-converted data"
        );
        assert!(text(&o).contains("holds format converting"), "{}", text(&o));
    }

    // more space needed than is free
    let out = migrator(
        &[
            "-src",
            &s(&old),
            "-dst",
            &s(&d.path().join("big")),
            "-need",
            "18446744073709551615",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("required size: 18446744073709551615 bytes")
            && text(&out).contains("not enough space"),
        "{}",
        text(&out)
    );
}
