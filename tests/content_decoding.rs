//! ContentDecoderAgent against a hyper server over real sockets: gzip and deflate bodies,
//! stacked and unknown codings, corrupt and truncated streams, and a gzip bomb read by a
//! consumer that pauses and then stops.

mod support;

use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::{Compress, Compression, Crc, FlushCompress};
use reactor::defer::{Deferred, Failure};
use reactor::interfaces::{IProtocol, ITransport};
use reactor::Reactor;
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::{Rc, Weak};
use std::sync::OnceLock;
use support::{reply, run, run_for, serve, wait_until, Out, Seen};
use treq::web::client::{
    read_body, Agent, ContentDecoderAgent, DecodingError, DecodingErrorKind, DeflateDecoder,
    GzipDecoder, HTTPConnectionPool, TooManyContentEncodings, DECODED_SLICE,
};
use treq::web::error::{ResponseDone, ResponseFailed};
use treq::web::http_headers::Headers;
use treq::web::iweb::IAgent;
use treq::web::response::Response;

const MIB: u64 = 1024 * 1024;

fn sample() -> Vec<u8> {
    (0..300_000u32)
        .flat_map(|i| format!("line {i} of the sample\n").into_bytes())
        .take(1_000_000)
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// One MiB of zeros as deflate blocks that stand alone (a full flush from a fresh compressor),
/// so any number of copies one after the other is a valid deflate stream.
fn mib_of_zeros() -> &'static (Vec<u8>, Crc) {
    static PIECE: OnceLock<(Vec<u8>, Crc)> = OnceLock::new();
    PIECE.get_or_init(|| {
        let zeros = vec![0u8; MIB as usize];
        let mut c = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(64 * 1024);
        c.compress_vec(&zeros, &mut out, FlushCompress::Full)
            .unwrap();
        assert_eq!(c.total_in(), MIB);
        let mut crc = Crc::new();
        crc.update(&zeros);
        (out, crc)
    })
}

/// A gzip body of `mib` MiB of zeros, streamed: header, the piece `mib` times, an empty final
/// block and the trailer.
fn bomb(mib: u64) -> Out {
    let (piece, crc_piece) = mib_of_zeros();
    let mut crc = Crc::new();
    for _ in 0..mib {
        crc.combine(crc_piece);
    }
    let mut tail = vec![0x03, 0x00];
    tail.extend_from_slice(&crc.sum().to_le_bytes());
    tail.extend_from_slice(&((mib * MIB) as u32).to_le_bytes());
    Out::Repeat {
        head: Some(vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255].into()),
        piece: piece.clone().into(),
        count: mib,
        tail: Some(tail.into()),
    }
}

/// `data` as a brotli stream (RFC 7932) of uncompressed meta-blocks: valid brotli without an
/// encoder (the decoder's own correctness is its crate's business; this checks the plumbing).
fn brotli_stored(data: &[u8]) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, bits: u32) {
            self.acc |= value << self.n;
            self.n += bits;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        fn align(&mut self) {
            if self.n > 0 {
                self.put(0, 8 - self.n);
            }
        }
    }
    let mut w = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    w.put(0, 1); // WBITS = 16
    for block in data.chunks(65536) {
        w.put(0, 1); // ISLAST = 0
        w.put(0, 2); // MNIBBLES = 4
        w.put(block.len() as u64 - 1, 16); // MLEN - 1
        w.put(1, 1); // ISUNCOMPRESSED
        w.align();
        w.out.extend_from_slice(block);
    }
    w.put(1, 1); // ISLAST
    w.put(1, 1); // ISLASTEMPTY
    w.align();
    w.out
}

fn nested_gzip(times: usize) -> Vec<u8> {
    (0..times).fold(b"deep".to_vec(), |data, _| gzip(&data))
}

