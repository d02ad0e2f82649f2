//! Mutated responses: never a panic, and the same outcome however the
//! bytes are cut.

use super::*;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SEEDS: [&[u8]; 4] = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
      5;e=1\r\nhello\r\n1\r\n!\r\n0\r\nT: 1\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhiXX",
    b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
];

/// Replaces, inserts or deletes a few bytes, favouring bytes that matter
/// to HTTP framing.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    const INTERESTING: &[u8] = b"\r\n :;,0123456789abcdefxX-+\t\x00\x7f\xff";
    let mut input = seed.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(input.len() + 1);
        let byte = if rng.below(2) == 0 {
            INTERESTING[rng.below(INTERESTING.len())]
        } else {
            rng.next() as u8
        };
        match rng.below(3) {
            0 if at < input.len() => input[at] = byte,
            1 if at < input.len() => {
                input.remove(at);
            }
            _ => input.insert(at, byte),
        }
    }
    input
}

#[test]
fn mutated_responses_parse_the_same_in_any_cut() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..1500 {
        let input = mutate(SEEDS[round % SEEDS.len()], &mut rng);
        let is_head = rng.below(8) == 0;
        let eof = rng.below(2) == 0;
        let whole = run(&input, is_head, eof);
        let bytewise: Vec<usize> = (1..input.len()).collect();
        assert_eq!(
            run_split(&input, is_head, &bytewise, eof),
            whole,
            "{:?}",
            String::from_utf8_lossy(&input)
        );
        let cut = 1 + rng.below(input.len().max(2) - 1);
        let cut = cut.min(input.len());
        assert_eq!(run_split(&input, is_head, &[cut], eof), whole);
    }
}
