//! Resources: what a [`Site`](super::server::Site) serves (Twisted's `twisted.web.resource`,
//! with `twisted.web.static.Data`).
//!
//! A request's path is walked from the site's root resource one segment at a time
//! ([`get_child_for_request`], Twisted's `getChildForRequest`): `/a/b` asks the root for its
//! child `a`, then that for its child `b`, then renders the last one. A leaf
//! ([`Resource::is_leaf`]) stops the walk and renders whatever path remains below it. A missing
//! child is a 404 [`NoResource`].
//!
//! As in Twisted, the path `/` asks the root for its child named `""`: give a
//! [`ResourceTree`] an index with `put_child(b"", ...)`.
//!
//! Rendering returns a [`RenderResult`]: the whole body now, or
//! [`NotDoneYet`](RenderResult::NotDoneYet) when the resource will call
//! [`Request::write`] and [`Request::finish`] later (Twisted's `NOT_DONE_YET`).

use super::server::Request;
use bytes::Bytes;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// What [`Resource::render`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderResult {
    /// The whole response body: the server sets `Content-Length` (unless the resource already
    /// did), writes it and finishes the request.
    Body(Bytes),
    /// The resource finishes the request itself later, with [`Request::write`] and
    /// [`Request::finish`] (Twisted's `NOT_DONE_YET`).
    NotDoneYet,
}

/// Twisted's `NOT_DONE_YET`: return it from a render method that finishes the request later.
pub const NOT_DONE_YET: RenderResult = RenderResult::NotDoneYet;

impl From<Bytes> for RenderResult {
    fn from(body: Bytes) -> RenderResult {
        RenderResult::Body(body)
    }
}

impl From<Vec<u8>> for RenderResult {
    fn from(body: Vec<u8>) -> RenderResult {
        RenderResult::Body(body.into())
    }
}

impl From<String> for RenderResult {
    fn from(body: String) -> RenderResult {
        RenderResult::Body(body.into())
    }
}

impl From<&'static str> for RenderResult {
    fn from(body: &'static str) -> RenderResult {
        RenderResult::Body(Bytes::from_static(body.as_bytes()))
    }
}

impl From<&'static [u8]> for RenderResult {
    fn from(body: &'static [u8]) -> RenderResult {
        RenderResult::Body(Bytes::from_static(body))
    }
}

impl<const N: usize> From<&'static [u8; N]> for RenderResult {
    fn from(body: &'static [u8; N]) -> RenderResult {
        RenderResult::Body(Bytes::from_static(body))
    }
}

/// A web resource (Twisted's `IResource`/`Resource`).
///
/// Every method has a default: a resource implements the `render_*` methods it supports and
/// lists them in [`allowed_methods`](Resource::allowed_methods), or overrides
/// [`render`](Resource::render) to handle every method itself.
pub trait Resource {
    /// Render the response for `request`. The default dispatches on the method with
    /// [`render_method`](Resource::render_method) (`HEAD` is rendered as `GET`; the server drops
    /// the body) and answers 405 Method Not Allowed, with an `Allow` header built from
    /// [`allowed_methods`](Resource::allowed_methods), when that returns `None`.
    fn render(&self, request: &Rc<Request>) -> RenderResult {
        let method = request.method().clone();
        let method: &[u8] = if &method[..] == b"HEAD" {
            b"GET"
        } else {
            &method
        };
        match self.render_method(method, request) {
            Some(result) => result,
            None => method_not_allowed(request, &self.allowed_methods()),
        }
    }

    /// Render for one method, or `None` when this resource does not support it. The default
    /// calls `render_get`, `render_post`, `render_put`, `render_delete` or `render_patch`.
    fn render_method(&self, method: &[u8], request: &Rc<Request>) -> Option<RenderResult> {
        match method {
            b"GET" => self.render_get(request),
            b"POST" => self.render_post(request),
            b"PUT" => self.render_put(request),
            b"DELETE" => self.render_delete(request),
            b"PATCH" => self.render_patch(request),
            _ => None,
        }
    }

