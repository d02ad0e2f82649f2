//! [`CookieAgent`]: Twisted's `twisted.web.client.CookieAgent`.

use crate::web::cookiejar::CookieJar;
use crate::web::http_headers::Headers;
use crate::web::iweb::{IAgent, IBodyProducer};
use crate::web::response::Response;
use reactor::defer::{Deferred, Failure};
use std::rc::Rc;
use url::Url;

/// An agent that keeps cookies (Twisted's `CookieAgent`): each request gets a `Cookie` header
/// from the [`CookieJar`] (unless the caller gave one, which is sent as it is), and the
/// `Set-Cookie` headers of each response go into the jar.
///
/// The wrapped [`Agent`](super::Agent) answers every status with a [`Response`], so the
/// cookies of a 404 or 500 are kept too. Put it below a redirect agent: every hop of a redirect is then a request through it, so
/// its cookies are computed for that hop's URL and the `Set-Cookie` of each hop is kept, even
/// when the redirect agent then fails (too many redirects, no `Location`).
///
/// ```no_run
/// use reactor::Reactor;
/// use std::rc::Rc;
/// use treq::web::client::{Agent, CookieAgent};
/// use treq::web::cookiejar::CookieJar;
/// use treq::web::iweb::IAgent;
///
/// let reactor = Reactor::new();
/// let jar = CookieJar::new();
/// let agent = CookieAgent::new(Rc::new(Agent::new(&reactor)), jar.clone());
/// let d = agent.request("GET", "http://example.com/login", None, None);
/// // Once `d` fires, `jar.cookies()` holds what the server set.
/// ```
pub struct CookieAgent {
    agent: Rc<dyn IAgent>,
    jar: CookieJar,
}

impl CookieAgent {
    /// An agent that sends requests through `agent`, with cookies from and into `jar`.
    pub fn new(agent: Rc<dyn IAgent>, jar: CookieJar) -> CookieAgent {
        CookieAgent { agent, jar }
    }

    /// The jar (a handle sharing the agent's cookies).
    pub fn jar(&self) -> &CookieJar {
        &self.jar
    }
}

impl IAgent for CookieAgent {
    fn reactor(&self) -> Option<Rc<dyn reactor::interfaces::IReactorTime>> {
        self.agent.reactor()
    }

    fn request(
        &self,
        method: &str,
        uri: &str,
        headers: Option<Headers>,
        body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        let has_cookie = headers.as_ref().is_some_and(|h| h.has_header("cookie"));
        // With an empty jar there is nothing to send, and the URI is parsed only if the
        // response sets a cookie (most do not).
        let url = if has_cookie || self.jar.holds_nothing() {
            None
        } else {
            match Url::parse(uri) {
                Ok(url) => Some(url),
                // The wrapped agent reports the bad URI with its own typed error.
                Err(_) => return self.agent.request(method, uri, headers, body_producer),
            }
        };
        let headers = match &url {
            Some(url) if self.jar.cookie_header_for(url).is_some() => {
                let mut h = headers.unwrap_or_default();
                self.jar.add_cookie_header(url, &mut h);
                Some(h)
            }
            _ => headers,
        };
        let jar = self.jar.clone();
        let from = url.ok_or_else(|| uri.to_owned());
        self.agent
            .request(method, uri, headers, body_producer)
            .add_callback(move |response: Response| {
                if response.headers.has_header("set-cookie") {
                    let url = match from {
                        Ok(url) => Ok(url),
                        Err(uri) => Url::parse(&uri),
                    };
                    if let Ok(url) = url {
                        jar.extract_cookies(&url, &response.headers);
                    }
                }
                Ok::<_, Failure>(response)
            })
    }
}
