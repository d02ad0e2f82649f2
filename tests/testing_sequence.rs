//! treq::testing: RequestSequence in order, out of order, too few and too many requests;
//! HasHeaders matching; the agent spy (the behaviours of treq's test_testing.py and
//! test_agentspy.py).

use reactor::defer::{Deferred, Failure, TimeoutError};
use reactor::task::Clock;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use treq::client::HTTPClient;
use treq::testing::{
    agent_spy, AgentSpy, ExpectedRequest, HasHeaders, HeaderLists, Matcher, RequestSequence,
    RequestTraversalAgent, StringStubbingResource, StubResponse, StubTreq, ANY, NO_HEADERS,
    NO_PARAMS,
};
use treq::web::iweb::IAgent;
use treq::web::resource::Data;

fn ok<T>(d: Deferred<T>) -> T {
    match d.take_result().expect("the Deferred has not fired") {
        Ok(value) => value,
        Err(failure) => panic!("the Deferred failed: {failure}"),
    }
}

/// A sequence whose failures go to a list, and a stub over it.
fn stub_for(
    expected: Vec<(ExpectedRequest, StubResponse)>,
) -> (RequestSequence, StubTreq, Rc<RefCell<Vec<String>>>) {
    let failures: Rc<RefCell<Vec<String>>> = Rc::default();
    let f = failures.clone();
    let sequence = RequestSequence::new(expected, move |message: &str| {
        f.borrow_mut().push(message.to_owned())
    });
    let stub = StubTreq::new(Rc::new(StringStubbingResource::from_stubs(
        sequence.clone(),
    )));
    (sequence, stub, failures)
}

fn any_request() -> ExpectedRequest {
    ExpectedRequest::new(ANY, ANY, ANY, ANY, ANY)
}

#[test]
fn a_matching_request_is_answered_and_a_mismatch_gets_500() {
    let (sequence, stub, failures) = stub_for(vec![
        (
            ExpectedRequest::new(
                "get",
                "https://anything/",
                [("1", "2")],
                HasHeaders::new([("1", "1")]),
                "what",
            ),
            StubResponse::new(418, "body"),
        ),
        (
            ExpectedRequest::new(
                "get",
                "http://anything/",
                NO_PARAMS,
                HasHeaders::new([("2", "1")]),
                "what",
            ),
            StubResponse::new(202, "deleted"),
        ),
    ]);
    let get = || {
        stub.get("https://anything?1=2")
            .data(b"what")
            .headers([("1", "1")])
            .send()
    };
    let response = ok(get());
    assert_eq!(response.code(), 418);
    assert_eq!(&ok(stub.content(&response))[..], b"body");
    assert!(failures.borrow().is_empty());
    assert_eq!(sequence.remaining(), 1);

    let response = ok(get());
    assert_eq!(response.code(), 500);
    assert_eq!(&ok(stub.content(&response))[..], b"StubbingError");
    let failures = failures.borrow();
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].contains("Expected the next request to be"),
        "{}",
        failures[0]
    );
    assert!(
        failures[0].contains(r#"["url", "parameters", "headers"]"#),
        "{}",
        failures[0]
    );
    assert!(
        !sequence.consumed(),
        "a mismatch does not consume the expected request"
    );
}