fn handler(seen: &Seen) -> hyper::Response<Out> {
    let gz =
        |body: Vec<u8>, coding: &str| reply(200, &[("content-encoding", coding)], Out::full(body));
    match seen.path() {
        "/echo-headers" => {
            let values: Vec<&str> = seen
                .headers
                .iter()
                .filter(|(n, _)| n == "accept-encoding")
                .map(|(_, v)| v.as_str())
                .collect();
            reply(200, &[], Out::full(values.join("|")))
        }
        "/gzip" => gz(gzip(&sample()), "gzip"),
        "/zlib" => gz(zlib(&sample()), "deflate"),
        "/raw-deflate" => gz(raw_deflate(&sample()), "deflate"),
        // gzip applied first, then deflate.
        "/stacked" => gz(zlib(&gzip(&sample())), "gzip, deflate"),
        "/stacked-headers" => reply(
            200,
            &[
                ("content-encoding", "GZIP"),
                ("content-encoding", "Deflate"),
            ],
            Out::full(raw_deflate(&gzip(&sample()))),
        ),
        "/unknown" => gz(b"not really brotli".to_vec(), "br"),
        "/partly-known" => gz(gzip(b"inner"), "br, gzip"),
        "/corrupt" => {
            let mut body = gzip(&sample());
            let middle = body.len() / 2;
            for b in &mut body[middle..middle + 16] {
                *b ^= 0x5a;
            }
            gz(body, "gzip")
        }
        "/truncated" => {
            let body = gzip(&sample());
            gz(body[..body.len() / 2].to_vec(), "gzip")
        }
        "/brotli" => gz(brotli_stored(&sample()), "br"),
        "/gzip-then-brotli" => gz(brotli_stored(&gzip(&sample())), "gzip, br"),
        "/brotli-truncated" => {
            let body = brotli_stored(&sample());
            gz(body[..body.len() - 100].to_vec(), "br")
        }
        // A metadata meta-block with its reserved bit set.
        "/brotli-corrupt" => gz(vec![0x1c, 0, 0, 0], "br"),
        #[cfg(feature = "zstd")]
        "/zstd" => gz(zstd_frames(&[&sample()], None), "zstd"),
        #[cfg(feature = "zstd")]
        "/zstd-two-frames" => gz(zstd_frames(&[b"first ", b"second"], None), "zstd"),
        #[cfg(feature = "zstd")]
        "/zstd-truncated" => {
            let body = zstd_frames(&[&sample()], None);
            gz(body[..body.len() - 10].to_vec(), "zstd")
        }
        #[cfg(feature = "zstd")]
        "/zstd-corrupt" => gz(
            b"\x28\xb5\x2f\xfd garbage after a magic number".to_vec(),
            "zstd",
        ),
        // A frame that declares a 128 MiB window: more than a decoder must give.
        #[cfg(feature = "zstd")]
        "/zstd-huge-window" => gz(zstd_frames(&[&vec![7u8; 9 << 20]], Some(27)), "zstd"),
        "/five" => gz(nested_gzip(5), "gzip,gzip,gzip,gzip,gzip"),
        "/six" => gz(nested_gzip(6), "gzip,gzip,gzip,gzip,gzip,gzip"),
        "/bomb" => {
            let mib = seen.param("mib").unwrap().parse().unwrap();
            reply(200, &[("content-encoding", "gzip")], bomb(mib))
        }
        _ => reply(404, &[], Out::full("no such page")),
    }
}

fn decoder_agent(reactor: &Reactor) -> ContentDecoderAgent {
    let agent = Rc::new(Agent::new(reactor).pool(HTTPConnectionPool::new(reactor, true)));
    ContentDecoderAgent::new(
        agent,
        vec![
            (b"gzip", Rc::new(GzipDecoder)),
            (b"deflate", Rc::new(DeflateDecoder)),
        ],
    )
}

fn get(reactor: &Reactor, agent: &dyn IAgent, url: &str) -> Response {
    run(reactor, agent.request("GET", url, None, None), 10.0).unwrap()
}

fn body(reactor: &Reactor, response: &Response) -> Result<Vec<u8>, Failure> {
    run(reactor, read_body(response), 20.0).map(|b| b.to_vec())
}

