//! treq's `iresource.py`, ported: a leaf resource that answers every request with JSON.
//!
//! ```python
//! import json
//!
//! from zope.interface import implementer
//! from twisted.web.resource import IResource
//!
//!
//! @implementer(IResource)
//! class JsonResource(object):
//!     isLeaf = True  # NB: means getChildWithDefault will not be called
//!
//!     def __init__(self, data):
//!         self.data = data
//!
//!     def render(self, request):
//!         request.setHeader(b'Content-Type', b'application/json')
//!         return json.dumps(self.data).encode('utf-8')
//! ```
//!
//! In treq's docs the resource is handed to `StubTreq` (see `docs/testing.md`); here it is
//! served by a [`Site`] on 127.0.0.1 and fetched with `treq::get`, on one reactor.
//! `IResource` is the trait [`Resource`], whose methods all have defaults: this one overrides
//! `is_leaf` and `render`.
//!
//! `cargo run --example iresource`.

mod support;

use reactor::defer::ensure_deferred;
use reactor::Reactor;
use serde_json::{json, Value};
use std::rc::Rc;
use support::utils::check;
use treq::web::resource::{RenderResult, Resource};
use treq::web::server::{Request, Site};

/// Renders `data` as JSON for any method and any path below it.
struct JsonResource {
    data: Value,
}

impl JsonResource {
    fn new(data: Value) -> JsonResource {
        JsonResource { data }
    }
}

impl Resource for JsonResource {
    fn is_leaf(&self) -> bool {
        true // get_child will not be called
    }

    fn render(&self, request: &Rc<Request>) -> RenderResult {
        let _ = request.set_header("Content-Type", "application/json");
        self.data.to_string().into()
    }
}

fn main() {
    let reactor = Reactor::default();
    let resource = JsonResource::new(json!({"status": "ok", "items": [1, 2, 3]}));
    let site = Site::new(Rc::new(resource));
    let port = match reactor.listen_tcp(0, Rc::new(site), "127.0.0.1") {
        Ok(port) => port.get_host().port(),
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1: {e}");
            std::process::exit(1);
        }
    };

    let main = ensure_deferred(async move {
        for path in ["/", "/any/path/at/all"] {
            let response = treq::post(format!("http://127.0.0.1:{port}{path}")).await?;
            let content_type = response.headers().get_first("Content-Type").cloned();
            let data: Value = response.json().await?;
            println!("{path} -> {} {data}", response.code());
            check(response.code() == 200, "200")?;
            check(
                content_type.as_deref() == Some(&b"application/json"[..]),
                "Content-Type: application/json",
            )?;
            check(data["items"] == json!([1, 2, 3]), "the resource's data")?;
        }
        Ok(())
    });
    support::run_to_completion(&reactor, main);
}