    /// Twisted's `render_GET` (also used for `HEAD`); `None`: not supported.
    fn render_get(&self, _request: &Rc<Request>) -> Option<RenderResult> {
        None
    }

    /// Twisted's `render_POST`; `None`: not supported.
    fn render_post(&self, _request: &Rc<Request>) -> Option<RenderResult> {
        None
    }

    /// Twisted's `render_PUT`; `None`: not supported.
    fn render_put(&self, _request: &Rc<Request>) -> Option<RenderResult> {
        None
    }

    /// Twisted's `render_DELETE`; `None`: not supported.
    fn render_delete(&self, _request: &Rc<Request>) -> Option<RenderResult> {
        None
    }

    /// `render_PATCH`; `None`: not supported.
    fn render_patch(&self, _request: &Rc<Request>) -> Option<RenderResult> {
        None
    }

    /// The methods this resource renders, for the `Allow` header of a 405 (Twisted computes
    /// them from the `render_*` methods present; here the resource lists them). `HEAD` is added
    /// when `GET` is listed. The default is empty.
    fn allowed_methods(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// The child named `name` (one path segment, percent-decoded), or `None` for a 404
    /// (Twisted's `getChildWithDefault`).
    fn get_child(&self, _name: &[u8], _request: &Rc<Request>) -> Option<Rc<dyn Resource>> {
        None
    }

    /// A leaf renders every path below it: the walk stops here (Twisted's `isLeaf`).
    fn is_leaf(&self) -> bool {
        false
    }
}

/// Walk from `root` along the request's path (Twisted's `getChildForRequest`): each step moves
/// one segment from [`Request::postpath`] to [`Request::prepath`]; a leaf stops the walk, and a
/// missing child gives a [`NoResource`].
pub fn get_child_for_request(root: &Rc<dyn Resource>, request: &Rc<Request>) -> Rc<dyn Resource> {
    let mut resource = root.clone();
    while !resource.is_leaf() {
        let Some(name) = request.pop_postpath() else {
            break;
        };
        resource = match resource.get_child(&name, request) {
            Some(child) => child,
            None => Rc::new(NoResource::new()),
        };
    }
    resource
}

/// Escape `&`, `<`, `>` and `"` for HTML text.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Set `code` and an HTML content type on `request`, and return the HTML error page body
/// (Twisted's `ErrorPage.render`).
pub fn error_page(request: &Request, code: u16, brief: &str, detail: &str) -> RenderResult {
    request.set_response_code(code);
    let _ = request.set_header("Content-Type", "text/html; charset=utf-8");
    let brief = html_escape(brief);
    let detail = html_escape(detail);
    RenderResult::Body(
        format!(
            "\n<html>\n  <head><title>{code} - {brief}</title></head>\n  <body>\n    <h1>{brief}</h1>\n    <p>{detail}</p>\n  </body>\n</html>\n"
        )
        .into(),
    )
}

/// Answer 405 Method Not Allowed with an `Allow` header listing `allowed` (plus `HEAD` when
/// `GET` is listed).
pub fn method_not_allowed(request: &Request, allowed: &[&'static str]) -> RenderResult {
    let mut methods: Vec<&str> = allowed.to_vec();
    if methods.contains(&"GET") && !methods.contains(&"HEAD") {
        methods.push("HEAD");
    }
    let allow = methods.join(", ");
    let _ = request.set_header("Allow", allow.as_bytes());
    let method = String::from_utf8_lossy(request.method()).into_owned();
    let detail = if methods.is_empty() {
        format!("The method {method} is not allowed here.")
    } else {
        format!("The method {method} is not allowed here; allowed: {allow}.")
    };
    error_page(request, 405, "Method Not Allowed", &detail)
}

/// An error page leaf: every request below it gets `code` with an HTML page (Twisted's
/// `ErrorPage`).
#[derive(Debug, Clone)]
pub struct ErrorPage {
    /// The status code.
    pub code: u16,
    /// The title.
    pub brief: String,
    /// The explanation.
    pub detail: String,
}

impl ErrorPage {
    /// An error page with this code, title and explanation.
    pub fn new(code: u16, brief: impl Into<String>, detail: impl Into<String>) -> ErrorPage {
        ErrorPage {
            code,
            brief: brief.into(),
            detail: detail.into(),
        }
    }
}

impl Resource for ErrorPage {
    fn render(&self, request: &Rc<Request>) -> RenderResult {
        error_page(request, self.code, &self.brief, &self.detail)
    }

    fn is_leaf(&self) -> bool {
        true
    }
}

/// The 404 leaf (Twisted's `NoResource`).
#[derive(Debug, Clone)]
pub struct NoResource(ErrorPage);

impl NoResource {
    /// A 404 "No Such Resource" page.
    pub fn new() -> NoResource {
        NoResource(ErrorPage::new(
            404,
            "No Such Resource",
            "Sorry. No luck finding that resource.",
        ))
    }
}

impl Default for NoResource {
    fn default() -> NoResource {
        NoResource::new()
    }
}

impl Resource for NoResource {
    fn render(&self, request: &Rc<Request>) -> RenderResult {
        self.0.render(request)
    }

    fn is_leaf(&self) -> bool {
        true
    }
}

/// Fixed bytes with a content type, for `GET` and `HEAD` (Twisted's `static.Data`). A leaf.
#[derive(Debug, Clone)]
pub struct Data {
    data: Bytes,
    content_type: Bytes,
}

impl Data {
    /// Serve `data` as `content_type`.
    pub fn new(data: impl Into<Bytes>, content_type: impl Into<Bytes>) -> Data {
        Data {
            data: data.into(),
            content_type: content_type.into(),
        }
    }
}

impl Resource for Data {
    fn render_get(&self, request: &Rc<Request>) -> Option<RenderResult> {
        let _ = request.set_header("Content-Type", &self.content_type[..]);
        Some(RenderResult::Body(self.data.clone()))
    }

    fn allowed_methods(&self) -> Vec<&'static str> {
        vec!["GET"]
    }

    fn is_leaf(&self) -> bool {
        true
    }
}

/// A resource made of named children (Twisted's `Resource` used with `putChild`). Rendering the
/// tree itself (a path that ends at it) gives a 404; give it an index child named `""` for the
/// path that ends with `/`.
#[derive(Default)]
pub struct ResourceTree {
    children: RefCell<HashMap<Bytes, Rc<dyn Resource>>>,
}

impl ResourceTree {
    /// A tree with no children.
    pub fn new() -> ResourceTree {
        ResourceTree::default()
    }

