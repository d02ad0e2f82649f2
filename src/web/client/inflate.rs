//! The `gzip` and `deflate` content-codings: [`GzipDecoder`] and [`DeflateDecoder`], streaming
//! decoders over `flate2`'s raw inflater that write into a caller-sized output slice.
//!
//! The gzip member header and trailer (RFC 1952) are parsed here, because `flate2`'s pure-Rust
//! backend inflates only raw deflate and zlib streams; the trailer's CRC-32 and length are
//! checked.

use super::content_decoder::{BodyDecoder, DecodingErrorKind, ResponseDecoder};
use flate2::{Crc, Decompress, FlushDecompress, Status};

/// A gzip header longer than this (a huge file name or extra field) is refused as corrupt.
const MAX_GZIP_HEADER: usize = 64 * 1024;

/// The `gzip` content-coding (Twisted's `GzipDecoder`). Several gzip members one after the
/// other decode as one body; bytes after the last member that do not start another one are
/// ignored (as zlib does).
#[derive(Debug, Clone, Copy, Default)]
pub struct GzipDecoder;

impl ResponseDecoder for GzipDecoder {
    fn body_decoder(&self) -> Box<dyn BodyDecoder> {
        Box::new(GzipBody {
            state: GzipState::Header(Vec::new()),
            inflate: Decompress::new(false),
            crc: Crc::new(),
        })
    }
}

/// The `deflate` content-coding: a zlib stream (RFC 1950) as the HTTP specification says, or a
/// raw deflate stream (RFC 1951) as some servers send; the first two bytes tell which.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeflateDecoder;

impl ResponseDecoder for DeflateDecoder {
    fn body_decoder(&self) -> Box<dyn BodyDecoder> {
        Box::new(DeflateBody {
            state: DeflateState::Sniff(Vec::new()),
        })
    }
}

fn corrupt(detail: impl Into<String>) -> DecodingErrorKind {
    DecodingErrorKind::Corrupt(detail.into())
}

/// One call of the inflater: `(consumed, produced, stream ended)`.
fn inflate(
    d: &mut Decompress,
    input: &[u8],
    output: &mut [u8],
) -> Result<(usize, usize, bool), DecodingErrorKind> {
    let (before_in, before_out) = (d.total_in(), d.total_out());
    let status = d
        .decompress(input, output, FlushDecompress::None)
        .map_err(|e| corrupt(format!("invalid deflate data ({e})")))?;
    let consumed = (d.total_in() - before_in) as usize;
    let produced = (d.total_out() - before_out) as usize;
    Ok((consumed, produced, status == Status::StreamEnd))
}

enum GzipState {
    /// Collecting a member header (the bytes so far).
    Header(Vec<u8>),
    Body,
    /// Collecting the 8-byte trailer.
    Trailer(Vec<u8>),
    /// A member ended; another may follow.
    Done,
}

struct GzipBody {
    state: GzipState,
    inflate: Decompress,
    crc: Crc,
}