#[test]
fn requests_out_of_order_are_reported() {
    let (sequence, stub, failures) = stub_for(vec![
        (
            ExpectedRequest::new("GET", "http://example.test/first", ANY, ANY, ANY),
            StubResponse::new(200, "first"),
        ),
        (
            ExpectedRequest::new("POST", "http://example.test/second", ANY, ANY, ANY),
            StubResponse::new(201, "second"),
        ),
    ]);
    let second = ok(stub.post("http://example.test/second").send());
    assert_eq!(second.code(), 500);
    assert_eq!(failures.borrow().len(), 1);
    assert!(failures.borrow()[0].contains(r#"["method", "url"]"#));
    // Once in order, both are answered.
    assert_eq!(ok(stub.get("http://example.test/first").send()).code(), 200);
    assert_eq!(
        ok(stub.post("http://example.test/second").send()).code(),
        201
    );
    assert!(sequence.consumed());
    assert_eq!(failures.borrow().len(), 1);
}

#[test]
fn too_many_requests_get_500_and_are_reported() {
    let (sequence, stub, failures) = stub_for(vec![]);
    let response = ok(stub
        .get("https://anything")
        .data(b"what")
        .headers([("1", "1")])
        .send());
    assert_eq!(response.code(), 500);
    assert_eq!(&ok(response.content())[..], b"StubbingError");
    assert_eq!(failures.borrow().len(), 1);
    assert!(failures.borrow()[0].contains("No more requests expected, but request"));
    assert!(failures.borrow()[0].contains(r#"url="https://anything/""#));
    assert!(sequence.consumed());
}

#[test]
fn any_matches_every_part_and_consume_passes() {
    let (sequence, stub, failures) =
        stub_for(vec![(any_request(), StubResponse::new(418, "body"))]);
    sequence.consume(|| {
        let response = ok(stub
            .get("https://anything")
            .data(b"what")
            .headers([("1", "1")])
            .send());
        assert_eq!(response.code(), 418);
        assert_eq!(&ok(stub.content(&response))[..], b"body");
    });
    assert!(failures.borrow().is_empty());
    assert!(sequence.consumed());
}

#[test]
fn too_few_requests_fail_consume() {
    let (sequence, stub, failures) = stub_for(vec![
        (any_request(), StubResponse::new(418, "body")),
        (any_request(), StubResponse::new(418, "body")),
    ]);
    let mut reports = Vec::new();
    sequence.consume_with(
        |message| reports.push(message.to_owned()),
        || ok(stub.get("https://anything").send()),
    );
    assert_eq!(reports.len(), 1);
    assert!(reports[0].contains("Not all expected requests were made.  Still expecting:"));
    assert!(
        reports[0].contains("ANY(url=ANY, params=ANY, headers=ANY, data=ANY)"),
        "{}",
        reports[0]
    );
    assert!(failures.borrow().is_empty(), "no asynchronous failures");

    // consume() panics with the same message, failing the test.
    let panic = catch_unwind(AssertUnwindSafe(|| sequence.consume(|| ()))).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("Still expecting:"), "{message}");
}

#[test]
fn the_guard_fails_when_dropped_with_requests_left() {
    let (sequence, stub, _failures) = stub_for(vec![(
        ExpectedRequest::new("get", "http://example.test/", NO_PARAMS, ANY, ""),
        StubResponse::new(200, ""),
    )]);
    let panic = catch_unwind(AssertUnwindSafe(|| {
        let _guard = sequence.guard();
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains(r#"b"get"(url="http://example.test/", params={}"#),
        "{message}"
    );

    let guard = sequence.guard();
    assert_eq!(ok(stub.get("http://example.test").send()).code(), 200);
    drop(guard);
}

#[test]
fn a_sequence_without_a_reporter_logs_and_answers_500() {
    let sequence = RequestSequence::logging(Vec::<(ExpectedRequest, StubResponse)>::new());
    let stub = StubTreq::new(Rc::new(StringStubbingResource::from_stubs(sequence)));
    assert_eq!(ok(stub.get("https://example.com").send()).code(), 500);
}

#[test]
fn expected_responses_carry_their_headers() {
    let (_sequence, stub, _failures) = stub_for(vec![
        (
            any_request(),
            (
                200,
                [("Content-Type", "application/json")],
                r#"{"ok": true}"#,
            )
                .into(),
        ),
        (
            any_request(),
            StubResponse::new(204, "")
                .header("x-a", "1")
                .header("x-a", "2"),
        ),
        (any_request(), (404, NO_HEADERS, "gone").into()),
    ]);
    let first = ok(stub.get("http://example.test/").send());
    let json: serde_json::Value = ok(first.json());
    assert_eq!(json["ok"], true);
    let second = ok(stub.get("http://example.test/").send());
    let values: Vec<_> = second.headers().get_raw_headers("x-a").unwrap().collect();
    assert_eq!(values, ["1", "2"]);
    assert_eq!(ok(stub.get("http://example.test/").send()).code(), 404);
}

#[test]
fn exact_params_headers_and_data() {
    let (sequence, stub, failures) = stub_for(vec![(
        ExpectedRequest::new(
            b"PUT",
            "http://example.test/x",
            [("a", vec!["2", "1"]), ("b", vec!["3"])],
            HasHeaders::new([("Content-Type", "application/octet-stream")]),
            b"payload",
        ),
        StubResponse::new(200, ""),
    )]);
    let response = ok(stub
        .put("http://example.test/x")
        .params([("a", "1"), ("b", "3"), ("a", "2")])
        .headers([("Content-Type", "application/octet-stream")])
        .data(b"payload")
        .send());
    assert_eq!(response.code(), 200, "{:?}", failures.borrow());
    assert!(sequence.consumed());
}

// --- HasHeaders ---

fn lists(pairs: &[(&str, &[&str])]) -> HeaderLists {
    pairs.iter().map(|(k, v)| (*k, v.to_vec())).collect()
}

#[test]
fn has_headers_accepts_equal_headers_and_supersets() {
    let expected = HasHeaders::new([("one", vec!["two", "three"])]);
    assert!(expected.matches(&lists(&[("one", &["two", "three"])])));
    assert!(expected.matches(&lists(&[
        ("one", &["two", "three", "four"]),
        ("ten", &["six"])
    ])));
    assert!(expected == lists(&[("one", &["three", "two"])]));
}

#[test]
fn has_headers_refuses_partial_or_no_overlap() {
    let expected = HasHeaders::new([("one", vec!["two", "three"])]);
    assert!(!expected.matches(&lists(&[("one", &["three", "four"])])));
    assert!(!expected.matches(&lists(&[("one", &["two"])])));
    assert!(!expected.matches(&lists(&[("ten", &["six"])])));
}

#[test]
fn has_headers_ignores_the_case_of_names_but_not_of_values() {
    assert!(
        HasHeaders::new([("A", "1"), ("b", "2")]).matches(&lists(&[("a", &["1"]), ("B", &["2"])]))
    );
    assert!(!HasHeaders::new([("a", "a")]).matches(&lists(&[("a", &["A"])])));
    assert!(HasHeaders::new([(&b"a"[..], &b"a"[..])]).matches(&lists(&[("a", &["a"])])));
}

#[test]
fn has_headers_matches_a_headers_value_and_debugs_readably() {
    let mut headers = treq::web::http_headers::Headers::new();
    headers.add_raw_header("Accept", "text/plain").unwrap();
    headers.add_raw_header("accept", "text/html").unwrap();
    assert!(
        HasHeaders::new([("ACCEPT", vec!["text/html", "text/plain"])]).matches_headers(&headers)
    );
    assert_eq!(
        format!("{:?}", HasHeaders::new([("A", "b")])),
        r#"HasHeaders({b"a": [b"b"]})"#
    );
}

/// A matcher of one's own, boxed.
#[derive(Debug)]
struct LongBody;

impl Matcher<[u8]> for LongBody {
    fn matches(&self, actual: &[u8]) -> bool {
        actual.len() > 5
    }
}

#[test]
fn custom_matchers_can_be_used() {
    let (_sequence, stub, failures) = stub_for(vec![(
        ExpectedRequest::new(
            ANY,
            ANY,
            ANY,
            ANY,
            Box::new(LongBody) as Box<dyn Matcher<[u8]>>,
        ),
        StubResponse::new(200, ""),
    )]);
    assert_eq!(
        ok(stub.post("http://x.test/").data(b"tiny").send()).code(),
        500
    );
    assert_eq!(
        ok(stub.post("http://x.test/").data(b"long enough").send()).code(),
        200
    );
    assert!(failures.borrow()[0].contains("LongBody"));
}

// --- agent_spy ---

#[test]
fn the_spy_records_what_the_client_sends() {
    let (agent, records) = agent_spy();
    let client = HTTPClient::new(agent);
    let d = client
        .post("http://example.test/path")
        .params([("a", "1")])
        .headers([("X-Custom", "yes")])
        .data(b"body bytes")
        .send();
    assert!(!d.called(), "the spy leaves the answer to the test");
    let records = records.borrow();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.method, "POST");
    assert_eq!(record.uri, "http://example.test/path?a=1");
    let headers = record.headers.as_ref().unwrap();
    assert_eq!(
        headers.get_first("x-custom").map(|v| &v[..]),
        Some(&b"yes"[..])
    );
    let producer = record.body_producer.as_ref().unwrap();
    assert_eq!(producer.length(), Some(10));
}

#[test]
fn the_spy_deferred_delivers_the_response_the_test_gives() {
    let (agent, records) = agent_spy();
    let client = HTTPClient::new(agent);
    let d = client.get("http://example.test/").send();
    // Answer with a real response, made in memory by a RequestTraversalAgent.
    let server = RequestTraversalAgent::new(Rc::new(Data::new("spied", "text/plain")));
    let response = ok(server.request("GET", "http://example.test/", None, None));
    let record = records.borrow()[0].clone();
    record.deferred.callback(response).unwrap();
    let response = ok(d);
    assert_eq!(response.code(), 200);
    assert_eq!(&ok(response.content())[..], b"spied");
    assert!(format!("{record:?}").contains("called: true"));
}

#[test]
fn the_spy_deferred_can_fail_and_time_out_on_the_spy_clock() {
    let (agent, records) = agent_spy();
    let client = HTTPClient::new(agent);
    let d = client.get("http://example.test/").send();
    records.borrow()[0]
        .deferred
        .errback(Failure::new(TimeoutError { seconds: 0.0 }))
        .unwrap();
    assert!(d
        .take_result()
        .unwrap()
        .unwrap_err()
        .check::<TimeoutError>());

    let clock = Clock::new();
    let spy = AgentSpy::new().with_clock(Rc::new(clock.clone()));
    let records = spy.records();
    let client = HTTPClient::new(spy);
    let d = client.get("http://example.test/").timeout(3.0).send();
    clock.advance(3.0);
    assert!(d
        .take_result()
        .unwrap()
        .unwrap_err()
        .check::<TimeoutError>());
    assert!(
        records.borrow()[0].deferred.called(),
        "the spy's Deferred was cancelled"
    );
}
