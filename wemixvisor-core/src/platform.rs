use std::fmt;

/// An `os/arch` pair in Go's spelling (`linux/amd64`, `darwin/arm64`), the
/// key of `info.binaries` in upgrade plans.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Platform {
    /// `linux`, `darwin`, ...
    pub os: String,
    /// `amd64`, `arm64`, ...
    pub arch: String,
}

impl Platform {
    /// The platform this binary was built for.
    pub fn current() -> Self {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            other => other,
        };
        Platform {
            os: os.into(),
            arch: arch.into(),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_spelling() {
        let p = Platform::current();
        assert!(!p.to_string().contains("x86_64"));
        assert!(!p.to_string().contains("macos"));
        assert_eq!(p.to_string().matches('/').count(), 1);
    }
}
