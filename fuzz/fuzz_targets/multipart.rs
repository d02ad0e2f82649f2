#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| treq_fuzz::multipart(data));
