//! Query parameters (treq's `params=`): pairs whose values may repeat, appended to a URL's own
//! query string with form-style percent-encoding.

use url::Url;

/// One or more values for a query parameter or a form field: treq accepts a single value or a
/// list, and a list repeats the key once per value.
///
/// Text is encoded as UTF-8; bytes (`&[u8]`, `Vec<u8>`, [`bytes::Bytes`]) are
/// percent-encoded as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values(pub(crate) Vec<Vec<u8>>);

impl Values {
    /// The raw values, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(Vec::as_slice)
    }
}

macro_rules! single_value {
    ($($t:ty),*) => {$(
        impl From<$t> for Values {
            fn from(v: $t) -> Values {
                Values(vec![AsRef::<[u8]>::as_ref(&v).to_vec()])
            }
        }
    )*};
}
single_value!(
    &str,
    String,
    &String,
    &[u8],
    Vec<u8>,
    bytes::Bytes,
    &bytes::Bytes
);

impl<const N: usize> From<&[u8; N]> for Values {
    fn from(v: &[u8; N]) -> Values {
        Values(vec![v.to_vec()])
    }
}

macro_rules! list_value {
    ($($t:ty),*) => {$(
        impl From<Vec<$t>> for Values {
            fn from(v: Vec<$t>) -> Values {
                Values(v.iter().map(|x| AsRef::<[u8]>::as_ref(x).to_vec()).collect())
            }
        }
        impl From<&[$t]> for Values {
            fn from(v: &[$t]) -> Values {
                Values(v.iter().map(|x| AsRef::<[u8]>::as_ref(x).to_vec()).collect())
            }
        }
        impl<const N: usize> From<[$t; N]> for Values {
            fn from(v: [$t; N]) -> Values {
                Values(v.iter().map(|x| AsRef::<[u8]>::as_ref(x).to_vec()).collect())
            }
        }
    )*};
}
list_value!(&str, String, &[u8], Vec<u8>, bytes::Bytes);

/// Flatten `(key, values)` pairs into `(key, value)` pairs, one per value, in order.
pub(crate) fn flatten<I, K, V>(pairs: I) -> Vec<(Vec<u8>, Vec<u8>)>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: Into<Values>,
{
    let mut out = Vec::new();
    for (key, values) in pairs {
        let key = key.as_ref();
        for value in values.into().0 {
            out.push((key.to_vec(), value));
        }
    }
    out
}

/// `key=value&...` with form-style percent-encoding (space becomes `+`).
pub(crate) fn form_encode(pairs: &[(Vec<u8>, Vec<u8>)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.extend(form_urlencoded::byte_serialize(key));
        out.push('=');
        out.extend(form_urlencoded::byte_serialize(value));
    }
    out
}

/// Append `pairs` to the query of `url`, after whatever query it already has.
pub(crate) fn append_query(url: &mut Url, pairs: &[(Vec<u8>, Vec<u8>)]) {
    if pairs.is_empty() {
        return;
    }
    let added = form_encode(pairs);
    let query = match url.query() {
        Some(existing) if !existing.is_empty() => format!("{existing}&{added}"),
        _ => added,
    };
    url.set_query(Some(&query));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appended(url: &str, pairs: &[(Vec<u8>, Vec<u8>)]) -> String {
        let mut url = Url::parse(url).unwrap();
        append_query(&mut url, pairs);
        url.to_string()
    }

    #[test]
    fn a_list_value_repeats_the_key() {
        let pairs = flatten([("a", Values::from(vec!["1", "2"])), ("b", "3".into())]);
        assert_eq!(appended("http://h/p", &pairs), "http://h/p?a=1&a=2&b=3");
    }

    #[test]
    fn params_are_appended_to_the_existing_query() {
        let pairs = flatten([("foo", "bar")]);
        assert_eq!(
            appended("http://h/p?x=1&y", &pairs),
            "http://h/p?x=1&y&foo=bar"
        );
    }

    #[test]
    fn spaces_become_plus_and_text_is_utf8() {
        let pairs = flatten([("q", "a b&c=d"), ("é", "☃")]);
        assert_eq!(
            appended("http://h/", &pairs),
            "http://h/?q=a+b%26c%3Dd&%C3%A9=%E2%98%83"
        );
    }

    #[test]
    fn raw_bytes_are_quoted_as_they_are() {
        let pairs = flatten([("b", Values::from(&b"\xff\x00 "[..]))]);
        assert_eq!(appended("http://h/", &pairs), "http://h/?b=%FF%00+");
    }

    #[test]
    fn no_params_leave_the_url_alone() {
        assert_eq!(appended("http://h/p?x", &[]), "http://h/p?x");
        assert_eq!(appended("http://h/p", &[]), "http://h/p");
    }

    #[test]
    fn a_fragment_stays_after_the_query() {
        let pairs = flatten([("a", "1")]);
        assert_eq!(appended("http://h/p#frag", &pairs), "http://h/p?a=1#frag");
    }
}
