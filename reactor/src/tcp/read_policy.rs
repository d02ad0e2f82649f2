//! How much a stream transport reads at a time.
//!
//! A new connection reads into a small buffer, which grows while reads fill it: most
//! connections carry small responses, and a buffer per connection costs memory. A connection
//! whose reads keep filling the burst size carries a long stream (a download): it reads in
//! the largest pieces (and its socket is tuned for it, see `buffer_tuning.rs`).

/// The read buffer of a new connection: enough for a small response.
pub(super) const FIRST_READ_SIZE: usize = 4 * 1024;
/// The read buffer grows fourfold each time a read fills it, up to this...
pub(super) const BURST_READ_SIZE: usize = 64 * 1024;
/// ...and to this once [`FULL_READS_TO_STREAM`] reads in a row have filled it: a long stream
/// such as a download, not a response of about the burst size (eight connections with 64 KiB
/// responses keep 64 KiB buffers).
pub(super) const MAX_READ_SIZE: usize = 256 * 1024;
/// Full reads in a row at [`BURST_READ_SIZE`] before the buffer grows to [`MAX_READ_SIZE`].
const FULL_READS_TO_STREAM: u8 = 4;

/// The read size after a read of `size` that filled the room offered (`full`), and the count
/// of full reads in a row at [`BURST_READ_SIZE`] (`full_reads`, updated).
pub(super) fn next_read_size(size: usize, full: bool, full_reads: &mut u8) -> usize {
    if !full {
        *full_reads = 0;
        return size;
    }
    if size < BURST_READ_SIZE {
        return (size * 4).min(BURST_READ_SIZE);
    }
    if size < MAX_READ_SIZE {
        *full_reads += 1;
        if *full_reads >= FULL_READS_TO_STREAM {
            *full_reads = 0;
            return MAX_READ_SIZE;
        }
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The read sizes after each read of a sequence (`true`: it filled the room offered).
    fn sizes(reads: &[bool]) -> Vec<usize> {
        let (mut size, mut full_reads) = (FIRST_READ_SIZE, 0);
        reads
            .iter()
            .map(|&full| {
                size = next_read_size(size, full, &mut full_reads);
                size
            })
            .collect()
    }

    #[test]
    fn reads_grow_fourfold_to_the_burst_size() {
        let k = 1024;
        assert_eq!(sizes(&[true, true, true]), [16 * k, 64 * k, 64 * k]);
        assert_eq!(sizes(&[false, true, false]), [4 * k, 16 * k, 16 * k]);
    }

    #[test]
    fn a_long_stream_of_full_reads_grows_to_the_largest_size() {
        let grown = sizes(&[true; 6]);
        assert_eq!(grown[1], BURST_READ_SIZE);
        assert_eq!(grown[4], BURST_READ_SIZE);
        assert_eq!(grown[5], MAX_READ_SIZE);
        assert_eq!(sizes(&[true; 9])[8], MAX_READ_SIZE);
    }

    #[test]
    fn responses_of_about_the_burst_size_keep_the_burst_size() {
        // A full read, then the short rest of the response, again and again.
        let reads: Vec<bool> = (0..40).map(|i| i < 2 || i % 2 == 0).collect();
        assert!(sizes(&reads).iter().all(|&s| s <= BURST_READ_SIZE));
    }
}
