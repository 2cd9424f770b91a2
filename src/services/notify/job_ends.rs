//! The "job-notices" worker: follows the lifecycle's events and queues a [`Notice::JobEnded`]
//! for each job that ends, so the engine never waits on notifications. Only runs when e-mail
//! or a chat webhook for failures is set up.

use tokio::sync::broadcast::error::RecvError;

use super::{Notice, queue};
use crate::config::ChatEvent;
use crate::services::state::AppState;
use crate::workers::{Worker, WorkerResult};

/// Starts the worker when anything would be sent for a job's end.
pub fn start(state: &AppState) {
    let wanted = super::email_enabled(state) || state.config.chat_webhook.iter().any(|h| h.events.contains(&ChatEvent::JobFailed));
    if !wanted {
        return;
    }
    let worker = state.clone();
    state.workers.spawn(Worker::new("job-notices"), move |ctx| {
        let state = worker.clone();
        async move {
            let mut events = state.lifecycle.subscribe();
            ctx.idle();
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Ok(event) if event.state.is_terminal() => {
                            ctx.working();
                            if let Err(e) = queue(&state, Notice::JobEnded { generation: event.id }).await {
                                tracing::warn!(error = %e, generation = %event.id, "the notification of a job's end could not be queued");
                            }
                            ctx.ran();
                            ctx.idle();
                        }
                        Ok(_) => {}
                        Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "job-end notifications fell behind; some were skipped"),
                        Err(RecvError::Closed) => break,
                    },
                    _ = ctx.stopped() => break,
                }
            }
            WorkerResult::Ok(())
        }
    });
}
