//! The agent stack treq builds for each request.

use super::HTTPClient;
use crate::auth::{add_auth, AuthConfig};
use crate::web::client::{
    BrowserLikeRedirectAgent, ContentDecoderAgent, CookieAgent, RedirectAgent,
};
use crate::web::iweb::IAgent;
use reactor::defer::Failure;
use std::rc::Rc;

/// treq's stack, innermost first: the client's agent, `CookieAgent` with the client's jar,
/// the redirect agent (when redirects are allowed), `ContentDecoderAgent` for gzip, then the
/// credentials (outermost, so a redirect to another origin drops them).
pub(crate) fn wrapped_agent(
    client: &HTTPClient,
    allow_redirects: bool,
    browser_like_redirects: bool,
    auth: Option<&AuthConfig>,
) -> Result<Rc<dyn IAgent>, Failure> {
    let mut agent: Rc<dyn IAgent> = Rc::new(CookieAgent::new(
        client.agent.clone(),
        client.cookiejar.clone(),
    ));
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
