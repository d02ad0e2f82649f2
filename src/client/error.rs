//! Errors of building a request in the treq layer.

use std::error::Error;
use std::fmt;
use std::path::PathBuf;

/// The request's body arguments cannot be turned into a body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestBodyError {
    /// `json` was given together with `data` or `files` (treq refuses the mix).
    JsonWithDataOrFiles,
    /// `files` was given with `data` that is not a form: multipart text fields come from a form.
    FilesWithNonFormData,
    /// [`Data::Other`](super::Data::Other) reached the default converter, which cannot know
    /// what to make of it: give the client a `data_to_body_producer` that does.
    UnsupportedData,
    /// A file named in `files` could not be opened.
    File {
        /// The path.
        path: PathBuf,
        /// What the OS said.
        error: String,
    },
    /// The `json` value could not be serialized.
    Json(String),
}

impl fmt::Display for RequestBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestBodyError::JsonWithDataOrFiles => {
                f.write_str("json cannot be combined with data or files")
            }
            RequestBodyError::FilesWithNonFormData => {
                f.write_str("data given with files must be form fields (name, value pairs)")
            }
            RequestBodyError::UnsupportedData => f.write_str(
                "no body producer for this data: give the client a data_to_body_producer that handles it",
            ),
            RequestBodyError::File { path, error } => {
                write!(f, "cannot open {} for upload: {error}", path.display())
            }
            RequestBodyError::Json(e) => write!(f, "cannot serialize the json body: {e}"),
        }
    }
}
impl Error for RequestBodyError {}

/// The method is not ASCII (treq upper-cases ASCII methods and refuses the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMethod {
    /// The method as given.
    pub method: String,
}

impl fmt::Display for InvalidMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid HTTP method {:?}: must be ASCII", self.method)
    }
}
impl Error for InvalidMethod {}

/// `connect_timeout` was given for a request whose client's agent cannot time its connects
/// alone ([`IAgent::with_connect_timeout`](crate::web::iweb::IAgent::with_connect_timeout)
/// gave `None`): give the client an [`Agent`](crate::web::client::Agent), or set the timeout
/// on the agent itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectTimeoutUnsupported;

impl fmt::Display for ConnectTimeoutUnsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connect_timeout: the client's agent cannot time out connecting per request")
    }
}

impl Error for ConnectTimeoutUnsupported {}
