//! Body types: what the gateway answers with, and what it forwards to a backend.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};

/// Any error a body can fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of every response the gateway sends.
pub type Body = BoxBody<Bytes, BoxError>;

/// A body of fixed bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// An empty body.
pub fn empty() -> Body {
    Empty::<Bytes>::new().map_err(|never| match never {}).boxed()
}

/// The request body sent to a backend.
#[derive(Debug)]
pub enum ForwardBody {
    /// No body.
    Empty,
    /// A body already read (and hashed) for verification, as the chunks that arrived.
    Buffered(VecDeque<Bytes>),
    /// The client's body, streamed through with the size limit enforced on the way.
    Streaming(Limited<Incoming>),
}

impl ForwardBody {
    /// Reads the whole body (for the built-in echo backend).
    ///
    /// # Errors
    /// When the client's stream fails or exceeds the limit.
    pub async fn collect_bytes(self) -> Result<Bytes, BoxError> {
        Ok(self.collect().await?.to_bytes())
    }
}

impl HttpBody for ForwardBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut *self {
            Self::Empty => Poll::Ready(None),
            Self::Buffered(chunks) => Poll::Ready(chunks.pop_front().map(|c| Ok(Frame::data(c)))),
            Self::Streaming(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Buffered(chunks) => chunks.is_empty(),
            Self::Streaming(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Empty => SizeHint::with_exact(0),
            Self::Buffered(chunks) => SizeHint::with_exact(chunks.iter().map(|c| c.len() as u64).sum()),
            Self::Streaming(body) => body.size_hint(),
        }
    }
}
