//! A fast hasher for the pool's maps, keyed by `(scheme, host, port)`.
//!
//! The standard `HashMap` hashes with SipHash-1-3, which resists flooding by chosen keys but
//! costs about a hundred instructions for a pool key; a keep-alive request looks its key up
//! twice (check-out and check-in), so that was 4 % of the client's instructions per request.
//! The pool holds a key only while a connection to it is open or wanted, and the number of
//! connections is bounded by the program, so flooding is not a concern here: this is the
//! multiply-and-rotate hash that `rustc` uses for its own tables, over 8 bytes at a time.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The multiplier of the hash (an odd constant with well-spread bits).
const SEED: u64 = 0xf135_7aea_2e62_a9c5;

/// A hasher of a few words: `hash = (hash.rotate_left(26) ^ word) * SEED` per word.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher {
    hash: u64,
}

impl KeyHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(26) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // The top bits pick hashbrown's control byte: fold the well-mixed high half down too.
        self.hash ^ (self.hash >> 32)
    }
}

/// A `HashMap` hashed with [`KeyHasher`].
pub(crate) type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    fn hash_of(key: &(String, String, u16)) -> u64 {
        BuildHasherDefault::<KeyHasher>::default().hash_one(key)
    }

    fn key(scheme: &str, host: &str, port: u16) -> (String, String, u16) {
        (scheme.to_owned(), host.to_owned(), port)
    }

    #[test]
    fn keys_that_differ_anywhere_hash_apart() {
        let base = hash_of(&key("http", "127.0.0.1", 8080));
        assert_eq!(base, hash_of(&key("http", "127.0.0.1", 8080)));
        for other in [
            key("https", "127.0.0.1", 8080),
            key("http", "127.0.0.2", 8080),
            key("http", "127.0.0.1", 8081),
            key("http", "127.0.0.1x", 8080),
            // The same bytes split differently between scheme and host.
            key("http1", "27.0.0.1", 8080),
        ] {
            assert_ne!(base, hash_of(&other), "{other:?}");
        }
    }

    #[test]
    fn a_map_of_many_hosts_finds_each() {
        let mut map: KeyMap<(String, String, u16), usize> = KeyMap::default();
        for i in 0..10_000 {
            map.insert(key("http", &format!("host{i}.example"), 80), i);
        }
        for i in 0..10_000 {
            assert_eq!(map[&key("http", &format!("host{i}.example"), 80)], i);
        }
        // Spread: no hash shared by more than a handful of the keys.
        let mut hashes: Vec<u64> = (0..10_000)
            .map(|i| hash_of(&key("http", &format!("host{i}.example"), 80)))
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), 10_000);
    }
}
