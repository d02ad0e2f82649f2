//! The agent stack treq builds for each request.

use super::HTTPClient;
use crate::auth::{add_auth, AuthConfig};
use crate::web::client::{
    BrowserLikeRedirectAgent, ContentDecoderAgent, CookieAgent, RedirectAgent, RetryAgent,
    RetryPolicy,
};
use crate::web::iweb::IAgent;
use reactor::defer::Failure;
use reactor::interfaces::IReactorTime;
use std::rc::Rc;

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
