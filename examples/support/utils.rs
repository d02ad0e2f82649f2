//! treq's `_utils.py` for its documentation examples: [`print_response`], plus [`check`], which
//! turns an unexpected result into a failure so an example exits non-zero.

use reactor::defer::{Deferred, Failure};
use treq::response::Response;

/// Print the status line, the headers and the body as text (treq's `print_response`).
///
/// ```python
/// def print_response(response):
///     print(response.code, response.phrase)
///     print(response.headers)
///     return treq.text_content(response).addCallback(print)
/// ```
pub fn print_response(response: Response) -> Deferred<()> {
    println!(
        "{} {}",
        response.code(),
        String::from_utf8_lossy(response.phrase())
    );
    println!("{:?}", response.headers());
    treq::text_content(&response, None).add_callback(|text| println!("{text}"))
}

/// `Ok(())` when `ok`, else a failure saying what was `expected`.
pub fn check(ok: bool, expected: &str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::new(std::io::Error::other(format!(
            "expected {expected}"
        ))))
    }
}

/// A callback that passes the response on when its status is `code`, and fails otherwise:
/// put it before [`print_response`] so a wrong answer fails the example.
pub fn expect_code(code: u16) -> impl FnOnce(Response) -> Result<Response, Failure> {
    move |response| {
        check(
            response.code() == code,
            &format!("status {code}, got {}", response.code()),
        )?;
        Ok(response)
    }
}
