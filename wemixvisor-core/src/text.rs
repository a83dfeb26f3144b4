//! Bounding strings that come from outside (archives, servers, files)
//! before they reach an error message, the queue, the audit log or the log.

/// Default number of characters [`truncate_for_display`] keeps.
pub const DISPLAY_MAX: usize = 256;

/// `s` cut to at most `max` characters, with `…` and the number of bytes
/// left out appended when anything was cut. Never splits a character.
pub fn truncate_for_display(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}… ({} more bytes)", &s[..cut], s.len() - cut),
    }
}

/// [`truncate_for_display`] of possibly non-UTF-8 bytes, decoded lossily
/// without decoding more than needed.
pub fn truncate_bytes_for_display(b: &[u8], max: usize) -> String {
    // A character is at most 4 bytes: decoding 4 * max + 4 bytes is enough.
    let head = &b[..b.len().min(max.saturating_mul(4).saturating_add(4))];
    let s = String::from_utf8_lossy(head);
    let kept = s.char_indices().nth(max).map_or(s.len(), |(i, _)| i);
    if kept == s.len() && head.len() == b.len() {
        return s.into_owned();
    }
    format!(
        "{}… ({} more bytes)",
        &s[..kept],
        b.len().saturating_sub(kept)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_kept_whole() {
        assert_eq!(truncate_for_display("abc", 3), "abc");
        assert_eq!(truncate_for_display("", 0), "");
    }

    #[test]
    fn long_strings_are_cut_on_a_character_boundary() {
        let s = "é".repeat(300);
        let t = truncate_for_display(&s, 256);
        assert!(t.starts_with(&"é".repeat(256)));
        assert!(t.ends_with("… (88 more bytes)"), "{t}");
        assert!(t.chars().count() < 300);
    }

    #[test]
    fn huge_byte_input_is_bounded() {
        let b = vec![b'a'; 10 << 20];
        let t = truncate_bytes_for_display(&b, DISPLAY_MAX);
        assert!(t.len() < 400, "{}", t.len());
        assert!(
            t.ends_with(&format!("({} more bytes)", (10 << 20) - 256)),
            "{t}"
        );
        assert_eq!(truncate_bytes_for_display(b"\xffab", 10), "\u{fffd}ab");
    }
}
