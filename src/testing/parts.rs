//! The parts of a request a stub sees: [`Params`] and [`HeaderLists`].

use crate::client::Values;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::fmt;

/// A request's arguments (query and form): each name with its values, sorted.
pub type Params = BTreeMap<Bytes, Vec<Bytes>>;

/// Name → sorted values, with names lower-cased when `lower` is set.
pub(crate) fn sorted_lists<I, K, V>(pairs: I, lower: bool) -> BTreeMap<Bytes, Vec<Bytes>>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: Into<Values>,
{
    let mut out = BTreeMap::<Bytes, Vec<Bytes>>::new();
    for (name, values) in pairs {
        let name = name.as_ref();
        let name = if lower {
            Bytes::from(name.to_ascii_lowercase())
        } else {
            Bytes::copy_from_slice(name)
        };
        let entry = out.entry(name).or_default();
        entry.extend(values.into().iter().map(Bytes::copy_from_slice));
    }
    for values in out.values_mut() {
        values.sort();
    }
    out
}

/// A request's headers as a stub sees them: each name, lower-cased, with its values sorted.
/// Look-ups ignore the case of the name.
///
/// ```
/// use treq::testing::HeaderLists;
///
/// let headers: HeaderLists = [("Accept", vec!["text/plain", "text/html"])].into_iter().collect();
/// assert_eq!(headers.get("ACCEPT").unwrap(), &vec!["text/html", "text/plain"]);
/// assert_eq!(headers.first("accept").unwrap(), "text/html");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct HeaderLists(BTreeMap<Bytes, Vec<Bytes>>);

impl HeaderLists {
    /// No headers.
    pub fn new() -> HeaderLists {
        HeaderLists::default()
    }

    /// The values of `name` (any case), sorted.
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<&Vec<Bytes>> {
        self.0.get(&name.as_ref().to_ascii_lowercase()[..])
    }

    /// The first (smallest) value of `name`.
    pub fn first(&self, name: impl AsRef<[u8]>) -> Option<&Bytes> {
        self.get(name).and_then(|values| values.first())
    }

    /// Add `value` to `name`'s values.
    pub fn add(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let values = self
            .0
            .entry(Bytes::from(name.as_ref().to_ascii_lowercase()))
            .or_default();
        values.push(Bytes::copy_from_slice(value.as_ref()));
        values.sort();
    }

    /// Each lower-cased name with its values.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Vec<Bytes>)> {
        self.0.iter()
    }

    /// How many names there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `other` has at least these headers and values, names compared ignoring case
    /// (what [`HasHeaders`](super::HasHeaders) tests).
    pub fn is_subset_of(&self, other: &HeaderLists) -> bool {
        self.0.iter().all(|(name, values)| {
            other
                .0
                .get(name)
                .is_some_and(|have| values.iter().all(|v| have.contains(v)))
        })
    }
}

impl<K: AsRef<[u8]>, V: Into<Values>> FromIterator<(K, V)> for HeaderLists {
    /// Headers from pairs, each with one value or a list.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> HeaderLists {
        HeaderLists(sorted_lists(pairs, true))
    }
}

impl From<&crate::web::http_headers::Headers> for HeaderLists {
    fn from(headers: &crate::web::http_headers::Headers) -> HeaderLists {
        headers.iter().map(|(k, v)| (k, v.clone())).collect()
    }
}

impl fmt::Debug for HeaderLists {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
