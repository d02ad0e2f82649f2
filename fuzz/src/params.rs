//! The URL/params target: treq's `params=` on a request through [`HTTPClient`] to an agent
//! that records the URL it is asked for. The URL must parse, hold no byte the `Agent` refuses
//! (≤ 0x20, 0x7f, non-ASCII), keep the base URL's scheme, host, path and fragment, and its
//! query, split with `form_urlencoded::parse`, must be the base query's pairs followed by
//! exactly the given pairs (compared as UTF-8 text, invalid bytes replaced, which is how
//! `form_urlencoded::parse` decodes them).

use crate::input::Input;
use reactor::defer::{Deferred, Failure};
use reactor::task::Clock;
use std::cell::RefCell;
use std::rc::Rc;
use treq::client::HTTPClient;
use treq::web::http_headers::Headers;
use treq::web::iweb::{IAgent, IBodyProducer};
use treq::web::response::Response;
use url::Url;

const BASES: &[&str] = &[
    "http://example.com/",
    "http://example.com/p/q",
    "http://example.com/p?x=1",
    "http://example.com/p?",
    "http://example.com/p?a=b&c#frag",
    "https://example.com:8443/p#f",
    "http://example.com/p?x=%26y&z=a+b",
];

/// Records the URI of every request and fails it.
#[derive(Default)]
struct Recorder {
    uris: RefCell<Vec<String>>,
}

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("recorded")
    }
}

impl std::error::Error for Recorded {}

impl IAgent for Recorder {
    fn request(
        &self,
        _method: &str,
        uri: &str,
        _headers: Option<Headers>,
        _body_producer: Option<Rc<dyn IBodyProducer>>,
    ) -> Deferred<Response> {
        self.uris.borrow_mut().push(uri.to_owned());
        Deferred::fail(Failure::new(Recorded))
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `params` target: byte 0 picks the base URL; then pairs of chunks (key, value). A key
/// chunk starting with 0xff makes its pair a list of two values.
pub fn params(data: &[u8]) {
    let mut input = Input::new(data);
    let base = BASES[usize::from(input.byte()) % BASES.len()];
    let mut pairs: Vec<(Vec<u8>, Vec<Vec<u8>>)> = Vec::new();
    while !input.is_empty() && pairs.len() < 32 {
        let key = input.chunk().to_vec();
        let list = key.first() == Some(&0xff);
        let mut values = vec![input.chunk().to_vec()];
        if list {
            values.push(input.chunk().to_vec());
        }
        pairs.push((key, values));
    }
    let recorder = Rc::new(Recorder::default());
    let client = HTTPClient::from_agent(recorder.clone()).clock(Rc::new(Clock::new()));
    let request = pairs
        .iter()
        .map(|(k, values)| (k.clone(), values.clone()))
        .collect::<Vec<_>>();
    let d = client
        .get(base)
        .allow_redirects(false)
        .params(request)
        .send();
    let failure = match d.take_result() {
        Some(Err(failure)) => failure,
        Some(Ok(_)) => panic!("a response from the recorder"),
        None => panic!("the request did not fail at once"),
    };
    assert!(failure.check::<Recorded>(), "{failure}");
    let uris = recorder.uris.borrow();
    assert_eq!(uris.len(), 1, "one request made");
    let sent = &uris[0];
    assert!(
        sent.bytes().all(|b| b > 0x20 && b < 0x7f),
        "a byte the Agent refuses in {sent:?}"
    );
    let sent = Url::parse(sent).expect("the sent URL parses");
    let base = Url::parse(base).unwrap();
    assert_eq!(sent.scheme(), base.scheme());
    assert_eq!(sent.host_str(), base.host_str());
    assert_eq!(sent.port(), base.port());
    assert_eq!(sent.path(), base.path());
    assert_eq!(sent.fragment(), base.fragment());
    let mut want: Vec<(String, String)> = base
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    for (key, values) in &pairs {
        for value in values {
            want.push((lossy(key), lossy(value)));
        }
    }
    let got: Vec<(String, String)> = form_urlencoded::parse(sent.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(got, want, "params round trip through {sent}");
}
