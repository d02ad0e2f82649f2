//! Request bodies as httpbin reports them: `data`, `form`, `files`, `json`.
//!
//! `application/x-www-form-urlencoded` goes into `form`; `multipart/form-data` into `form`
//! (plain fields) and `files` (parts with a file name); a body that parses as JSON into
//! `json`. `data` holds the raw body when it is not a form: as text when it is UTF-8, else as
//! a `data:application/octet-stream;base64,` URL (as httpbin does).

use super::request::{multi_map, Exchange};
use base64::Engine;
use serde_json::{json, Value};

/// The four body fields of an httpbin answer.
pub struct BodyFields {
    /// `data`.
    pub data: Value,
    /// `form`.
    pub form: Value,
    /// `files`.
    pub files: Value,
    /// `json`.
    pub json: Value,
}

/// A body that claims to be multipart but cannot be read.
#[derive(Debug, PartialEq)]
pub struct MultipartError(pub &'static str);

/// The body fields of `exchange`, or why its multipart body cannot be read.
pub fn body_fields(exchange: &Exchange) -> Result<BodyFields, MultipartError> {
    let content_type = exchange.header("content-type").unwrap_or("").to_owned();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let body = &exchange.body[..];
    let mut fields = BodyFields {
        data: Value::String(String::new()),
        form: json!({}),
        files: json!({}),
        json: Value::Null,
    };
    match essence.as_str() {
        "application/x-www-form-urlencoded" => fields.form = multi_map(parse_urlencoded(body)),
        "multipart/form-data" => {
            let boundary = parameter(&content_type, "boundary")
                .ok_or(MultipartError("multipart/form-data without a boundary"))?;
            let mut form = Vec::new();
            let mut files = Vec::new();
            for part in parse_multipart(body, boundary.as_bytes())? {
                let content = text_or_data_url(&part.content);
                match part.filename {
                    Some(_) => files.push((part.name, content)),
                    None => form.push((part.name, content)),
                }
            }
            fields.form = multi_map(form);
            fields.files = multi_map(files);
        }
        _ => {
            fields.data = Value::String(text_or_data_url(body));
            fields.json = serde_json::from_slice(body).unwrap_or(Value::Null);
        }
    }
    Ok(fields)
}

/// Bytes as UTF-8 text, or as a base64 `data:` URL when they are not UTF-8.
pub fn text_or_data_url(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => format!(
            "data:application/octet-stream;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
    }
}

/// `a=1&b=two+words&c=%2F` -> pairs, `+` as space, percent-escapes decoded (a bad escape is
/// kept as it is).
pub fn parse_urlencoded(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut halves = pair.splitn(2, |&b| b == b'=');
            let name = percent_decode(halves.next().unwrap_or(b""));
            let value = percent_decode(halves.next().unwrap_or(b""));
            (name, value)
        })
        .collect()
}

/// Decode `+` and `%XX` escapes; the result is read as UTF-8, lossily.
pub fn percent_decode(input: &[u8]) -> String {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Parameter `name` of a header value such as `multipart/form-data; boundary="x"`.
pub fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|param| {
        let (key, val) = param.split_once('=')?;
        if key.trim().eq_ignore_ascii_case(name) {
            Some(val.trim().trim_matches('"').to_owned())
        } else {
            None
        }
    })
}

/// One part of a multipart body.
pub struct Part {
    /// The `name` of its `Content-Disposition`.
    pub name: String,
    /// The `filename`, for a file.
    pub filename: Option<String>,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// Split a `multipart/form-data` body on `boundary` (RFC 7578).
pub fn parse_multipart(body: &[u8], boundary: &[u8]) -> Result<Vec<Part>, MultipartError> {
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    let mut at = find(body, &delimiter, 0).ok_or(MultipartError("no multipart boundary"))?;
    let mut next_delimiter = b"\r\n".to_vec();
    next_delimiter.extend_from_slice(&delimiter);
    let mut parts = Vec::new();
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        if !body[at..].starts_with(b"\r\n") {
            return Err(MultipartError("a multipart boundary not followed by CRLF"));
        }
        at += 2;
        let end = find(body, &next_delimiter, at).ok_or(MultipartError(
            "a multipart part without a closing boundary",
        ))?;
        parts.push(parse_part(&body[at..end])?);
        at = end + 2;
    }
}

fn parse_part(part: &[u8]) -> Result<Part, MultipartError> {
    let split = find(part, b"\r\n\r\n", 0).ok_or(MultipartError("a part without headers"))?;
    let head = String::from_utf8_lossy(&part[..split]);
    let disposition = head
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then(|| value.trim().to_owned())
        })
        .ok_or(MultipartError("a part without Content-Disposition"))?;
    Ok(Part {
        name: parameter(&disposition, "name").ok_or(MultipartError("a part without a name"))?,
        filename: parameter(&disposition, "filename"),
        content: part[split + 4..].to_vec(),
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}
