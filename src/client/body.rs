//! Request bodies: what `data=`, `files=` and `json=` accept, and how treq turns them into an
//! [`IBodyProducer`] with a `Content-Type`.

use super::error::RequestBodyError;
use super::params::{flatten, form_encode, Values};
use crate::multipart::{MultiPartField, MultiPartProducer};
use crate::web::client::{BytesBodyProducer, FileBodyProducer};
use crate::web::iweb::IBodyProducer;
use bytes::Bytes;
use reactor::defer::Failure;
use reactor::interfaces::IReactorTime;
use reactor::Reactor;
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A reader that can also seek (so its length is known): a `std::fs::File`, a `Cursor`, ...
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// What `data=` takes (treq's `data`): bytes, a form, a file or reader, a body producer, or
/// anything else for a custom [`data_to_body_producer`](super::HTTPClient::data_to_body_producer).
pub enum Data {
    /// Raw bytes, sent as they are; the caller's `Content-Type` is left alone.
    Bytes(Bytes),
    /// Form fields, sent `application/x-www-form-urlencoded` (a list value repeats the key).
    Form(Vec<(Vec<u8>, Vec<u8>)>),
    /// A seekable reader (a file): streamed, with its length measured by seeking.
    File(Box<dyn ReadSeek>),
    /// A reader of unknown length: streamed chunked.
    Reader(Box<dyn Read>),
    /// A body producer, used as it is.
    Producer(Rc<dyn IBodyProducer>),
    /// A value of the caller's own type, for a custom `data_to_body_producer` to turn into a
    /// producer (Python code would dispatch on `isinstance`; here it is a downcast).
    Other(Rc<dyn Any>),
}

impl Data {
    /// Form fields from `(name, value)` pairs; a list value repeats the name.
    pub fn form<I, K, V>(pairs: I) -> Data
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: Into<Values>,
    {
        Data::Form(flatten(pairs))
    }

    /// A body streamed from any reader, of unknown length.
    pub fn reader(reader: impl Read + 'static) -> Data {
        Data::Reader(Box::new(reader))
    }

    /// A body streamed from a seekable reader, of known length.
    pub fn file(reader: impl Read + Seek + 'static) -> Data {
        Data::File(Box::new(reader))
    }

    /// A value for a custom `data_to_body_producer`.
    pub fn other(value: impl Any) -> Data {
        Data::Other(Rc::new(value))
    }

    /// Whether treq would send no body for this (`if data:` on empty bytes).
    fn is_empty_bytes(&self) -> bool {
        matches!(self, Data::Bytes(b) if b.is_empty())
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::Bytes(b) => write!(f, "Data::Bytes({} bytes)", b.len()),
            Data::Form(fields) => write!(f, "Data::Form({} fields)", fields.len()),
            Data::File(_) => f.write_str("Data::File"),
            Data::Reader(_) => f.write_str("Data::Reader"),
            Data::Producer(p) => write!(f, "Data::Producer(length {:?})", p.length()),
            Data::Other(_) => f.write_str("Data::Other"),
        }
    }
}

macro_rules! bytes_data {
    ($($t:ty),*) => {$(
        impl From<$t> for Data {
            fn from(v: $t) -> Data {
                Data::Bytes(Bytes::copy_from_slice(AsRef::<[u8]>::as_ref(&v)))
            }
        }
    )*};
}
bytes_data!(&str, &String, &[u8], &Vec<u8>);

impl From<String> for Data {
    fn from(v: String) -> Data {
        Data::Bytes(Bytes::from(v))
    }
}
impl From<Vec<u8>> for Data {
    fn from(v: Vec<u8>) -> Data {
        Data::Bytes(Bytes::from(v))
    }
}
impl From<Bytes> for Data {
    fn from(v: Bytes) -> Data {
        Data::Bytes(v)
    }
}
impl<const N: usize> From<&[u8; N]> for Data {
    fn from(v: &[u8; N]) -> Data {
        Data::Bytes(Bytes::copy_from_slice(v))
    }
}
impl From<std::fs::File> for Data {
    fn from(v: std::fs::File) -> Data {
        Data::File(Box::new(v))
    }
}
impl From<Rc<dyn IBodyProducer>> for Data {
    fn from(v: Rc<dyn IBodyProducer>) -> Data {
        Data::Producer(v)
    }
}
impl<P: IBodyProducer + 'static> From<Rc<P>> for Data {
    fn from(v: Rc<P>) -> Data {
        Data::Producer(v)
    }
}
impl<K: AsRef<[u8]>, V: Into<Values>> From<Vec<(K, V)>> for Data {
    fn from(v: Vec<(K, V)>) -> Data {
        Data::form(v)
    }
}
impl<K: AsRef<[u8]>, V: Into<Values>, const N: usize> From<[(K, V); N]> for Data {
    fn from(v: [(K, V); N]) -> Data {
        Data::form(v)
    }
}
impl<K: AsRef<[u8]>, V: Into<Values>> From<HashMap<K, V>> for Data {
    fn from(v: HashMap<K, V>) -> Data {
        Data::form(v)
    }
}
impl<K: AsRef<[u8]>, V: Into<Values>> From<BTreeMap<K, V>> for Data {
    fn from(v: BTreeMap<K, V>) -> Data {
        Data::form(v)
    }
}

