//! HTTP header collection: the port of `twisted.web.http_headers`.
//!
//! [`Headers`] keeps raw byte values, matches names case-insensitively,
//! allows many values per name and remembers order: names come out in the
//! order they first appeared, and each name's values in the order they were
//! added. It is on the hot path of every request and response, so it is a
//! single small `Vec` of entries searched linearly (no hashing, no lowercased
//! copies of names).

use bytes::Bytes;
use std::fmt;

/// Why a header name or value was refused.
///
/// Invalid input is always rejected, never rewritten: a value with a line
/// break in it is an injection attempt, not something to clean up.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The name is empty or contains a byte that is not an RFC 9110 `tchar`
    /// (for example a space, a colon, CR or LF).
    InvalidHeaderName,
    /// The value contains CR, LF or NUL.
    InvalidHeaderValue,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::InvalidHeaderName => {
                f.write_str("invalid header name: must be a non-empty RFC 9110 token")
            }
            HeaderError::InvalidHeaderValue => {
                f.write_str("invalid header value: must not contain CR, LF or NUL")
            }
        }
    }
}

impl std::error::Error for HeaderError {}

/// Whether `b` is an RFC 9110 `tchar` (the bytes allowed in a token).
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `bytes` is a non-empty RFC 9110 token (header names, methods).
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

fn check_name(name: &[u8]) -> Result<(), HeaderError> {
    if is_token(name) {
        Ok(())
    } else {
        Err(HeaderError::InvalidHeaderName)
    }
}

fn check_value(value: &[u8]) -> Result<(), HeaderError> {
    if value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        Err(HeaderError::InvalidHeaderValue)
    } else {
        Ok(())
    }
}

/// Whether two header names are the same, ignoring ASCII case: eight bytes at a time, where
/// bytes may differ only in the case bit (0x20) of a letter.
#[inline]
fn same_name(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut wa, mut wb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut wa).zip(&mut wb) {
        if !same_word(word(x), word(y)) {
            return false;
        }
    }
    wa.remainder()
        .iter()
        .zip(wb.remainder())
        .all(|(&x, &y)| x == y || (x ^ y == 0x20 && (x | 0x20).is_ascii_lowercase()))
}

/// Eight bytes as a word.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

/// Whether two words of eight name bytes are equal ignoring the case of letters.
#[inline]
fn same_word(x: u64, y: u64) -> bool {
    const CASE: u64 = 0x2020_2020_2020_2020;
    let diff = x ^ y;
    if diff == 0 {
        return true;
    }
    if diff & !CASE != 0 {
        return false;
    }
    // Only case bits differ: each byte where they do must be a letter.
    let lower = (x | CASE).to_le_bytes();
    let diff = diff.to_le_bytes();
    (0..8).all(|i| diff[i] == 0 || lower[i].is_ascii_lowercase())
}

/// One field line: a name (as the caller spelled it) and one value.
#[derive(Clone)]
struct Entry {
    name: Bytes,
    value: Bytes,
}

/// An ordered, case-insensitive, multi-valued collection of HTTP headers.
///
/// Names are matched without regard to ASCII case. Unlike Twisted, which
/// canonicalises names (`content-type` becomes `Content-Type`), each value
/// keeps the name spelled as it was added, and that spelling is what the
/// request writer sends.
///
/// All values of one name are stored next to each other, so iteration yields
/// names in order of first appearance and, within a name, values in the
/// order they were added (Twisted's `getAllRawHeaders` order).
///
/// Equality follows Twisted: names compare case-insensitively, the values of
/// each name must be equal and in the same order, and the relative order of
/// different names does not matter.
///
/// ```
/// use treq::web::http_headers::Headers;
///
/// let mut headers = Headers::new();
/// headers.add_raw_header("Accept", "text/html")?;
/// headers.add_raw_header("X-Trace", "1")?;
/// headers.add_raw_header("accept", "application/json")?;
/// let accept: Vec<&[u8]> = headers.get_raw_headers("ACCEPT").unwrap().map(|v| &v[..]).collect();
/// assert_eq!(accept, [&b"text/html"[..], b"application/json"]);
/// assert!(headers.add_raw_header("X-Bad", "a\r\nInjected: yes").is_err());
/// # Ok::<(), treq::web::http_headers::HeaderError>(())
/// ```
#[derive(Clone, Default)]
pub struct Headers {
    entries: Vec<Entry>,
}

