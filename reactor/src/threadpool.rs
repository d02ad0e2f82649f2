//! A small pool of worker threads for blocking calls (`call_in_thread`, `defer_to_thread`, name
//! resolution), started lazily.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

/// Worker threads fed from one queue. Dropping the pool lets the workers finish their current job
/// and exit; it does not wait for them (a blocked `getaddrinfo` must not hold up shutdown).
pub(crate) struct ThreadPool {
    sender: Sender<Job>,
}

impl ThreadPool {
    pub(crate) fn new(size: usize) -> ThreadPool {
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..size.max(1) {
            let receiver = receiver.clone();
            let spawned = thread::Builder::new()
                .name(format!("reactor-pool-{i}"))
                .spawn(move || worker(receiver));
            if let Err(error) = spawned {
                log::error!("could not start a pool thread: {error}");
            }
        }
        ThreadPool { sender }
    }

    pub(crate) fn call_in_thread(&self, job: Job) {
        if self.sender.send(job).is_err() {
            log::error!("thread pool has no workers left; job dropped");
        }
    }
}

fn worker(receiver: Arc<Mutex<Receiver<Job>>>) {
    loop {
        let job = {
            let Ok(guard) = receiver.lock() else { return };
            match guard.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        job();
    }
}
