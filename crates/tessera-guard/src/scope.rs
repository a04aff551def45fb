//! [`RequireScopeLayer`]: per-route scope requirements, checked against the
//! [`VerifiedToken`] the guard left in the request's extensions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Layer, Service};

use crate::body::GuardBody;
use crate::error::GuardError;
use crate::token::VerifiedToken;

/// Requires every listed scope; 403 `insufficient_scope` (with the `scope`
/// the route needs in the challenge) otherwise. It must run after the guard:
/// without a verified token in the extensions it answers 401.
#[derive(Clone, Debug)]
pub struct RequireScopeLayer {
    scopes: Arc<[String]>,
    realm: Option<Arc<str>>,
}

impl RequireScopeLayer {
    /// Requires all of `scopes`. [`crate::Guard::require_scope`] does the same
    /// with the guard's realm.
    pub fn new<I, S>(scopes: I) -> RequireScopeLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RequireScopeLayer::with_realm(scopes, None)
    }

    pub(crate) fn with_realm<I, S>(scopes: I, realm: Option<Arc<str>>) -> RequireScopeLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RequireScopeLayer { scopes: scopes.into_iter().map(Into::into).collect(), realm }
    }
}

impl<S> Layer<S> for RequireScopeLayer {
    type Service = RequireScope<S>;

    fn layer(&self, inner: S) -> RequireScope<S> {
        RequireScope { inner, scopes: Arc::clone(&self.scopes), realm: self.realm.clone() }
    }
}

/// The service of [`RequireScopeLayer`].
#[derive(Clone, Debug)]
pub struct RequireScope<S> {
    inner: S,
    scopes: Arc<[String]>,
    realm: Option<Arc<str>>,
}

/// Checks `token` against `required`: the error lists every required scope,
/// as RFC 6750 §3 asks the challenge to.
pub fn check_scopes(token: Option<&VerifiedToken>, required: &[String]) -> Result<(), GuardError> {
    let Some(token) = token else {
        return Err(GuardError::MissingToken);
    };
    if required.iter().all(|scope| token.has_scope(scope)) {
        return Ok(());
    }
    Err(GuardError::InsufficientScope { required: required.to_vec() })
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireScope<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<GuardBody<ResBody>>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if let Err(error) = check_scopes(request.extensions().get::<VerifiedToken>(), &self.scopes) {
            let response = error.to_response(self.realm.as_deref()).map(GuardBody::rejection);
            return Box::pin(async move { Ok(response) });
        }
        let future = self.inner.call(request);
        Box::pin(async move { Ok(future.await?.map(GuardBody::inner)) })
    }
}