    /// Add (or replace) the child at path segment `name` (Twisted's `putChild`).
    pub fn put_child(&self, name: impl AsRef<[u8]>, child: Rc<dyn Resource>) {
        self.children
            .borrow_mut()
            .insert(Bytes::copy_from_slice(name.as_ref()), child);
    }

    /// The child at `name`, if any.
    pub fn child(&self, name: &[u8]) -> Option<Rc<dyn Resource>> {
        self.children.borrow().get(name).cloned()
    }
}

impl Resource for ResourceTree {
    fn render(&self, request: &Rc<Request>) -> RenderResult {
        NoResource::new().render(request)
    }

    fn get_child(&self, name: &[u8], _request: &Rc<Request>) -> Option<Rc<dyn Resource>> {
        self.child(name)
    }
}

/// A leaf rendered by a closure, for quick tests and stubs: the closure sees every method and
/// every path below the resource.
pub struct FnResource<F>(pub F);

impl<F: Fn(&Rc<Request>) -> RenderResult> FnResource<F> {
    /// A resource rendered by `f`.
    pub fn new(f: F) -> FnResource<F> {
        FnResource(f)
    }
}

impl<F: Fn(&Rc<Request>) -> RenderResult> Resource for FnResource<F> {
    fn render(&self, request: &Rc<Request>) -> RenderResult {
        (self.0)(request)
    }

    fn is_leaf(&self) -> bool {
        true
    }
}