fn decoding_error(f: &Failure) -> &DecodingError {
    let failed = f.value::<ResponseFailed>().unwrap_or_else(|| panic!("{f}"));
    failed.reasons[0]
        .value::<DecodingError>()
        .unwrap_or_else(|| panic!("{f}"))
}

// ---------------------------------------------------------------------------------------------
// Decoding.

#[test]
fn accept_encoding_lists_the_decoders() {
    let server = support::serve(handler);
    let reactor = Reactor::new();
    let agent = decoder_agent(&reactor);
    let response = get(&reactor, &agent, &server.url("/echo-headers"));
    assert_eq!(body(&reactor, &response).unwrap(), b"gzip,deflate");
    // Added after the caller's own, as Twisted does.
    let mut headers = Headers::new();
    headers.add_raw_header("Accept-Encoding", "br").unwrap();
    let d = agent.request("GET", &server.url("/echo-headers"), Some(headers), None);
    let response = run(&reactor, d, 10.0).unwrap();
    assert_eq!(body(&reactor, &response).unwrap(), b"br|gzip,deflate");
    let gzip_only = ContentDecoderAgent::gzip(Rc::new(Agent::new(&reactor)));
    let response = get(&reactor, &gzip_only, &server.url("/echo-headers"));
    assert_eq!(body(&reactor, &response).unwrap(), b"gzip");
}

#[test]
fn gzip_and_deflate_bodies_are_decoded_and_headers_rewritten() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = decoder_agent(&reactor);
    for path in [
        "/gzip",
        "/zlib",
        "/raw-deflate",
        "/stacked",
        "/stacked-headers",
    ] {
        let response = get(&reactor, &agent, &server.url(path));
        assert_eq!(response.length, None, "{path}");
        assert!(!response.headers.has_header("content-encoding"), "{path}");
        assert!(!response.headers.has_header("content-length"), "{path}");
        assert!(body(&reactor, &response).unwrap() == sample(), "{path}");
    }
    // One persistent connection: every decoded body ended cleanly.
    assert_eq!(server.connections(), 1);
}

#[test]
fn head_of_a_gzip_resource_has_an_empty_body() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = decoder_agent(&reactor);
    let d = agent.request("HEAD", &server.url("/gzip"), None, None);
    let response = run(&reactor, d, 10.0).unwrap();
    assert_eq!(body(&reactor, &response).unwrap(), b"");
}

#[test]
fn unknown_coding_is_left_alone() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = decoder_agent(&reactor);
    let response = get(&reactor, &agent, &server.url("/unknown"));
    assert_eq!(response.length, Some(17));
    assert_eq!(
        &response.headers.get_first("content-encoding").unwrap()[..],
        b"br"
    );
    assert_eq!(body(&reactor, &response).unwrap(), b"not really brotli");

    let response = get(&reactor, &agent, &server.url("/partly-known"));
    assert_eq!(
        &response.headers.get_first("content-encoding").unwrap()[..],
        b"br"
    );
    assert_eq!(response.length, None);
    assert_eq!(body(&reactor, &response).unwrap(), b"inner");
}

#[test]
fn corrupt_and_truncated_streams_fail_the_body() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = decoder_agent(&reactor);
    let response = get(&reactor, &agent, &server.url("/corrupt"));
    let f = body(&reactor, &response).unwrap_err();
    let e = decoding_error(&f);
    assert_eq!(e.encoding, "gzip");
    assert!(matches!(e.kind, DecodingErrorKind::Corrupt(_)), "{f}");
    assert!(f.to_string().contains("not valid gzip data"), "{f}");

    let response = get(&reactor, &agent, &server.url("/truncated"));
    let f = body(&reactor, &response).unwrap_err();
    assert_eq!(decoding_error(&f).kind, DecodingErrorKind::Truncated);
    assert!(f.to_string().contains("ended in the middle"), "{f}");
}