impl Headers {
    /// An empty collection.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// An empty collection with room for `capacity` field lines.
    pub fn with_capacity(capacity: usize) -> Headers {
        Headers {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// The index range of `name`'s values, which are contiguous.
    fn group(&self, name: &[u8]) -> Option<std::ops::Range<usize>> {
        let start = self.entries.iter().position(|e| same_name(&e.name, name))?;
        let len = self.entries[start..]
            .iter()
            .take_while(|e| same_name(&e.name, name))
            .count();
        Some(start..start + len)
    }

    /// Adds an already validated entry after the existing values of its name.
    fn insert_grouped(&mut self, entry: Entry) {
        match self.group(&entry.name) {
            Some(range) if range.end < self.entries.len() => self.entries.insert(range.end, entry),
            _ => self.entries.push(entry),
        }
    }

    /// Appends a value for `name` after any values it already has.
    ///
    /// Both are copied. Fails if `name` is not a token or `value` contains
    /// CR, LF or NUL; the collection is unchanged on error.
    pub fn add_raw_header(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), HeaderError> {
        let (name, value) = (name.as_ref(), value.as_ref());
        check_name(name)?;
        check_value(value)?;
        self.insert_grouped(Entry {
            name: Bytes::copy_from_slice(name),
            value: Bytes::copy_from_slice(value),
        });
        Ok(())
    }

    /// Like [`add_raw_header`](Headers::add_raw_header), without copying:
    /// the collection keeps the given `Bytes`.
    pub fn add_raw_header_bytes(&mut self, name: Bytes, value: Bytes) -> Result<(), HeaderError> {
        check_name(&name)?;
        check_value(&value)?;
        self.insert_grouped(Entry { name, value });
        Ok(())
    }

    /// Adds a field line that the HTTP parser has already validated.
    pub(crate) fn append_parsed(&mut self, name: Bytes, value: Bytes) {
        debug_assert!(check_name(&name).is_ok() && check_value(&value).is_ok());
        self.insert_grouped(Entry { name, value });
    }

    /// Adds a field line that the HTTP parser has already validated, whose name the caller
    /// knows the collection does not hold yet: appended without looking for its group.
    pub(crate) fn push_parsed_new(&mut self, name: Bytes, value: Bytes) {
        debug_assert!(check_name(&name).is_ok() && check_value(&value).is_ok());
        debug_assert!(self.group(&name).is_none());
        self.entries.push(Entry { name, value });
    }

    /// Replaces all values of `name` with `values`.
    ///
    /// A name that was present keeps its position; a new one goes last. An
    /// empty `values` removes the header. Every value is checked before
    /// anything changes.
    pub fn set_raw_headers<V: AsRef<[u8]>>(
        &mut self,
        name: impl AsRef<[u8]>,
        values: impl IntoIterator<Item = V>,
    ) -> Result<(), HeaderError> {
        let name = name.as_ref();
        check_name(name)?;
        let name = Bytes::copy_from_slice(name);
        let mut new_entries = Vec::new();
        for value in values {
            let value = value.as_ref();
            check_value(value)?;
            new_entries.push(Entry {
                name: name.clone(),
                value: Bytes::copy_from_slice(value),
            });
        }
        match self.group(&name) {
            Some(range) => {
                self.entries.splice(range, new_entries);
            }
            None => self.entries.extend(new_entries),
        }
        Ok(())
    }

    /// All values of `name` in order, or `None` if it has none.
    pub fn get_raw_headers(&self, name: impl AsRef<[u8]>) -> Option<RawValues<'_>> {
        let range = self.group(name.as_ref())?;
        Some(RawValues {
            entries: &self.entries[range],
        })
    }

    /// The first value of `name`.
    pub fn get_first(&self, name: impl AsRef<[u8]>) -> Option<&Bytes> {
        let name = name.as_ref();
        self.entries
            .iter()
            .find(|e| same_name(&e.name, name))
            .map(|e| &e.value)
    }

    /// Whether `name` has at least one value.
    pub fn has_header(&self, name: impl AsRef<[u8]>) -> bool {
        let name = name.as_ref();
        self.entries.iter().any(|e| same_name(&e.name, name))
    }

    /// Removes every value of `name`; returns whether there was any.
    pub fn remove_header(&mut self, name: impl AsRef<[u8]>) -> bool {
        match self.group(name.as_ref()) {
            Some(range) => {
                self.entries.drain(range);
                true
            }
            None => false,
        }
    }

    /// Every `(name, value)` field line, grouped by name in order of first
    /// appearance.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            entries: self.entries.iter(),
        }
    }

    /// The number of field lines (values), not of distinct names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The values of one header name, in order: see [`Headers::get_raw_headers`].
