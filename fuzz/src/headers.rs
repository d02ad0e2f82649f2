//! The `Headers` target: a sequence of operations on [`Headers`], checked against a plain
//! model (a name is an RFC 9110 token, a value has no CR, LF or NUL; names match without
//! regard to ASCII case; values of a name stay together and in order), then written as a
//! request head, which must hold exactly the lines the collection holds and no early end.

use crate::input::Input;
use bytes::{Bytes, BytesMut};
use treq::web::http11::{write_request_head, BodyFraming, RequestHead};
use treq::web::http_headers::{HeaderError, Headers};

fn model_token(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn model_value(value: &[u8]) -> bool {
    !value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
}

fn model_check(name: &[u8], values: &[&[u8]]) -> Result<(), HeaderError> {
    if !model_token(name) {
        return Err(HeaderError::InvalidHeaderName);
    }
    if !values.iter().all(|v| model_value(v)) {
        return Err(HeaderError::InvalidHeaderValue);
    }
    Ok(())
}

/// One field line of the model: the name as spelled, and the value.
type Line = (Vec<u8>, Vec<u8>);

/// The model: names in order of first appearance, each with its lines.
#[derive(Default)]
struct Model {
    groups: Vec<(Vec<u8>, Vec<Line>)>,
}

impl Model {
    fn find(&self, name: &[u8]) -> Option<usize> {
        self.groups
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    fn add(&mut self, name: &[u8], value: &[u8]) {
        let entry = (name.to_vec(), value.to_vec());
        match self.find(name) {
            Some(i) => self.groups[i].1.push(entry),
            None => self.groups.push((name.to_vec(), vec![entry])),
        }
    }

    fn set(&mut self, name: &[u8], values: &[&[u8]]) {
        let entries: Vec<_> = values.iter().map(|v| (name.to_vec(), v.to_vec())).collect();
        match self.find(name) {
            Some(i) if entries.is_empty() => {
                self.groups.remove(i);
            }
            Some(i) => self.groups[i].1 = entries,
            None if entries.is_empty() => {}
            None => self.groups.push((name.to_vec(), entries)),
        }
    }

    fn remove(&mut self, name: &[u8]) -> bool {
        match self.find(name) {
            Some(i) => {
                self.groups.remove(i);
                true
            }
            None => false,
        }
    }

    fn entries(&self) -> Vec<Line> {
        self.groups.iter().flat_map(|(_, e)| e.clone()).collect()
    }
}

fn pick_name<'a>(input: &mut Input<'a>, known: &[Vec<u8>]) -> Vec<u8> {
    let chunk = input.chunk();
    // A chunk of one byte 0xff re-uses an earlier name in another case, so the fuzzer
    // exercises case-insensitive matching without having to find it.
    if chunk.len() == 1 && chunk[0] >= 0xf0 && !known.is_empty() {
        let mut name = known[usize::from(chunk[0] - 0xf0) % known.len()].clone();
        for (i, b) in name.iter_mut().enumerate() {
            if i % 2 == 0 {
                *b = b.to_ascii_uppercase();
            } else {
                *b = b.to_ascii_lowercase();
            }
        }
        return name;
    }
    chunk.to_vec()
}

/// The `headers` target.
pub fn headers(data: &[u8]) {
    let mut input = Input::new(data);
    let mut headers = Headers::new();
    let mut model = Model::default();
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut ops = 0;
    while !input.is_empty() && ops < 64 {
        ops += 1;
        let op = input.byte() % 5;
        let name = pick_name(&mut input, &names);
        match op {
            0 | 1 => {
                let value = input.chunk();
                let before = headers.clone();
                let result = if op == 0 {
                    headers.add_raw_header(&name, value)
                } else {
                    headers.add_raw_header_bytes(
                        Bytes::copy_from_slice(&name),
                        Bytes::copy_from_slice(value),
                    )
                };
                assert_eq!(
                    result,
                    model_check(&name, &[value]),
                    "add {name:?} {value:?}"
                );
                if result.is_ok() {
                    model.add(&name, value);
                } else {
                    assert!(headers == before, "a refused add changed the headers");
                }
            }
            2 => {
                let count = usize::from(input.byte() % 4);
                let values: Vec<&[u8]> = (0..count).map(|_| input.chunk()).collect();
                let before = headers.clone();
                let result = headers.set_raw_headers(&name, &values);
                assert_eq!(
                    result,
                    model_check(&name, &values),
                    "set {name:?} {values:?}"
                );
                if result.is_ok() {
                    model.set(&name, &values);
                } else {
                    assert!(headers == before, "a refused set changed the headers");
                }
            }
            3 => {
                assert_eq!(headers.remove_header(&name), model.remove(&name));
            }
            _ => {
                let got: Option<Vec<Vec<u8>>> = headers
                    .get_raw_headers(&name)
                    .map(|values| values.map(|v| v.to_vec()).collect());
                let want = model
                    .find(&name)
                    .map(|i| model.groups[i].1.iter().map(|(_, v)| v.clone()).collect());
                assert_eq!(got, want, "get {name:?}");
                assert_eq!(headers.has_header(&name), model.find(&name).is_some());
                assert_eq!(
                    headers.get_first(&name).map(|v| v.to_vec()),
                    want.and_then(|w: Vec<Vec<u8>>| w.first().cloned())
                );
            }
        }
        if model_token(&name) && !names.contains(&name) {
            names.push(name);
        }
        let got: Vec<Line> = headers
            .iter()
            .map(|(n, v)| (n.to_vec(), v.to_vec()))
            .collect();
        assert_eq!(got, model.entries(), "contents after op {op}");
        assert_eq!(headers.len(), got.len());
        assert_eq!(headers.is_empty(), got.is_empty());
    }
    check_wire(&headers);
}

/// Written as a request head, the headers are lines of their own: the head has no CR or LF
/// but in CRLF pairs, its first empty line is its end, and every entry appears as its own
/// `name: value` line, in order.
fn check_wire(headers: &Headers) {
    let head = RequestHead {
        method: b"GET",
        target: b"/",
        host: b"example.com",
        headers,
        framing: BodyFraming::None,
        keep_alive: true,
    };
    let mut out = BytesMut::new();
    write_request_head(&head, &mut out).expect("valid headers are written");
    assert!(
        out.ends_with(b"\r\n\r\n"),
        "the head ends with an empty line"
    );
    let text = &out[..out.len() - 4];
    let lines: Vec<&[u8]> = split_crlf(text);
    for line in &lines {
        assert!(
            !line.iter().any(|&b| b == b'\r' || b == b'\n'),
            "a bare CR or LF on the wire: {line:?}"
        );
        assert!(!line.is_empty(), "an empty line ends the head early");
    }
    let mut next = 1;
    for (name, value) in headers.iter() {
        let lower = name.to_ascii_lowercase();
        if matches!(
            &lower[..],
            b"content-length" | b"transfer-encoding" | b"connection"
        ) {
            // The writer owns these framing headers.
            continue;
        }
        let mut want = name.to_vec();
        want.extend_from_slice(b": ");
        want.extend_from_slice(value);
        let found = lines[next..].iter().position(|l| *l == &want[..]);
        let found = found.unwrap_or_else(|| panic!("{want:?} not on the wire: {lines:?}"));
        next += found + 1;
    }
}

fn split_crlf(text: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < text.len() {
        if text[i] == b'\r' && text[i + 1] == b'\n' {
            lines.push(&text[start..i]);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    lines.push(&text[start..]);
    lines
}