#[test]
fn at_most_five_stacked_codings() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = decoder_agent(&reactor);
    let response = get(&reactor, &agent, &server.url("/five"));
    assert_eq!(body(&reactor, &response).unwrap(), b"deep");
    let f = run(
        &reactor,
        agent.request("GET", &server.url("/six"), None, None),
        10.0,
    )
    .unwrap_err();
    let failed = f.value::<ResponseFailed>().unwrap();
    let e = failed.reasons[0]
        .value::<TooManyContentEncodings>()
        .unwrap();
    assert_eq!(e.limit, 5);
    assert!(f.to_string().contains("more than 5 content-codings"), "{f}");
}

// ---------------------------------------------------------------------------------------------
// The bomb.

/// Counts what it gets; pauses on its first piece when told, and for a few milliseconds each
/// time another `pause_every` bytes have arrived; stops after `stop_after` bytes.
struct Reader {
    reactor: Reactor,
    me: Weak<Reader>,
    transport: RefCell<Option<Rc<dyn ITransport>>>,
    received: Cell<u64>,
    biggest: Cell<usize>,
    pause_on_first: Cell<bool>,
    pause_every: u64,
    pauses: Cell<usize>,
    paused: Cell<bool>,
    received_while_paused: Cell<u64>,
    stop_after: u64,
    done: Deferred<Failure>,
}

impl Reader {
    fn new(reactor: &Reactor, stop_after: u64, pause_every: u64) -> Rc<Reader> {
        Rc::new_cyclic(|me| Reader {
            reactor: reactor.clone(),
            me: me.clone(),
            transport: RefCell::new(None),
            received: Cell::new(0),
            biggest: Cell::new(0),
            pause_on_first: Cell::new(true),
            pause_every,
            pauses: Cell::new(0),
            paused: Cell::new(false),
            received_while_paused: Cell::new(0),
            stop_after,
            done: Deferred::new(),
        })
    }

    fn transport(&self) -> Rc<dyn ITransport> {
        self.transport.borrow().clone().unwrap()
    }

    fn pause(&self) {
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
        self.transport().pause_producing();
    }

    fn resume(&self) {
        self.paused.set(false);
        self.transport().resume_producing();
    }
}

impl IProtocol for Reader {
    fn make_connection(&self, transport: Rc<dyn ITransport>) {
        *self.transport.borrow_mut() = Some(transport);
    }
    fn data_received(&self, data: bytes::Bytes) {
        if self.paused.get() {
            let n = self.received_while_paused.get();
            self.received_while_paused.set(n + data.len() as u64);
        }
        let before = self.received.get();
        self.received.set(before + data.len() as u64);
        self.biggest.set(self.biggest.get().max(data.len()));
        if self.received.get() >= self.stop_after {
            self.transport().stop_producing();
            return;
        }
        if self.pause_on_first.replace(false) {
            self.pause();
        } else if before / self.pause_every != self.received.get() / self.pause_every
            && !self.paused.get()
        {
            self.pause();
            let me = self.me.clone();
            self.reactor.call_later(0.005, move || {
                if let Some(me) = me.upgrade() {
                    me.resume();
                }
            });
        }
    }
    fn connection_lost(&self, reason: Failure) {
        let _ = self.done.callback(reason);
    }
}

#[test]
fn gzip_bomb_is_decoded_only_as_fast_as_it_is_read() {
    // 10 GiB of zeros in about 10 MiB of gzip.
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = decoder_agent(&reactor);
    let response = get(&reactor, &agent, &server.url("/bomb?mib=10240"));
    // Not read yet: the decoded body waits, bounded, and the connection stops.
    run_for(&reactor, 0.2);
    let reader = Reader::new(&reactor, 8 * MIB, u64::MAX);
    response.deliver_body(reader.clone()).unwrap();
    assert!(reader.paused.get(), "the reader paused on its first piece");
    // What the undelivered body kept (at most 64 KiB and a slice) is handed over at once,
    // as Twisted does; then nothing more while the reader is paused.
    let after_pause = reader.received.get();
    run_for(&reactor, 0.3);
    assert_eq!(reader.received.get(), after_pause);
    assert!(
        after_pause <= 64 * 1024 + 2 * DECODED_SLICE as u64,
        "{after_pause} bytes handed out before the reader resumed"
    );
    reader.resume();
    let reason = run(&reactor, reader.done.clone(), 20.0).unwrap();
    assert!(reason.check::<ResponseFailed>(), "stopped: {reason}");
    let received = reader.received.get();
    assert!(
        (8 * MIB..8 * MIB + DECODED_SLICE as u64).contains(&received),
        "{received}"
    );
    assert!(reader.biggest.get() <= DECODED_SLICE);
    // Stopping closed the connection: the server sees it end long before 10 MiB were sent.
    assert!(
        wait_until(&reactor, 10.0, || server.closed() == 1),
        "connection still open"
    );
}

