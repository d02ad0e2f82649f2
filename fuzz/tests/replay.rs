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
