//! Replays the seed inputs in `fuzz/seeds/` through the fuzz oracles on stable Rust, so the targets and their
//! corpus stay checked without nightly or libFuzzer: `cargo test --manifest-path
//! fuzz/Cargo.toml`.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        // Every piece size, not only the one the input names.
        for flags in 0..=255u8 {
            let mut input = vec![flags];
            input.extend_from_slice(data.get(1..).unwrap_or_default());
            check(&input);
        }
        n += 1;
    }
    assert!(n > 0, "empty corpus in {}", dir.display());
}

#[test]
fn response_parser_corpus() {
    replay("response_parser", treq_fuzz::response_parser);
}

#[test]
fn chunked_decoder_corpus() {
    replay("chunked_decoder", treq_fuzz::chunked_decoder);
}

/// Replays the request-side seeds as they are: their first byte is part of the input.
fn replay_as_is(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        check(&data);
        // Every prefix too: cut fields are part of what the targets must take.
        for end in 0..data.len() {
            check(&data[..end]);
        }
        n += 1;
    }
    assert!(n > 0, "empty corpus in {}", dir.display());
}

#[test]
fn headers_corpus() {
    replay_as_is("headers", treq_fuzz::headers);
}

#[test]
fn cookie_jar_corpus() {
    replay_as_is("cookie_jar", treq_fuzz::cookie_jar);
}

#[test]
fn params_corpus() {
    replay_as_is("params", treq_fuzz::params);
}

#[test]
fn multipart_corpus() {
    replay_as_is("multipart", treq_fuzz::multipart);
}
