//! treq's `basic_url.py`, ported: a URL built piece by piece (hyperlink's `DecodedURL` in
//! Python; `url::Url` here, which treq's functions take as they take text).
//!
//! ```python
//! from hyperlink import DecodedURL
//! from twisted.internet.task import react
//! from _utils import print_response
//!
//! import treq
//!
//! def main(reactor):
//!     url = (
//!         DecodedURL.from_text(u"https://httpbin.org")
//!         .child(u"get")      # add path /get
//!         .add(u"foo", u"&")  # add query ?foo=%26
//!     )
//!     print(url.to_text())
//!     return treq.get(url).addCallback(print_response)
//!
//! react(main, [])
//! ```
//!
//! Runs offline against a local stand-in for httpbin: `cargo run --example basic_url`.

mod support;

use reactor::defer::Failure;
use reactor::Reactor;
use serde_json::Value;
use support::utils::{check, expect_code, print_response};
use url::Url;

fn build_url(base: &str) -> Result<Url, Failure> {
    let mut url = Url::parse(base)
        .and_then(|u| u.join("get")) // add path /get
        .map_err(|e| Failure::new(std::io::Error::other(e.to_string())))?;
    url.query_pairs_mut().append_pair("foo", "&"); // add query ?foo=%26
    Ok(url)
}

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);

    let url = match build_url(&bin.url("/")) {
        Ok(url) => url,
        Err(failure) => {
            eprintln!("failed: {failure}");
            std::process::exit(1);
        }
    };
    println!("{url}");
    let d = treq::get(url).send();
    let d = d.add_callback(expect_code(200)).add_callback(|response| {
        let echoed = response.json::<Value>();
        print_response(response)
            .add_callback(move |()| echoed)
            .add_callback(|echoed: Value| {
                check(echoed["args"]["foo"] == "&", "foo=& to arrive decoded")
            })
    });
    support::run_to_completion(&reactor, d);
}