#[test]
fn big_gzip_body_streams_whole_with_pauses() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = decoder_agent(&reactor);
    let response = get(&reactor, &agent, &server.url("/bomb?mib=64"));
    let reader = Reader::new(&reactor, u64::MAX, 8 * MIB);
    response.deliver_body(reader.clone()).unwrap();
    let after_pause = reader.received.get();
    run_for(&reactor, 0.1);
    assert_eq!(reader.received.get(), after_pause);
    // From here on, only pauses during streaming count.
    reader.received_while_paused.set(0);
    reader.resume();
    let reason = run(&reactor, reader.done.clone(), 60.0).unwrap();
    assert!(reason.check::<ResponseDone>(), "{reason}");
    // Paused every 8 MiB, and not a byte arrived while paused.
    assert!(reader.pauses.get() >= 8, "{} pauses", reader.pauses.get());
    assert_eq!(reader.received_while_paused.get(), 0);
    assert_eq!(reader.received.get(), 64 * MIB);
    assert!(reader.biggest.get() <= DECODED_SLICE);
}

#[test]
fn a_pause_while_kept_bytes_are_delivered_holds_a_plain_body_too() {
    // No decoder: the gzip bytes come as they are, through the connection's own body channel.
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = Agent::new(&reactor);
    let response = get(&reactor, &agent, &server.url("/bomb?mib=10240"));
    run_for(&reactor, 0.2);
    let reader = Reader::new(&reactor, u64::MAX, u64::MAX);
    response.deliver_body(reader.clone()).unwrap();
    let kept = reader.received.get();
    assert!(kept > 0, "bytes were kept before deliver_body");
    run_for(&reactor, 0.3);
    assert_eq!(reader.received.get(), kept, "the reader's pause was lost");
    reader.resume();
    let reason = run(&reactor, reader.done.clone(), 20.0).unwrap();
    assert!(reason.check::<ResponseDone>(), "{reason}");
    assert!(reader.received.get() > 10 * MIB);
}

#[cfg(feature = "brotli")]
#[test]
fn brotli_bodies_are_decoded_with_the_feature() {
    use treq::web::client::BrotliDecoder;
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = ContentDecoderAgent::new(
        Rc::new(Agent::new(&reactor)),
        vec![
            (b"gzip", Rc::new(GzipDecoder)),
            (b"br", Rc::new(BrotliDecoder)),
        ],
    );
    let response = get(&reactor, &agent, &server.url("/echo-headers"));
    assert_eq!(body(&reactor, &response).unwrap(), b"gzip,br");
    for path in ["/brotli", "/gzip-then-brotli"] {
        let response = get(&reactor, &agent, &server.url(path));
        assert!(!response.headers.has_header("content-encoding"), "{path}");
        assert!(body(&reactor, &response).unwrap() == sample(), "{path}");
    }
    let response = get(&reactor, &agent, &server.url("/brotli-truncated"));
    let f = body(&reactor, &response).unwrap_err();
    assert_eq!(decoding_error(&f).kind, DecodingErrorKind::Truncated);
    let response = get(&reactor, &agent, &server.url("/brotli-corrupt"));
    let f = body(&reactor, &response).unwrap_err();
    let e = decoding_error(&f);
    assert_eq!(e.encoding, "br");
    assert!(matches!(e.kind, DecodingErrorKind::Corrupt(_)), "{f}");
}

