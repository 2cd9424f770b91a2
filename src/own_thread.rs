//! Long work (a backup, an archive) on a thread of its own: never on a blocking pool, where
//! it would hold one of the few threads that every request's store reads need for as long as
//! it runs.

use tokio::sync::oneshot;

/// Runs `work` on a new thread named `name` and waits for its result; `None` when the thread
/// could not start or `work` panicked.
pub async fn run<T: Send + 'static>(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (done, result) = oneshot::channel();
    let started = std::thread::Builder::new().name(name.to_string()).spawn(move || {
        let _ = done.send(work());
    });
    if let Err(e) = started {
        tracing::error!(error = %e, thread = name, "a thread could not start");
        return None;
    }
    result.await.ok()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn work_runs_on_a_named_thread_and_a_panic_answers_none() {
        let name = super::run("backup", || std::thread::current().name().map(str::to_string)).await;
        assert_eq!(name.flatten().as_deref(), Some("backup"));
        assert_eq!(super::run("failing", || -> u8 { panic!("a failing job") }).await, None);
    }
}
