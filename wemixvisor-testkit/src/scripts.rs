//! Fake geth scripts: small `/bin/sh` programs that answer the way geth's
//! command line does (`--help` lists flags, `--version` parses every flag
//! and prints a version, an unknown flag fails with `flag provided but not
//! defined`), and helpers to write executable scripts safely.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes an executable `/bin/sh` script at `path` (parents created):
/// written beside and renamed, since executing a file another thread still
/// holds open for writing fails with ETXTBSY.
pub fn write_script(path: &Path, body: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("#!/bin/sh\n{body}\n"))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, path)
}

/// A fake geth at `path` that knows exactly `flags` (names without
/// dashes): `--help` lists them, `--version` succeeds unless an unknown
/// flag is given; any other run prints the version and exits 0.
pub fn fake_geth(path: &Path, flags: &[&str]) -> std::io::Result<()> {
    let help: String = flags
        .iter()
        .map(|f| format!("   --{f} value                 usage of {f}\\n"))
        .collect();
    let known = flags.join(" ");
    let body = format!(
        r#"case " $* " in *" --help "*) printf 'GLOBAL OPTIONS:\n{help}   --help, -h   show help\n'; exit 0;; esac
for a in "$@"; do
  case "$a" in
    --version) ;;
    -*) n="${{a#-}}"; n="${{n#-}}"; n="${{n%%=*}}"; ok=0
        for k in {known}; do [ "$k" = "$n" ] && ok=1; done
        [ $ok = 1 ] || {{ echo "flag provided but not defined: -$n" >&2; exit 1; }};;
  esac
done
echo "Geth version""#
    );
    write_script(path, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bin: &Path, args: &[&str]) -> (i32, String) {
        let out = std::process::Command::new(bin).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    }

    #[test]
    fn answers_like_geth() {
        let d = tempfile::tempdir().unwrap();
        let bin = d.path().join("bin/geth");
        fake_geth(&bin, &["http", "syncmode"]).unwrap();
        let (code, help) = run(&bin, &["--help"]);
        assert_eq!(code, 0);
        assert!(help.contains("--syncmode value"), "{help}");
        assert_eq!(run(&bin, &["--http", "--syncmode=full", "--version"]).0, 0);
        let (code, err) = run(&bin, &["--nope", "--version"]);
        assert_eq!(code, 1);
        assert!(
            err.contains("flag provided but not defined: -nope"),
            "{err}"
        );
    }
}
