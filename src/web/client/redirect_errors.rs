//! The errors of a redirect that is not followed (Twisted's `twisted.web.error.PageRedirect`,
//! `InfiniteRedirection` and `RedirectWithNoLocation`, and two of ours). Each comes inside a
//! [`ResponseFailed`](crate::web::error::ResponseFailed) and holds the redirect response.

use crate::web::response::Response;
use std::error::Error;
use std::fmt;

macro_rules! redirect_error {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }
     |$s:ident, $f:ident| $display:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            /// The redirect's status code.
            pub code: u16,
            /// The URI that answered with the redirect.
            pub uri: String,
            $($(#[$fdoc])* pub $field: $ty,)*
            /// The redirect response (its body not read).
            pub response: Response,
        }

        impl fmt::Display for $name {
            fn fmt(&self, $f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let $s = self;
                $display
            }
        }

        impl Error for $name {}
    };
}

redirect_error!(
    /// A 301, 302, 307 or 308 answered a request whose method [`RedirectAgent`] does not
    /// redirect (anything but GET and HEAD): Twisted's `PageRedirect`.
    ///
    /// [`RedirectAgent`]: super::RedirectAgent
    PageRedirect {
        /// The request's method.
        method: String,
        /// The `Location`, resolved, if there was one.
        location: Option<String>,
    }
    |s, f| write!(
        f,
        "{} redirect for {} {} not followed: only GET and HEAD are redirected (to {})",
        s.code,
        s.method,
        s.uri,
        s.location.as_deref().unwrap_or("no location")
    )
);

redirect_error!(
    /// The redirect limit was reached (Twisted's `InfiniteRedirection`).
    InfiniteRedirection {
        /// The limit (redirects followed before this one).
        limit: usize,
    }
    |s, f| write!(
        f,
        "too many redirects: {} {} after {} redirects (the limit)",
        s.code, s.uri, s.limit
    )
);

redirect_error!(
    /// A redirect without a `Location` header (Twisted's `RedirectWithNoLocation`).
    RedirectWithNoLocation {}
    |s, f| write!(f, "{} redirect from {} has no Location header", s.code, s.uri)
);

redirect_error!(
    /// A redirect whose `Location` is not a URI reference that can be resolved.
    InvalidRedirectLocation {
        /// The `Location` as received (lossy UTF-8).
        location: String,
        /// What is wrong with it.
        reason: String,
    }
    |s, f| write!(
        f,
        "{} redirect from {} has an invalid Location {:?}: {}",
        s.code, s.uri, s.location, s.reason
    )
);

redirect_error!(
    /// A redirect that keeps the method (307, 308, or a GET/HEAD redirect) for a request whose
    /// body cannot be sent a second time: its producer has no
    /// [`immediate_body`](crate::web::iweb::IBodyProducer::immediate_body).
    RedirectBodyNotReplayable {
        /// The request's method.
        method: String,
        /// The `Location`, resolved.
        location: String,
    }
    |s, f| write!(
        f,
        "{} redirect for {} {} to {} not followed: the request body cannot be sent again \
         (use a body held in memory, such as BytesBodyProducer)",
        s.code, s.method, s.uri, s.location
    )
);
