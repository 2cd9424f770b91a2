//! The threads searches run on: one per CPU core, started on first use, taking searches in
//! arrival order. Searches are CPU-bound, so more at once only makes every one of them slower
//! (with two per core the slowest hundredth took 45 % longer); a busy thread goes straight on
//! to the next search instead of sleeping and being woken for it, as the shared blocking
//! pool's threads did (a tenth of the CPU went to that hand-over). The threads end when the
//! pool is dropped.

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use crossbeam_channel::Sender;
use tokio::sync::oneshot;

use crate::turns::cpu_cores;

type Work = Box<dyn FnOnce() + Send>;

/// The pool; share it behind an `Arc`.
#[derive(Default)]
pub struct SearchPool {
    queue: OnceLock<Sender<Work>>,
}

impl SearchPool {
    /// Runs `work` on one of the pool's threads once its turn comes; `None` when it panicked
    /// (or the threads could not start).
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (done, result) = oneshot::channel();
        let job: Work = Box::new(move || {
            let _ = done.send(work());
        });
        self.queue().send(job).ok()?;
        result.await.ok()
    }

    fn queue(&self) -> &Sender<Work> {
        self.queue.get_or_init(|| {
            let (queue, jobs) = crossbeam_channel::unbounded::<Work>();
            for n in 0..cpu_cores() {
                let jobs = jobs.clone();
                let started = std::thread::Builder::new().name(format!("search-{n}")).spawn(move || {
                    // ends when the pool, the only sender, is dropped
                    for job in jobs {
                        // a panic drops the job's reply (its caller sees None); the thread goes on
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                    }
                });
                if let Err(e) = started {
                    tracing::error!(error = %e, "a search thread could not start");
                }
            }
            queue
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn work_runs_on_the_pool_in_order_and_a_panic_answers_none() {
        let pool = Arc::new(SearchPool::default());
        assert_eq!(pool.run(|| 6 * 7).await, Some(42));
        let name = pool.run(|| std::thread::current().name().map(str::to_string)).await.flatten();
        assert!(name.is_some_and(|n| n.starts_with("search-")));
        assert_eq!(pool.run(|| -> u8 { panic!("a failing search") }).await, None);
        let answers: Vec<_> = futures_util::future::join_all((0..50).map(|n| pool.run(move || n))).await;
        assert_eq!(answers, (0..50).map(Some).collect::<Vec<_>>(), "every caller gets its own answer after a panic too");
    }

    #[test]
    fn the_threads_end_with_the_pool() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let pool = SearchPool::default();
        let (sender, ended) = std::sync::mpsc::channel();
        runtime.block_on(pool.run(move || {
            // dropped when the thread that holds it ends
            struct OnEnd(std::sync::mpsc::Sender<()>);
            impl Drop for OnEnd {
                fn drop(&mut self) {
                    let _ = self.0.send(());
                }
            }
            thread_local!(static GUARD: std::cell::RefCell<Option<OnEnd>> = const { std::cell::RefCell::new(None) });
            GUARD.with(|g| *g.borrow_mut() = Some(OnEnd(sender)));
        }));
        drop(pool);
        assert!(ended.recv_timeout(std::time::Duration::from_secs(10)).is_ok(), "the thread ended");
    }
}