/// Turns request data into a body producer (treq's `data_to_body_producer`).
pub type DataToBodyProducer = Rc<dyn Fn(Data) -> Result<Rc<dyn IBodyProducer>, Failure>>;

/// treq's default conversion (`IBodyProducer(data)`): bytes are written at once, files and
/// readers streamed with [`FileBodyProducer`] on the thread's default reactor, producers passed
/// through, forms URL-encoded. [`Data::Other`] is refused with
/// [`RequestBodyError::UnsupportedData`].
pub fn default_data_to_body_producer(data: Data) -> Result<Rc<dyn IBodyProducer>, Failure> {
    data_to_producer(data, &(Rc::new(Reactor::default()) as Rc<dyn IReactorTime>))
}

/// The default conversion, with files read on `clock`.
pub(crate) fn data_to_producer(
    data: Data,
    clock: &Rc<dyn IReactorTime>,
) -> Result<Rc<dyn IBodyProducer>, Failure> {
    Ok(match data {
        Data::Bytes(b) => Rc::new(BytesBodyProducer::new(b)),
        Data::Form(fields) => Rc::new(BytesBodyProducer::new(form_encode(&fields))),
        Data::File(r) => {
            Rc::new(FileBodyProducer::with_clock(clock.clone(), r).map_err(Failure::new)?)
        }
        Data::Reader(r) => Rc::new(FileBodyProducer::from_reader(clock.clone(), r)),
        Data::Producer(p) => p,
        Data::Other(_) => return Err(Failure::new(RequestBodyError::UnsupportedData)),
    })
}

/// Where a multipart file's bytes come from.
pub enum FileBody {
    /// A file opened when the request is sent; its name is the part's default file name.
    Path(PathBuf),
    /// An open file (no file name unless one is given).
    File(std::fs::File),
    /// A reader of unknown length.
    Reader(Box<dyn Read>),
    /// Bytes in memory.
    Bytes(Bytes),
    /// Any body producer.
    Producer(Rc<dyn IBodyProducer>),
}

impl From<&Path> for FileBody {
    fn from(v: &Path) -> FileBody {
        FileBody::Path(v.to_owned())
    }
}
impl From<PathBuf> for FileBody {
    fn from(v: PathBuf) -> FileBody {
        FileBody::Path(v)
    }
}
impl From<std::fs::File> for FileBody {
    fn from(v: std::fs::File) -> FileBody {
        FileBody::File(v)
    }
}
impl From<Bytes> for FileBody {
    fn from(v: Bytes) -> FileBody {
        FileBody::Bytes(v)
    }
}
impl From<Vec<u8>> for FileBody {
    fn from(v: Vec<u8>) -> FileBody {
        FileBody::Bytes(v.into())
    }
}
impl From<&'static [u8]> for FileBody {
    fn from(v: &'static [u8]) -> FileBody {
        FileBody::Bytes(Bytes::from_static(v))
    }
}
impl<const N: usize> From<&'static [u8; N]> for FileBody {
    fn from(v: &'static [u8; N]) -> FileBody {
        FileBody::Bytes(Bytes::from_static(v))
    }
}
impl From<Rc<dyn IBodyProducer>> for FileBody {
    fn from(v: Rc<dyn IBodyProducer>) -> FileBody {
        FileBody::Producer(v)
    }
}

/// One `files=` entry: `(field, file)`, `(field, filename, file)` or
/// `(field, filename, content_type, file)`, as in treq.
pub struct FilePart {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    body: FileBody,
}

impl<K: Into<String>, F: Into<FileBody>> From<(K, F)> for FilePart {
    fn from((name, body): (K, F)) -> FilePart {
        let body = body.into();
        let filename = match &body {
            FileBody::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            _ => None,
        };
        FilePart {
            name: name.into(),
            filename,
            content_type: None,
            body,
        }
    }
}

