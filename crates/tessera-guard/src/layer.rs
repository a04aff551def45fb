//! [`GuardLayer`] and [`GuardService`]: tower-http's
//! `AsyncRequireAuthorization` shape. A request that passes continues with its
//! [`VerifiedToken`](crate::VerifiedToken) in `request.extensions()`; one that
//! fails gets the RFC 6750 response and never reaches the inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Layer, Service};

use crate::body::GuardBody;
use crate::guard::Guard;

/// Puts a [`Guard`] in front of a service.
#[derive(Clone)]
pub struct GuardLayer {
    guard: Guard,
}

impl GuardLayer {
    /// The layer for `guard` (also [`Guard::layer`]).
    pub fn new(guard: Guard) -> GuardLayer {
        GuardLayer { guard }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService { inner, guard: self.guard.clone() }
    }
}

/// A service whose requests must carry a valid bearer token.
#[derive(Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
}

/// The future of [`GuardService`]: the checks may await a key fetch or
/// introspection, so it is boxed.
pub type ResponseFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<GuardBody<B>>, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GuardService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone that was driven to readiness is the one that serves.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match guard.authorize(&parts).await {
                Ok(verified) => {
                    parts.extensions.insert(verified);
                    let response = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(response.map(GuardBody::inner))
                }
                Err(error) => Ok(guard.rejection(&error).map(GuardBody::rejection)),
            }
        })
    }
}
