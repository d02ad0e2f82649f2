//! The `zstd` content-coding (RFC 8878): [`ZstdDecoder`], with the cargo feature `zstd`.
//!
//! Decoding streams into the caller's output slice, as for gzip, through libzstd's streaming
//! decoder. Its window — the memory a hostile frame can make it take — is capped at 8 MiB
//! (RFC 8878 section 3.1.1.1.2 asks decoders to support at least that for HTTP); a frame that
//! needs more is refused as corrupt.

use super::content_decoder::{BodyDecoder, DecodingErrorKind, ResponseDecoder};
use zstd::stream::raw::{DParameter, Decoder, Operation};

/// The largest window accepted: 2^23 bytes = 8 MiB.
const WINDOW_LOG_MAX: u32 = 23;

/// The `zstd` content-coding. Several frames in a row are decoded one after the other.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZstdDecoder;

impl ResponseDecoder for ZstdDecoder {
    fn body_decoder(&self) -> Box<dyn BodyDecoder> {
        Box::new(ZstdBody {
            decoder: None,
            in_frame: false,
        })
    }
}

struct ZstdBody {
    /// Made on the first input (making one can fail, and `body_decoder` cannot).
    decoder: Option<Decoder<'static>>,
    /// A frame has started and not ended.
    in_frame: bool,
}

fn corrupt(e: std::io::Error) -> DecodingErrorKind {
    DecodingErrorKind::Corrupt(format!("invalid zstd data: {e}"))
}

impl BodyDecoder for ZstdBody {
    fn decode(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize), DecodingErrorKind> {
        if input.is_empty() && !self.in_frame {
            return Ok((0, 0));
        }
        let decoder = match &mut self.decoder {
            Some(decoder) => decoder,
            None => {
                let mut decoder = Decoder::new().map_err(corrupt)?;
                decoder
                    .set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))
                    .map_err(corrupt)?;
                self.decoder.insert(decoder)
            }
        };
        let status = decoder.run_on_buffers(input, output).map_err(corrupt)?;
        // libzstd answers 0 once a frame is decoded and all of it handed out.
        self.in_frame = status.remaining != 0;
        Ok((status.bytes_read, status.bytes_written))
    }

    fn finish(&mut self) -> Result<(), DecodingErrorKind> {
        if self.in_frame {
            Err(DecodingErrorKind::Truncated)
        } else {
            Ok(())
        }
    }
}
