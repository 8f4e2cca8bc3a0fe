//! One tokio runtime per process, built on first use and rebuilt in a forked child
//! (Python multiprocessing and PHP-FPM fork after import).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::runtime::{Builder, Runtime};

static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// Worker threads when `POLYMAILER_WORKER_THREADS` is unset; 0: the machine's cores (at most 4).
static DEFAULT_THREADS: AtomicUsize = AtomicUsize::new(0);

/// The worker-thread count a host prefers, for a runtime not built yet (the environment
/// variable still decides). Node's binding asks for one: its JavaScript thread is the other
/// half of every send, and one worker that owns the sockets spares each reply a hop between
/// workers.
pub fn prefer_worker_threads(n: usize) {
    DEFAULT_THREADS.store(n.min(64), Ordering::Relaxed);
}

/// The process's runtime. A child after `fork` gets a fresh one; the parent's is leaked there
/// because its worker threads did not survive the fork.
pub fn get() -> &'static Runtime {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    match *slot {
        Some((owner, rt)) if owner == pid => rt,
        _ => {
            let threads = std::env::var("POLYMAILER_WORKER_THREADS")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| (1..=64).contains(n))
                .unwrap_or_else(|| match DEFAULT_THREADS.load(Ordering::Relaxed) {
                    0 => std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
                    n => n,
                });
            let rt = Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("polymailer")
                .enable_all()
                .build()
                .expect("failed to build the polymailer tokio runtime");
            let rt: &'static Runtime = Box::leak(Box::new(rt));
            *slot = Some((pid, rt));
            rt
        }
    }
}

/// Runs a future to completion from synchronous code (not from inside the runtime).
pub fn block_on<F: Future>(future: F) -> F::Output {
    get().block_on(future)
}

/// Spawns a future on the runtime.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    get().spawn(future)
}
