//! The `br` content-coding (RFC 7932): [`BrotliDecoder`], with the cargo feature `brotli`.
//!
//! Decoding streams into the caller's output slice, as for gzip. The decoder keeps a window of
//! up to 16 MiB, as the format allows; the "large window" extension (up to 1 GiB) is refused.

use super::content_decoder::{BodyDecoder, DecodingErrorKind, ResponseDecoder};
use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};

/// The `br` content-coding. Bytes after the end of the stream are ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrotliDecoder;

impl ResponseDecoder for BrotliDecoder {
    fn body_decoder(&self) -> Box<dyn BodyDecoder> {
        let mut state = BrotliState::new(
            StandardAlloc::default(),
            StandardAlloc::default(),
            StandardAlloc::default(),
        );
        state.large_window = false;
        Box::new(BrotliBody {
            state,
            started: false,
            done: false,
        })
    }
}

struct BrotliBody {
    state: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    /// Some input has arrived.
    started: bool,
    /// The stream has ended.
    done: bool,
}

impl BodyDecoder for BrotliBody {
    fn decode(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize), DecodingErrorKind> {
        if self.done {
            return Ok((input.len(), 0));
        }
        if input.is_empty() && !self.started {
            return Ok((0, 0));
        }
        self.started = true;
        let (mut available_in, mut input_offset) = (input.len(), 0);
        let (mut available_out, mut output_offset, mut total_out) = (output.len(), 0, 0);
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut input_offset,
            input,
            &mut available_out,
            &mut output_offset,
            output,
            &mut total_out,
            &mut self.state,
        );
        match result {
            BrotliResult::ResultSuccess => self.done = true,
            BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => {}
            BrotliResult::ResultFailure => {
                return Err(DecodingErrorKind::Corrupt("invalid brotli data".into()))
            }
        }
        Ok((input_offset, output_offset))
    }

    fn finish(&mut self) -> Result<(), DecodingErrorKind> {
        if self.done || !self.started {
            Ok(())
        } else {
            Err(DecodingErrorKind::Truncated)
        }
    }
}
