//! treq's `download_file.py`, ported: an unbuffered GET whose body is streamed into a file
//! with `collect` as it arrives, here with an `indicatif` progress bar fed by the same
//! collector.
//!
//! ```python
//! from twisted.internet.task import react
//!
//! import treq
//!
//!
//! def download_file(reactor, url, destination_filename):
//!     destination = open(destination_filename, 'wb')
//!     d = treq.get(url, unbuffered=True)
//!     d.addCallback(treq.collect, destination.write)
//!     d.addBoth(lambda _: destination.close())
//!     return d
//!
//! react(download_file, ['https://httpbin.org/get', 'download.txt'])
//! ```
//!
//! `cargo run --example download_file [URL [DESTINATION]]`. Without a URL it downloads 8 MiB
//! from a local stand-in for httpbin; the destination defaults to `download.txt` in the
//! system's temporary directory. The file is closed when the collector is dropped, which
//! happens as soon as the body is complete or has failed: Python's `addBoth(close)`.

mod support;

use indicatif::{ProgressBar, ProgressStyle};
use reactor::defer::{Deferred, Failure};
use reactor::Reactor;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use support::utils::check;
use treq::response::Response;

const LOCAL_SIZE: u64 = 8 << 20;

fn progress_bar(length: Option<u64>) -> ProgressBar {
    match length {
        Some(n) => {
            let bar = ProgressBar::new(n);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        }
        None => ProgressBar::new_spinner(),
    }
}

/// Stream `url` into `destination`; the Deferred fires with the number of bytes written.
fn download_file(url: String, destination: &Path) -> Deferred<u64> {
    let mut file = match File::create(destination) {
        Ok(file) => file,
        Err(e) => return Deferred::fail(Failure::new(e)),
    };
    let d = treq::get(url).unbuffered(true).send();
    d.add_callback(move |response: Response| {
        let bar = progress_bar(response.length());
        let (b, done) = (bar.clone(), bar);
        treq::collect(&response, move |chunk| {
            file.write_all(&chunk).map_err(Failure::new)?; // destination.write
            b.inc(chunk.len() as u64);
            Ok(())
        })
        .add_both(move |result: Result<(), Failure>| {
            done.finish();
            result.map(|()| done.position())
        })
    })
}

fn main() {
    let reactor = Reactor::default();
    let bin = support::LocalBin::start(&reactor);
    let mut args = std::env::args().skip(1);
    let url = args.next();
    let local = url.is_none();
    let url = url.unwrap_or_else(|| bin.url(&format!("/bytes/{LOCAL_SIZE}")));
    let destination: PathBuf = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("download.txt"));

    let dest = destination.clone();
    let d = download_file(url.clone(), &destination).add_callback(move |written: u64| {
        let on_disk = std::fs::metadata(&dest).map_err(Failure::new)?.len();
        println!("{url} -> {}: {written} bytes", dest.display());
        check(on_disk == written, "the file to hold every byte")?;
        check(!local || written == LOCAL_SIZE, "the whole local download")
    });
    support::run_to_completion(&reactor, d);
}
