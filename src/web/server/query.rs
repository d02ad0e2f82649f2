//! Query strings, form bodies and header tokens.

use super::Args;
use bytes::Bytes;

/// Whether comma-separated header `value` contains `token` (case-insensitive).
pub(super) fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decode `input`; with `plus`, `+` is a space (form encoding). Bad escapes stay as
/// they are.
pub fn unquote(input: &[u8], plus: bool) -> Bytes {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' if i + 2 < input.len() => {
                match (hex_value(input[i + 1]), hex_value(input[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out.into()
}

/// Parse a query string or form body into `args` (Python's `parse_qs` with blank values kept):
/// pairs split on `&`, names and values percent-decoded with `+` as space.
pub fn parse_qs(input: &[u8], args: &mut Args) {
    for pair in input.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        args.entry(unquote(name, true))
            .or_default()
            .push(unquote(value, true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_decodes_escapes_and_plus() {
        assert_eq!(&unquote(b"a%20b+c", false)[..], b"a b+c");
        assert_eq!(&unquote(b"a%20b+c", true)[..], b"a b c");
        assert_eq!(&unquote(b"%zz%4", true)[..], b"%zz%4");
        assert_eq!(&unquote(b"%41%", false)[..], b"A%");
    }

    #[test]
    fn parse_qs_keeps_blank_values_and_order() {
        let mut args = Args::new();
        parse_qs(b"a=1&&b&a=2&c=&=x", &mut args);
        let get = |k: &[u8]| args.get(k).cloned().unwrap_or_default();
        assert_eq!(get(b"a"), vec![Bytes::from("1"), Bytes::from("2")]);
        assert_eq!(get(b"b"), vec![Bytes::new()]);
        assert_eq!(get(b"c"), vec![Bytes::new()]);
        assert_eq!(get(b""), vec![Bytes::from("x")]);
    }

    #[test]
    fn has_token_is_case_insensitive_and_comma_separated() {
        assert!(has_token(b"Keep-Alive, Upgrade", b"keep-alive"));
        assert!(has_token(b"upgrade,close", b"close"));
        assert!(!has_token(b"closed", b"close"));
    }
}
