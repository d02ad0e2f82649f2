//! treq's `testing_seq` example, ported: a function that makes a request, and its tests with
//! [`RequestSequence`]: each test says which requests it expects, in order, and what each gets
//! back, and fails if a request does not match or an expected one is not made.
//!
//! ```python
//! @inlineCallbacks
//! def make_a_request(treq):
//!     response = yield treq.get('http://an.example/foo', params={'a': 'b'},
//!                               headers={b'Accept': b'application/json'})
//!     if response.code == http.OK:
//!         result = yield response.json()
//!     else:
//!         message = yield response.text()
//!         raise Exception("Got an error from the server: {}".format(message))
//!     return result
//! ```
//!
//! The tests run in `main` (as `trial testing_seq.py` runs them): no network, no reactor, no
//! waiting. Exits non-zero if one fails. `cargo run --example testing_seq`.

use reactor::defer::{ensure_deferred, Deferred, Failure};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::rc::Rc;
use treq::client::HTTPClient;
use treq::testing::{
    ExpectedRequest, HasHeaders, RequestSequence, StringStubbingResource, StubTreq,
};

/// The server answered with something other than 200.
#[derive(Debug)]
struct ServerError {
    message: String,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Got an error from the server: {}", self.message)
    }
}

impl Error for ServerError {}

/// The code under test: it takes the client to use, so a test can hand it a stub's.
fn make_a_request(client: &HTTPClient) -> Deferred<Value> {
    let request = client
        .get("http://an.example/foo")
        .params([("a", "b")])
        .headers([("Accept", "application/json")]);
    ensure_deferred(async move {
        let response = request.await?;
        if response.code() == 200 {
            let result: Value = response.json().await?;
            Ok(result)
        } else {
            let message = response.text(None).await?;
            Err(Failure::new(ServerError { message }))
        }
    })
}

/// A sequence whose unexpected requests are collected, and a stub answering from it.
fn stub_for(
    expected: Vec<(ExpectedRequest, treq::testing::StubResponse)>,
) -> (RequestSequence, StubTreq, Rc<RefCell<Vec<String>>>) {
    let failures: Rc<RefCell<Vec<String>>> = Rc::default();
    let f = failures.clone();
    let sequence = RequestSequence::new(expected, move |message: &str| {
        f.borrow_mut().push(message.to_owned())
    });
    let resource = StringStubbingResource::from_stubs(sequence.clone());
    (sequence, StubTreq::new(Rc::new(resource)), failures)
}

/// Fail with every unexpected request the sequence reported, and with the expected requests
/// left over.
fn check_requests(unexpected: &[String], leftover: Option<String>) -> Result<(), String> {
    let mut messages: Vec<String> = unexpected.to_vec();
    messages.extend(leftover);
    if messages.is_empty() {
        Ok(())
    } else {
        Err(messages.join("\n"))
    }
}

/// The request `make_a_request` should make.
fn the_expected_request() -> ExpectedRequest {
    ExpectedRequest::new(
        "get",
        "http://an.example/foo",
        [("a", "b")],
        HasHeaders::new([("Accept", "application/json")]),
        "",
    )
}

/// On a 200 response, the function returns the response's JSON.
fn test_200_ok() -> Result<(), String> {
    let (sequence, stub, failures) = stub_for(vec![(
        the_expected_request(),
        (
            200,
            [("Content-Type", "application/json")],
            r#"{"status": "ok"}"#,
        )
            .into(),
    )]);
    let mut leftover = None;
    let d = sequence.consume_with(
        |message| leftover = Some(message.to_owned()),
        || make_a_request(stub.client()),
    );
    check_requests(&failures.borrow(), leftover)?;
    let result = d
        .take_result()
        .ok_or("make_a_request has not finished")?
        .map_err(|f| format!("make_a_request failed: {f}"))?;
    if result != json!({"status": "ok"}) {
        return Err(format!("unexpected result {result}"));
    }
    Ok(())
}

/// On another status code, the function fails with the body as its message.
fn test_418_teapot() -> Result<(), String> {
    let (sequence, stub, failures) = stub_for(vec![(
        the_expected_request(),
        (418, [("Content-Type", "text/plain")], "I'm a teapot!").into(),
    )]);
    let mut leftover = None;
    let d = sequence.consume_with(
        |message| leftover = Some(message.to_owned()),
        || make_a_request(stub.client()),
    );
    check_requests(&failures.borrow(), leftover)?;
    let failure = match d.take_result().ok_or("make_a_request has not finished")? {
        Ok(value) => return Err(format!("expected a failure, got {value}")),
        Err(failure) => failure,
    };
    let error = failure
        .value::<ServerError>()
        .ok_or_else(|| format!("expected a ServerError, got {failure}"))?;
    if error.to_string() != "Got an error from the server: I'm a teapot!" {
        return Err(format!("unexpected message {error}"));
    }
    Ok(())
}

/// One test: `Err` holds why it failed.
type Test = fn() -> Result<(), String>;

fn main() {
    let tests: [(&str, Test); 2] = [
        ("test_200_ok", test_200_ok),
        ("test_418_teapot", test_418_teapot),
    ];
    let mut failed = 0;
    for (name, test) in tests {
        match test() {
            Ok(()) => println!("{name} ... ok"),
            Err(message) => {
                failed += 1;
                println!("{name} ... FAILED\n{message}");
            }
        }
    }
    println!(
        "testing_seq: {} of {} tests ok",
        tests.len() - failed,
        tests.len()
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
