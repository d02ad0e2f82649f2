//! The spec's "Custom Body Producer" example, ported: an `IBodyProducer` of the caller's own,
//! and a `data_to_body_producer` that picks it for the caller's data and falls back on the
//! default conversion for the rest.
//!
//! ```python
//! @implementer(IBodyProducer)
//! class CustomBodyProducer:
//!     def __init__(self, data):
//!         self.data = data
//!         self.length = len(data)
//!     def startProducing(self, consumer):
//!         consumer.write(self.data)
//!         return defer.succeed(None)
//!     def pauseProducing(self): pass
//!     def stopProducing(self): pass
//!
//! def custom_data_converter(data):
//!     if isinstance(data, dict) and 'custom' in data:
//!         return CustomBodyProducer(data['custom'].encode('utf-8'))
//!     return IBodyProducer(data)  # Use default conversion
//!
//! client = HTTPClient(agent, data_to_body_producer=custom_data_converter)
//! response = yield client.post('https://httpbin.org/post', data={'custom': 'special data format'})
//! ```
//!
//! Python dispatches on `isinstance`; in Rust the caller's value travels as `Data::Other` and
//! the converter downcasts it. (treq itself form-encodes a dict before any converter sees it,
//! so the Python version only works for non-dict data; the Rust port makes the intent work.)
//!
//! Runs offline: `cargo run --example custom_body_producer`.

mod support;

use bytes::Bytes;
use reactor::defer::{ensure_deferred, Deferred, Failure};
use reactor::interfaces::IConsumer;
use reactor::Reactor;
use std::collections::HashMap;
use std::rc::Rc;
use treq::client::{default_data_to_body_producer, Data, HTTPClient};
use treq::web::client::Agent;
use treq::web::iweb::IBodyProducer;

struct CustomBodyProducer {
    data: Bytes,
}

impl IBodyProducer for CustomBodyProducer {
    fn length(&self) -> Option<u64> {
        Some(self.data.len() as u64)
    }
    fn start_producing(&self, consumer: Rc<dyn IConsumer>) -> Deferred<()> {
        consumer.write(&self.data);
        Deferred::succeed(())
    }
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
    fn stop_producing(&self) {}
}

/// The caller's request data: a map that may hold a "custom" entry.
type Fields = HashMap<&'static str, &'static str>;

fn custom_data_converter(data: Data) -> Result<Rc<dyn IBodyProducer>, Failure> {
    if let Data::Other(value) = &data {
        if let Some(custom) = value.downcast_ref::<Fields>().and_then(|f| f.get("custom")) {
            return Ok(Rc::new(CustomBodyProducer {
                data: Bytes::copy_from_slice(custom.as_bytes()),
            }));
        }
    }
    default_data_to_body_producer(data) // Use default conversion
}

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);
    let agent = Agent::new(&reactor);

    // Client with custom body producer
    let client = HTTPClient::new(agent).data_to_body_producer(custom_data_converter);

    let use_custom_producer = ensure_deferred(async move {
        let fields: Fields = HashMap::from([("custom", "special data format")]);
        let response = client
            .post(bin.url("/post"))
            .data(Data::other(fields))
            .await?;
        let echoed: serde_json::Value = response.json().await?;
        println!("the server received: {}", echoed["data"]);
        let plain = client.post(bin.url("/post")).data("plain bytes").await?;
        let echoed_plain: serde_json::Value = plain.json().await?;
        println!("and with the default conversion: {}", echoed_plain["data"]);
        if echoed["data"] != "special data format" || echoed_plain["data"] != "plain bytes" {
            return Err(Failure::new(std::io::Error::other("unexpected body")));
        }
        Ok(())
    });
    support::run_to_completion(&reactor, use_custom_producer);
}