#[derive(Clone)]
pub struct RawValues<'a> {
    entries: &'a [Entry],
}

impl<'a> Iterator for RawValues<'a> {
    type Item = &'a Bytes;

    fn next(&mut self) -> Option<&'a Bytes> {
        let (first, rest) = self.entries.split_first()?;
        self.entries = rest;
        Some(&first.value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.entries.len(), Some(self.entries.len()))
    }
}

impl ExactSizeIterator for RawValues<'_> {}

impl DoubleEndedIterator for RawValues<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let (last, rest) = self.entries.split_last()?;
        self.entries = rest;
        Some(&last.value)
    }
}

impl fmt::Debug for RawValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// Iterator over `(name, value)` field lines: see [`Headers::iter`].
#[derive(Clone)]
pub struct Iter<'a> {
    entries: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Bytes, &'a Bytes);

    fn next(&mut self) -> Option<Self::Item> {
        self.entries.next().map(|e| (&e.name, &e.value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a Bytes, &'a Bytes);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        if self.entries.len() != other.entries.len() {
            return false;
        }
        let mut i = 0;
        while i < self.entries.len() {
            let name = &self.entries[i].name;
            let Some(mine) = self.get_raw_headers(name) else {
                return false;
            };
            let Some(theirs) = other.get_raw_headers(name) else {
                return false;
            };
            if mine.len() != theirs.len() || !mine.clone().eq(theirs) {
                return false;
            }
            i += mine.len();
        }
        true
    }
}

impl Eq for Headers {}

fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Headers, HeaderError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let pairs = pairs.into_iter();
    let mut headers = Headers::with_capacity(pairs.size_hint().0);
    for (name, value) in pairs {
        headers.add_raw_header(name, value)?;
    }
    Ok(headers)
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>, const N: usize> TryFrom<[(K, V); N]> for Headers {
    type Error = HeaderError;

    /// Builds headers from `(name, value)` pairs, adding them in order.
    fn try_from(pairs: [(K, V); N]) -> Result<Headers, HeaderError> {
        from_pairs(pairs)
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> TryFrom<Vec<(K, V)>> for Headers {
    type Error = HeaderError;

    /// Builds headers from `(name, value)` pairs, adding them in order.
    fn try_from(pairs: Vec<(K, V)>) -> Result<Headers, HeaderError> {
        from_pairs(pairs)
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> TryFrom<&[(K, V)]> for Headers {
    type Error = HeaderError;

    /// Builds headers from `(name, value)` pairs, adding them in order.
    fn try_from(pairs: &[(K, V)]) -> Result<Headers, HeaderError> {
        from_pairs(pairs.iter().map(|(k, v)| (k, v)))
    }
}

#[cfg(test)]
#[path = "http_headers_tests.rs"]
mod tests;
