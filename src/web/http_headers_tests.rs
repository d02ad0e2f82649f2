use super::*;

fn values(headers: &Headers, name: &str) -> Vec<Vec<u8>> {
    headers
        .get_raw_headers(name)
        .map(|vs| vs.map(|v| v.to_vec()).collect())
        .unwrap_or_default()
}

fn lines(headers: &Headers) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                String::from_utf8(n.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        })
        .collect()
}

fn pair(n: &str, v: &str) -> (String, String) {
    (n.to_owned(), v.to_owned())
}

#[test]
fn lookup_is_case_insensitive_and_keeps_value_order() {
    let mut h = Headers::new();
    h.add_raw_header("Set-Cookie", "a=1").unwrap();
    h.add_raw_header("SET-COOKIE", "b=2").unwrap();
    assert_eq!(values(&h, "set-cookie"), [b"a=1".to_vec(), b"b=2".to_vec()]);
    assert_eq!(h.get_first("sEt-CoOkIe").unwrap(), "a=1");
    assert!(h.has_header("set-cookie"));
    assert!(!h.has_header("cookie"));
    assert!(h.get_raw_headers("cookie").is_none());
    assert_eq!(h.get_first("cookie"), None);
}

#[test]
fn iteration_groups_names_in_order_of_first_appearance() {
    let mut h = Headers::new();
    h.add_raw_header("A", "1").unwrap();
    h.add_raw_header("B", "2").unwrap();
    h.add_raw_header("a", "3").unwrap();
    h.add_raw_header("C", "4").unwrap();
    h.add_raw_header("b", "5").unwrap();
    assert_eq!(
        lines(&h),
        [
            pair("A", "1"),
            pair("a", "3"),
            pair("B", "2"),
            pair("b", "5"),
            pair("C", "4")
        ]
    );
    assert_eq!(h.len(), 5);
    assert!(!h.is_empty());
}

#[test]
fn raw_values_iterator_is_exact_and_double_ended() {
    let h = Headers::try_from([("X", "1"), ("X", "2"), ("X", "3")]).unwrap();
    let vs = h.get_raw_headers("x").unwrap();
    assert_eq!(vs.len(), 3);
    let back: Vec<&Bytes> = vs.rev().collect();
    assert_eq!(back, ["3", "2", "1"]);
}

#[test]
fn set_raw_headers_replaces_in_place() {
    let mut h = Headers::try_from([("A", "1"), ("B", "2"), ("a", "3"), ("C", "4")]).unwrap();
    h.set_raw_headers("a", ["x", "y", "z"]).unwrap();
    assert_eq!(
        lines(&h),
        [
            pair("a", "x"),
            pair("a", "y"),
            pair("a", "z"),
            pair("B", "2"),
            pair("C", "4")
        ]
    );
    h.set_raw_headers("D", ["d"]).unwrap();
    assert_eq!(lines(&h).last().unwrap(), &pair("D", "d"));
    h.set_raw_headers("B", Vec::<&str>::new()).unwrap();
    assert!(!h.has_header("b"));
}

#[test]
fn set_raw_headers_is_atomic_on_error() {
    let mut h = Headers::try_from([("A", "1")]).unwrap();
    let before = h.clone();
    assert_eq!(
        h.set_raw_headers("A", ["ok", "bad\n"]),
        Err(HeaderError::InvalidHeaderValue)
    );
    assert_eq!(
        h.set_raw_headers("A B", ["ok"]),
        Err(HeaderError::InvalidHeaderName)
    );
    assert_eq!(lines(&h), lines(&before));
}

#[test]
fn remove_header_removes_every_value() {
    let mut h = Headers::try_from([("A", "1"), ("B", "2"), ("a", "3")]).unwrap();
    assert!(h.remove_header("A"));
    assert!(!h.remove_header("A"));
    assert_eq!(lines(&h), [pair("B", "2")]);
}

#[test]
fn invalid_names_are_rejected() {
    let mut h = Headers::new();
    for name in [
        "",
        "Bad Name",
        "Bad:Name",
        "Bad\r\nName",
        "Bad\0",
        "Näme",
        "(x)",
    ] {
        assert_eq!(
            h.add_raw_header(name, "v"),
            Err(HeaderError::InvalidHeaderName),
            "{name:?}"
        );
    }
    assert!(h.is_empty());
}

#[test]
fn invalid_values_are_rejected_not_rewritten() {
    let mut h = Headers::new();
    for value in ["a\rb", "a\nb", "a\r\nX-Injected: 1", "a\0b"] {
        assert_eq!(
            h.add_raw_header("X", value),
            Err(HeaderError::InvalidHeaderValue),
            "{value:?}"
        );
        assert_eq!(
            h.add_raw_header_bytes(
                Bytes::from_static(b"X"),
                Bytes::copy_from_slice(value.as_bytes())
            ),
            Err(HeaderError::InvalidHeaderValue)
        );
    }
    assert!(h.is_empty());
    // Tabs, empty values and non-ASCII bytes are fine.
    h.add_raw_header("X", "a\tb").unwrap();
    h.add_raw_header("X", "").unwrap();
    h.add_raw_header("X", [0xC3u8, 0xA9]).unwrap();
    assert_eq!(h.len(), 3);
}

#[test]
fn equality_ignores_name_case_and_name_order_but_not_value_order() {
    let a = Headers::try_from([("A", "1"), ("B", "2"), ("A", "3")]).unwrap();
    let b = Headers::try_from(vec![("b", "2"), ("a", "1"), ("a", "3")]).unwrap();
    let c = Headers::try_from(&[("A", "3"), ("B", "2"), ("A", "1")][..]).unwrap();
    let d = Headers::try_from([("A", "1"), ("B", "2")]).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, d);
    assert_ne!(d, a);
    assert_eq!(Headers::new(), Headers::default());
}

#[test]
fn try_from_reports_the_first_error() {
    assert_eq!(
        Headers::try_from([("Good", "v"), ("Bad Name", "v")]),
        Err(HeaderError::InvalidHeaderName)
    );
}

#[test]
fn debug_shows_lines() {
    let h = Headers::try_from([("A", "1")]).unwrap();
    assert_eq!(format!("{h:?}"), r#"{b"A": b"1"}"#);
}

#[test]
fn name_comparison_folds_the_case_of_letters_only() {
    // Bytes 0x20 apart that are not letters stay different (`^`/`~`).
    for (a, b, same) in [
        ("Content-Length", "content-length", true),
        ("X-Long-Header-Name-1", "x-LONG-header-NAME-1", true),
        ("X-A^B", "X-A~B", false),
        ("X-A^B-LONGER-THAN-8", "X-A~B-LONGER-THAN-8", false),
        ("Accept", "Accept-Ranges", false),
        ("Date", "ETag", false),
    ] {
        let mut headers = Headers::new();
        headers.add_raw_header(a, "1").unwrap();
        assert_eq!(headers.has_header(b), same, "{a} vs {b}");
    }
    // Against the standard comparison, over every pair of bytes at every position of a
    // 9-byte name (one full word and a remainder).
    let base = *b"abcdefghi";
    for pos in 0..base.len() {
        for x in 0u8..=255 {
            for y in [
                x,
                x ^ 0x20,
                x ^ 0x01,
                x.to_ascii_uppercase(),
                x.to_ascii_lowercase(),
            ] {
                let (mut a, mut b) = (base, base);
                a[pos] = x;
                b[pos] = y;
                assert_eq!(
                    super::same_name(&a, &b),
                    a.eq_ignore_ascii_case(&b),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }
}
