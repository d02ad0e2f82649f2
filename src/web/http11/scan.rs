//! [`find_lf`]: the line-feed search the head parser runs over every response head.

/// A byte of ones in every lane, and the high bit of every lane.
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
const LFS: u64 = u64::from_ne_bytes([b'\n'; 8]);

/// The index of the first `\n` in `hay`.
///
/// Eight bytes at a time: a lane of `word ^ LFS` is zero exactly where the byte is an LF, and
/// `(x - ONES) & !x & HIGHS` flags zero lanes; the lowest flagged lane is always a real zero
/// (a borrow only runs upwards, past a zero lane), so the first LF is exact.
pub(crate) fn find_lf(hay: &[u8]) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let x = word ^ LFS;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| offset + p)
}

#[cfg(test)]
mod tests {
    use super::find_lf;

    #[test]
    fn finds_the_first_lf_wherever_it_is() {
        for len in 0..40 {
            for at in 0..=len {
                // Bytes next to LF in value (0x09, 0x0b, 0x8a) must not be taken for it.
                let mut hay: Vec<u8> = (0..len).map(|i| [0x09, 0x0b, 0x8a, b'a'][i % 4]).collect();
                let mut expected = None;
                if at < len {
                    hay[at] = b'\n';
                    expected = Some(at);
                    for b in hay[at + 1..].iter_mut().step_by(3) {
                        *b = b'\n';
                    }
                }
                assert_eq!(find_lf(&hay), expected, "len {len}, LF at {at}");
            }
        }
    }

    #[test]
    fn zero_bytes_and_high_bytes_around_are_not_lf() {
        let hay = [0u8, 0xff, 0x80, 0x0a ^ 0x80, 0, 0, 0, 0, 0xff, b'\n'];
        assert_eq!(find_lf(&hay), Some(9));
        assert_eq!(find_lf(&[0u8; 17]), None);
    }
}
