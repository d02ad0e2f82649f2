//! The agent stack treq builds for each request, and the `cookies=` argument it merges.

use super::HTTPClient;
use crate::auth::{add_auth, AuthConfig};
use crate::cookies::scoped_cookie;
use crate::web::client::{
    BrowserLikeRedirectAgent, ContentDecoderAgent, CookieAgent, RedirectAgent, RetryAgent,
    RetryPolicy,
};
use crate::web::cookiejar::CookieJar;
use crate::web::iweb::IAgent;
use reactor::defer::Failure;
use reactor::interfaces::IReactorTime;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
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

/// What `retry=` puts in the stack: the policy, and the clock its waits run on.
pub(crate) struct RetryLayer<'a> {
    pub(crate) policy: &'a RetryPolicy,
    pub(crate) clock: Rc<dyn IReactorTime>,
}

/// treq's stack, innermost first: `base` (the client's agent, or its copy with the request's
/// `connect_timeout`), `CookieAgent` with the client's jar,
/// `RetryAgent` (with `retry=`; so each attempt takes and stores cookies, and each redirect hop
/// is retried on its own), the redirect agent (when redirects are allowed), `ContentDecoderAgent` for gzip, then the
/// credentials (outermost, so a redirect to another origin drops them).
pub(crate) fn wrapped_agent(
    client: &HTTPClient,
    base: Rc<dyn IAgent>,
    allow_redirects: bool,
    browser_like_redirects: bool,
    auth: Option<&AuthConfig>,
    retry: Option<RetryLayer<'_>>,
) -> Result<Rc<dyn IAgent>, Failure> {
    let mut agent: Rc<dyn IAgent> = Rc::new(CookieAgent::new(base, client.cookiejar.clone()));
    if let Some(RetryLayer { policy, clock }) = retry {
        agent = Rc::new(RetryAgent::new(agent, policy.clone()).clock(clock));
    }
    if allow_redirects {
        agent = if browser_like_redirects {
            Rc::new(BrowserLikeRedirectAgent::new(agent))
        } else {
            Rc::new(RedirectAgent::new(agent))
        };
    }
    agent = Rc::new(ContentDecoderAgent::gzip(agent));
    if let Some(auth) = auth {
        agent = add_auth(agent, auth).map_err(Failure::new)?;
    }
    Ok(agent)
}
