//! Slow request bodies: a body gets `limits.request_body_timeout` plus one second per KiB
//! received; one that is still arriving after that is refused with 408 and its connection
//! closed, so a client trickling bytes cannot hold a connection and its handler for ever.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::HttpResponse;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::{InternalError, PayloadError};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use super::responses::error_for_path;
use crate::error::AppError;
use crate::services::state::AppState;

/// The extra time each KiB received earns: a body keeps its connection while it averages
/// at least 1 KiB/s after the grace period.
const PER_KIB: Duration = Duration::from_secs(1);

/// Puts every request body under its deadline; answers 408 (and closes the connection) when a
/// handler's read of the body was cut short by it.
pub async fn enforce(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(grace) = req.app_data::<actix_web::web::Data<AppState>>().map(|s| s.config.limits.request_body_timeout) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let body = req.take_payload();
    if matches!(body, Payload::None) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let expired = Arc::new(AtomicBool::new(false));
    let bounded: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(Deadline::new(body, grace, expired.clone()));
    req.set_payload(Payload::from(bounded));
    let path = req.path().to_string();
    let result = next.call(req).await;
    if !expired.load(Ordering::Acquire) {
        return result.map(ServiceResponse::map_into_left_body);
    }
    match result {
        Ok(answered) => {
            let (request, _) = answered.into_parts();
            Ok(ServiceResponse::new(request, too_slow(&path)).map_into_right_body())
        }
        Err(_) => Err(InternalError::from_response("the request body arrived too slowly", too_slow(&path)).into()),
    }
}

/// 408, closing the connection: the rest of the body is not worth waiting for.
fn too_slow(path: &str) -> HttpResponse {
    let e = AppError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request.body_timeout",
        "The request body arrived too slowly and was not read to its end. Send it again.",
    );
    let mut response = error_for_path(path, &e);
    response.head_mut().set_connection_type(ConnectionType::Close);
    response
}

/// A request body that ends in an error once its deadline passes.
struct Deadline {
    body: Payload,
    timer: Pin<Box<Sleep>>,
    /// Set when the deadline cut the body short (read by [`enforce`]).
    expired: Arc<AtomicBool>,
}

impl Deadline {
    fn new(body: Payload, grace: Duration, expired: Arc<AtomicBool>) -> Deadline {
        Deadline { body, timer: Box::pin(tokio::time::sleep(grace)), expired }
    }
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.expired.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.body).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let earned = PER_KIB.mul_f64(chunk.len() as f64 / 1024.0);
                let later: Instant = this.timer.deadline() + earned;
                this.timer.as_mut().reset(later);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.expired.store(true, Ordering::Release);
                    let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "the request body arrived too slowly");
                    Poll::Ready(Some(Err(PayloadError::Io(timed_out))))
                }
                Poll::Pending => Poll::Pending,
            },
            done => done,
        }
    }
}