impl<K: Into<String>, N: Into<String>, F: Into<FileBody>> From<(K, N, F)> for FilePart {
    fn from((name, filename, body): (K, N, F)) -> FilePart {
        FilePart {
            name: name.into(),
            filename: Some(filename.into()),
            content_type: None,
            body: body.into(),
        }
    }
}

impl<K: Into<String>, N: Into<String>, C: Into<String>, F: Into<FileBody>> From<(K, N, C, F)>
    for FilePart
{
    fn from((name, filename, content_type, body): (K, N, C, F)) -> FilePart {
        FilePart {
            name: name.into(),
            filename: Some(filename.into()),
            content_type: Some(content_type.into()),
            body: body.into(),
        }
    }
}

impl FilePart {
    /// The multipart field: content type given, else guessed from the file name, else
    /// `application/octet-stream`.
    fn into_field(self, clock: &Rc<dyn IReactorTime>) -> Result<MultiPartField, Failure> {
        let content_type = self.content_type.unwrap_or_else(|| {
            self.filename
                .as_deref()
                .and_then(|f| mime_guess::from_path(f).first_raw())
                .unwrap_or("application/octet-stream")
                .to_owned()
        });
        let producer: Rc<dyn IBodyProducer> = match self.body {
            FileBody::Path(path) => {
                let file = std::fs::File::open(&path).map_err(|e| {
                    Failure::new(RequestBodyError::File {
                        path,
                        error: e.to_string(),
                    })
                })?;
                Rc::new(FileBodyProducer::with_clock(clock.clone(), file).map_err(Failure::new)?)
            }
            FileBody::File(file) => {
                Rc::new(FileBodyProducer::with_clock(clock.clone(), file).map_err(Failure::new)?)
            }
            FileBody::Reader(r) => Rc::new(FileBodyProducer::from_reader(clock.clone(), r)),
            FileBody::Bytes(b) => Rc::new(BytesBodyProducer::new(b)),
            FileBody::Producer(p) => p,
        };
        Ok(MultiPartField::File {
            name: self.name,
            filename: self.filename,
            content_type,
            producer,
        })
    }
}

/// A request's body producer (if any) and the `Content-Type` it dictates (if any).
pub(crate) type ChosenBody = (Option<Rc<dyn IBodyProducer>>, Option<String>);

/// The body of a request, chosen as treq does: `files` (multipart, with `data` as its text
/// fields), else `data` (a form is URL-encoded; anything else goes through the converter),
/// else `json`. The second value is the `Content-Type` the body dictates, if any.
pub(crate) fn request_body(
    data: Option<Data>,
    files: Vec<FilePart>,
    json: Option<Vec<u8>>,
    converter: Option<&DataToBodyProducer>,
    clock: &Rc<dyn IReactorTime>,
) -> Result<ChosenBody, Failure> {
    if json.is_some() && (data.is_some() || !files.is_empty()) {
        return Err(Failure::new(RequestBodyError::JsonWithDataOrFiles));
    }
    if !files.is_empty() {
        let mut fields = match data {
            None => Vec::new(),
            Some(Data::Form(pairs)) => pairs
                .into_iter()
                .map(|(k, v)| MultiPartField::text(String::from_utf8_lossy(&k), v))
                .collect(),
            Some(Data::Bytes(b)) if b.is_empty() => Vec::new(),
            Some(_) => return Err(Failure::new(RequestBodyError::FilesWithNonFormData)),
        };
        for part in files {
            fields.push(part.into_field(clock)?);
        }
        let producer = MultiPartProducer::new(fields);
        let content_type = producer.content_type();
        return Ok((Some(Rc::new(producer)), Some(content_type)));
    }
    if let Some(json) = json {
        let producer: Rc<dyn IBodyProducer> = Rc::new(BytesBodyProducer::new(json));
        return Ok((
            Some(producer),
            Some("application/json; charset=UTF-8".to_owned()),
        ));
    }
    match data {
        None => Ok((None, None)),
        Some(d) if d.is_empty_bytes() => Ok((None, None)),
        Some(Data::Form(fields)) => {
            let producer: Rc<dyn IBodyProducer> =
                Rc::new(BytesBodyProducer::new(form_encode(&fields)));
            Ok((
                Some(producer),
                Some("application/x-www-form-urlencoded".to_owned()),
            ))
        }
        Some(d) => {
            let producer = match converter {
                Some(convert) => convert(d)?,
                None => data_to_producer(d, clock)?,
            };
            Ok((Some(producer), None))
        }
    }
}
