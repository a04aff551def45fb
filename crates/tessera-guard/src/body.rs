//! [`GuardBody`]: the response body of a guarded service, which is either the
//! inner service's body or the guard's own small JSON rejection. An either
//! type keeps the guard usable in front of any service, whatever its body.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;

pin_project! {
    /// The inner service's body, or a rejection written by the guard.
    pub struct GuardBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProjection]
    enum Kind<B> {
        Inner {
            #[pin]
            body: B,
        },
        Rejection {
            #[pin]
            body: Full<Bytes>,
        },
    }
}

impl<B> GuardBody<B> {
    /// Wraps the inner service's body.
    pub fn inner(body: B) -> GuardBody<B> {
        GuardBody { kind: Kind::Inner { body } }
    }

    /// Wraps a rejection.
    pub fn rejection(body: Full<Bytes>) -> GuardBody<B> {
        GuardBody { kind: Kind::Rejection { body } }
    }
}

impl<B> Body for GuardBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProjection::Inner { body } => body.poll_frame(cx),
            KindProjection::Rejection { body } => body
                .poll_frame(cx)
                .map(|frame| frame.map(|result| result.map_err(|never: Infallible| match never {}))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Rejection { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Rejection { body } => body.size_hint(),
        }
    }
}