#[cfg(feature = "brotli")]
#[test]
fn brotli_is_decoded_in_bounded_slices_as_read() {
    use treq::web::client::BrotliDecoder;
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = ContentDecoderAgent::new(
        Rc::new(Agent::new(&reactor)),
        vec![(b"br", Rc::new(BrotliDecoder))],
    );
    let response = get(&reactor, &agent, &server.url("/brotli"));
    let reader = Reader::new(&reactor, u64::MAX, 100_000);
    response.deliver_body(reader.clone()).unwrap();
    reader.received_while_paused.set(0);
    reader.resume();
    let reason = run(&reactor, reader.done.clone(), 20.0).unwrap();
    assert!(reason.check::<ResponseDone>(), "{reason}");
    assert_eq!(reader.received.get(), sample().len() as u64);
    assert!(reader.biggest.get() <= DECODED_SLICE);
    assert!(reader.pauses.get() >= 5);
    assert_eq!(reader.received_while_paused.get(), 0);
}

/// `pieces` as one zstd frame each (streamed, so no content size is pledged); `window_log`
/// forces the frame's declared window.
#[cfg(feature = "zstd")]
fn zstd_frames(pieces: &[&[u8]], window_log: Option<u32>) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    for piece in pieces {
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        if let Some(log) = window_log {
            encoder
                .set_parameter(zstd::stream::raw::CParameter::WindowLog(log))
                .unwrap();
        }
        encoder.write_all(piece).unwrap();
        out.extend(encoder.finish().unwrap());
    }
    out
}

#[cfg(feature = "zstd")]
fn zstd_agent(reactor: &Reactor) -> ContentDecoderAgent {
    ContentDecoderAgent::new(
        Rc::new(Agent::new(reactor)),
        vec![(b"zstd", Rc::new(treq::web::client::ZstdDecoder))],
    )
}

#[cfg(feature = "zstd")]
#[test]
fn zstd_bodies_are_decoded_with_the_feature() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = zstd_agent(&reactor);
    let response = get(&reactor, &agent, &server.url("/echo-headers"));
    assert_eq!(body(&reactor, &response).unwrap(), b"zstd");
    let response = get(&reactor, &agent, &server.url("/zstd"));
    assert!(!response.headers.has_header("content-encoding"));
    assert!(body(&reactor, &response).unwrap() == sample());
    let response = get(&reactor, &agent, &server.url("/zstd-two-frames"));
    assert_eq!(body(&reactor, &response).unwrap(), b"first second");
    let response = get(&reactor, &agent, &server.url("/zstd-truncated"));
    let f = body(&reactor, &response).unwrap_err();
    assert_eq!(decoding_error(&f).kind, DecodingErrorKind::Truncated);
    for path in ["/zstd-corrupt", "/zstd-huge-window"] {
        let response = get(&reactor, &agent, &server.url(path));
        let Err(f) = body(&reactor, &response) else {
            panic!("{path} was decoded");
        };
        let e = decoding_error(&f);
        assert_eq!(e.encoding, "zstd");
        assert!(
            matches!(e.kind, DecodingErrorKind::Corrupt(_)),
            "{path}: {f}"
        );
    }
}

#[cfg(feature = "zstd")]
#[test]
fn zstd_is_decoded_in_bounded_slices_as_read() {
    let server = serve(handler);
    let reactor = Reactor::new();
    let agent = zstd_agent(&reactor);
    let response = get(&reactor, &agent, &server.url("/zstd"));
    let reader = Reader::new(&reactor, u64::MAX, 100_000);
    response.deliver_body(reader.clone()).unwrap();
    reader.received_while_paused.set(0);
    reader.resume();
    let reason = run(&reactor, reader.done.clone(), 20.0).unwrap();
    assert!(reason.check::<ResponseDone>(), "{reason}");
    assert_eq!(reader.received.get(), sample().len() as u64);
    assert!(reader.biggest.get() <= DECODED_SLICE);
    assert_eq!(reader.received_while_paused.get(), 0);
}
