//! What `cookies=` takes, and how it is merged into the client's jar.

use crate::cookies::scoped_cookie;
use crate::web::cookiejar::CookieJar;
use reactor::defer::Failure;
use std::collections::{BTreeMap, HashMap};
use url::Url;

/// What `cookies=` takes: names and values (scoped to the request's origin), or a jar.
#[derive(Debug, Clone)]
pub enum Cookies {
    /// Cookies for the request's origin only (treq's `scoped_cookie`).
    Pairs(Vec<(String, String)>),
    /// A jar whose cookies are merged into the client's.
    Jar(CookieJar),
}

impl Cookies {
    /// Add these cookies to `jar` for a request to `url`.
    pub(crate) fn merge_into(self, jar: &CookieJar, url: &Url) -> Result<(), Failure> {
        match self {
            Cookies::Pairs(pairs) => {
                for (name, value) in pairs {
                    scoped_cookie(url, name, value)?
                        .set_in(jar)
                        .map_err(Failure::new)?;
                }
            }
            Cookies::Jar(other) => jar.merge_from(&other),
        }
        Ok(())
    }
}

fn pairs<K: Into<String>, V: Into<String>>(it: impl IntoIterator<Item = (K, V)>) -> Cookies {
    Cookies::Pairs(it.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
}

impl<K: Into<String>, V: Into<String>> From<Vec<(K, V)>> for Cookies {
    fn from(v: Vec<(K, V)>) -> Cookies {
        pairs(v)
    }
}
impl<K: Into<String>, V: Into<String>, const N: usize> From<[(K, V); N]> for Cookies {
    fn from(v: [(K, V); N]) -> Cookies {
        pairs(v)
    }
}
impl<K: Into<String>, V: Into<String>> From<HashMap<K, V>> for Cookies {
    fn from(v: HashMap<K, V>) -> Cookies {
        pairs(v)
    }
}
impl<K: Into<String>, V: Into<String>> From<BTreeMap<K, V>> for Cookies {
    fn from(v: BTreeMap<K, V>) -> Cookies {
        pairs(v)
    }
}
impl From<CookieJar> for Cookies {
    fn from(v: CookieJar) -> Cookies {
        Cookies::Jar(v)
    }
}
impl From<&CookieJar> for Cookies {
    fn from(v: &CookieJar) -> Cookies {
        Cookies::Jar(v.clone())
    }
}
