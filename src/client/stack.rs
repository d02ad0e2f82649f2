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
use std::cell::RefCell;
use std::rc::Rc;

/// What `retry=` puts in the stack: the policy, and the clock its waits run on.
pub(crate) struct RetryLayer<'a> {
    pub(crate) policy: &'a RetryPolicy,
    pub(crate) clock: Rc<dyn IReactorTime>,
}

/// The stacks of a client's plain requests (no `retry=`, no `connect_timeout=`), built once
/// and shared by its clones: without redirects, with `RedirectAgent`, with
/// `BrowserLikeRedirectAgent`. The wrappers keep no per-request state, so one stack serves every
/// request.
#[derive(Default)]
pub(crate) struct StackCache(RefCell<[Option<Rc<dyn IAgent>>; 3]>);

/// treq's stack, innermost first: `base` (the client's agent, or — `Some` — its copy with the
/// request's `connect_timeout`), `CookieAgent` with the client's jar,
/// `RetryAgent` (with `retry=`; so each attempt takes and stores cookies, and each redirect hop
/// is retried on its own), the redirect agent (when redirects are allowed),
/// `ContentDecoderAgent` for gzip, then the credentials (outermost, so a redirect to another
/// origin drops them).
pub(crate) fn wrapped_agent(
    client: &HTTPClient,
    base: Option<Rc<dyn IAgent>>,
    allow_redirects: bool,
    browser_like_redirects: bool,
    auth: Option<&AuthConfig>,
    retry: Option<RetryLayer<'_>>,
) -> Result<Rc<dyn IAgent>, Failure> {
    let slot = match (allow_redirects, browser_like_redirects) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    };
    let agent = match (base, retry) {
        (None, None) => {
            let cached = client.stacks.0.borrow()[slot].clone();
            match cached {
                Some(agent) => agent,
                None => {
                    let agent = build(
                        client,
                        client.agent.clone(),
                        allow_redirects,
                        browser_like_redirects,
                        None,
                    );
                    client.stacks.0.borrow_mut()[slot] = Some(agent.clone());
                    agent
                }
            }
        }
        (base, retry) => build(
            client,
            base.unwrap_or_else(|| client.agent.clone()),
            allow_redirects,
            browser_like_redirects,
            retry,
        ),
    };
    match auth {
        Some(auth) => add_auth(agent, auth).map_err(Failure::new),
        None => Ok(agent),
    }
}

fn build(
    client: &HTTPClient,
    base: Rc<dyn IAgent>,
    allow_redirects: bool,
    browser_like_redirects: bool,
    retry: Option<RetryLayer<'_>>,
) -> Rc<dyn IAgent> {
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
    Rc::new(ContentDecoderAgent::gzip(agent))
}