/// The length of the gzip header at the start of `buf`, `None` while it is incomplete.
fn gzip_header_len(buf: &[u8]) -> Result<Option<usize>, DecodingErrorKind> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if buf.first().is_some_and(|&b| b != 0x1f) || buf.get(1).is_some_and(|&b| b != 0x8b) {
        return Err(corrupt("not gzip data (bad magic bytes)"));
    }
    if buf.get(2).is_some_and(|&b| b != 8) {
        return Err(corrupt("unknown gzip compression method"));
    }
    if buf.len() < 10 {
        return Ok(None);
    }
    let flags = buf[3];
    if flags & 0xe0 != 0 {
        return Err(corrupt("reserved gzip header flags set"));
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let Some(len) = buf.get(at..at + 2) else {
            return Ok(None);
        };
        at += 2 + u16::from_le_bytes([len[0], len[1]]) as usize;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            match buf
                .get(at..)
                .and_then(|rest| rest.iter().position(|&b| b == 0))
            {
                Some(nul) => at += nul + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    Ok((buf.len() >= at).then_some(at))
}

impl GzipBody {
    fn header(&mut self, input: &[u8]) -> Result<usize, DecodingErrorKind> {
        let GzipState::Header(buf) = &mut self.state else {
            unreachable!("called in the header state")
        };
        let before = buf.len();
        buf.extend_from_slice(input);
        match gzip_header_len(buf)? {
            Some(len) => {
                self.state = GzipState::Body;
                Ok(len - before)
            }
            None if buf.len() > MAX_GZIP_HEADER => Err(corrupt("gzip header too long")),
            None => Ok(input.len()),
        }
    }

    fn trailer(&mut self, input: &[u8]) -> Result<usize, DecodingErrorKind> {
        let GzipState::Trailer(buf) = &mut self.state else {
            unreachable!("called in the trailer state")
        };
        let take = input.len().min(8 - buf.len());
        buf.extend_from_slice(&input[..take]);
        if buf.len() == 8 {
            let crc = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
            let size = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
            if crc != self.crc.sum() {
                return Err(corrupt("gzip CRC-32 mismatch"));
            }
            if size != self.crc.amount() {
                return Err(corrupt("gzip length mismatch"));
            }
            self.state = GzipState::Done;
        }
        Ok(take)
    }
}

impl BodyDecoder for GzipBody {
    fn decode(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize), DecodingErrorKind> {
        match self.state {
            _ if input.is_empty() && !matches!(self.state, GzipState::Body) => Ok((0, 0)),
            GzipState::Header(_) => Ok((self.header(input)?, 0)),
            GzipState::Body => {
                let (consumed, produced, end) = inflate(&mut self.inflate, input, output)?;
                self.crc.update(&output[..produced]);
                if end {
                    self.state = GzipState::Trailer(Vec::with_capacity(8));
                }
                Ok((consumed, produced))
            }
            GzipState::Trailer(_) => Ok((self.trailer(input)?, 0)),
            GzipState::Done if input[0] == 0x1f => {
                self.inflate.reset(false);
                self.crc.reset();
                self.state = GzipState::Header(Vec::new());
                Ok((self.header(input)?, 0))
            }
            // Trailing bytes that are not another member are ignored.
            GzipState::Done => Ok((input.len(), 0)),
        }
    }

    fn finish(&mut self) -> Result<(), DecodingErrorKind> {
        match &self.state {
            GzipState::Done => Ok(()),
            GzipState::Header(buf) if buf.is_empty() && self.inflate.total_in() == 0 => Ok(()),
            _ => Err(DecodingErrorKind::Truncated),
        }
    }
}

enum DeflateState {
    /// Waiting for the two bytes that tell a zlib header from raw deflate.
    Sniff(Vec<u8>),
    /// Inflating; `pending` holds sniffed bytes not yet given to the inflater.
    Body {
        inflate: Decompress,
        pending: Vec<u8>,
    },
    Done,
}

struct DeflateBody {
    state: DeflateState,
}

/// Whether two bytes are a zlib header: method 8 (deflate), window at most 32 KiB, and the
/// check bits right.
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

impl BodyDecoder for DeflateBody {
    fn decode(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize), DecodingErrorKind> {
        match &mut self.state {
            DeflateState::Sniff(buf) => {
                let take = input.len().min(2 - buf.len());
                buf.extend_from_slice(&input[..take]);
                if buf.len() == 2 {
                    let zlib = is_zlib_header(buf[0], buf[1]);
                    self.state = DeflateState::Body {
                        inflate: Decompress::new(zlib),
                        pending: std::mem::take(buf),
                    };
                }
                Ok((take, 0))
            }
            DeflateState::Body {
                inflate: d,
                pending,
            } => {
                if !pending.is_empty() {
                    let (consumed, produced, end) = inflate(d, pending, output)?;
                    pending.drain(..consumed);
                    if end {
                        self.state = DeflateState::Done;
                        return Ok((0, produced));
                    }
                    if produced > 0 || !pending.is_empty() {
                        return Ok((0, produced));
                    }
                }
                let (consumed, produced, end) = inflate(d, input, output)?;
                if end {
                    self.state = DeflateState::Done;
                }
                Ok((consumed, produced))
            }
            // Trailing bytes after the stream are ignored.
            DeflateState::Done => Ok((input.len(), 0)),
        }
    }

    fn finish(&mut self) -> Result<(), DecodingErrorKind> {
        match &self.state {
            DeflateState::Done => Ok(()),
            DeflateState::Sniff(buf) if buf.is_empty() => Ok(()),
            _ => Err(DecodingErrorKind::Truncated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    /// Decode `data` fed in pieces of `piece` bytes into outputs of `out` bytes.
    fn run(
        decoder: &dyn ResponseDecoder,
        data: &[u8],
        piece: usize,
        out: usize,
    ) -> Result<Vec<u8>, DecodingErrorKind> {
        let mut d = decoder.body_decoder();
        let mut result = Vec::new();
        let mut buf = vec![0u8; out];
        for mut chunk in data.chunks(piece) {
            loop {
                let (c, p) = d.decode(chunk, &mut buf)?;
                result.extend_from_slice(&buf[..p]);
                chunk = &chunk[c..];
                if chunk.is_empty() && p == 0 {
                    break;
                }
                assert!(c > 0 || p > 0, "no progress");
            }
        }
        loop {
            let (_, p) = d.decode(&[], &mut buf)?;
            if p == 0 {
                break;
            }
            result.extend_from_slice(&buf[..p]);
        }
        d.finish()?;
        Ok(result)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn sample() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn gzip_in_any_pieces() {
        let data = sample();
        let z = gzip(&data);
        for (piece, out) in [(1, 7), (3, 1024), (4096, 65536), (z.len(), 100)] {
            assert_eq!(run(&GzipDecoder, &z, piece, out).unwrap(), data);
        }
    }

    #[test]
    fn gzip_header_fields_and_members() {
        let data = b"hello gzip members".to_vec();
        let mut e = flate2::GzBuilder::new()
            .filename("name.txt")
            .comment("a comment")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), Compression::best());
        e.write_all(&data).unwrap();
        let mut z = e.finish().unwrap();
        z.extend(gzip(b" and more"));
        z.extend_from_slice(b"\0\0trailing");
        let out = run(&GzipDecoder, &z, 2, 5).unwrap();
        assert_eq!(out, b"hello gzip members and more");
    }

    #[test]
    fn gzip_errors() {
        let z = gzip(&sample());
        let kind = run(&GzipDecoder, &z[..z.len() - 3], 100, 1000).unwrap_err();
        assert_eq!(kind, DecodingErrorKind::Truncated);
        let mut bad_crc = z.clone();
        let at = bad_crc.len() - 6;
        bad_crc[at] ^= 1;
        let kind = run(&GzipDecoder, &bad_crc, 100, 1000).unwrap_err();
        assert!(matches!(kind, DecodingErrorKind::Corrupt(ref m) if m.contains("CRC")));
        let kind = run(&GzipDecoder, b"plain text", 100, 1000).unwrap_err();
        assert!(matches!(kind, DecodingErrorKind::Corrupt(ref m) if m.contains("magic")));
        assert_eq!(run(&GzipDecoder, b"", 1, 1).unwrap(), b"");
    }

    #[test]
    fn deflate_zlib_and_raw() {
        let data = sample();
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&data).unwrap();
        let z = z.finish().unwrap();
        let mut r = DeflateEncoder::new(Vec::new(), Compression::fast());
        r.write_all(&data).unwrap();
        let r = r.finish().unwrap();
        for stream in [&z, &r] {
            assert_eq!(run(&DeflateDecoder, stream, 1, 333).unwrap(), data);
            assert_eq!(run(&DeflateDecoder, stream, 10000, 65536).unwrap(), data);
            let cut = run(&DeflateDecoder, &stream[..stream.len() / 2], 999, 4096);
            assert_eq!(cut.unwrap_err(), DecodingErrorKind::Truncated);
        }
        assert_eq!(run(&DeflateDecoder, b"", 1, 1).unwrap(), b"");
        assert!(run(&DeflateDecoder, &[0xff; 64], 8, 64).is_err());
    }
}
