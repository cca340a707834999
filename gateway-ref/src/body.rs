//! Body types: what the gateway answers with, and what it forwards to a backend.

use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

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

/// The client's request body with a deadline for all of it (`gateway.body_timeout_ms`, counted
/// from the arrival of the request head): past the deadline the next read fails with
/// [`BodyTimeout`], so a client sending its body a byte at a time cannot hold a connection.
///
/// The timer is made only when a read has to wait for the client: a body that is empty or already
/// arrived with the head (most requests) costs no timer, only a clock reading per read.
#[derive(Debug)]
pub struct TimedBody {
    body: Incoming,
    deadline: tokio::time::Instant,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    timeout: Duration,
}

impl TimedBody {
    /// `body`, to be read completely within `timeout` of `started`.
    pub fn new(body: Incoming, started: Instant, timeout: Duration) -> Self {
        Self { body, deadline: (started + timeout).into(), timer: None, timeout }
    }

    /// Whether the deadline has passed; once a read has waited, the timer also wakes the reader
    /// at the deadline.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.timer {
            Some(timer) => timer.as_mut().poll(cx).is_ready(),
            None => tokio::time::Instant::now() >= self.deadline,
        }
    }
}

/// The client did not send its whole body in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTimeout(pub Duration);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body was not received within {} ms", self.0.as_millis())
    }
}

impl std::error::Error for BodyTimeout {}

/// Whether `e` (or its source chain) is a [`BodyTimeout`].
pub fn body_timeout_of(e: &(dyn std::error::Error + 'static)) -> Option<BodyTimeout> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(t) = err.downcast_ref::<BodyTimeout>() {
            return Some(*t);
        }
        current = err.source();
    }
    None
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.body.is_end_stream() {
            return Poll::Ready(None);
        }
        if self.expired(cx) {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(self.timeout)))));
        }
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Pending if this.timer.is_none() => {
                // the first wait for the client: from now on the timer wakes this reader at the
                // deadline
                let mut timer = Box::pin(tokio::time::sleep_until(this.deadline));
                let expired = timer.as_mut().poll(cx).is_ready();
                this.timer = Some(timer);
                if expired {
                    return Poll::Ready(Some(Err(Box::new(BodyTimeout(this.timeout)))));
                }
                Poll::Pending
            }
            other => other.map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The request body sent to a backend.
#[derive(Debug)]
pub enum ForwardBody {
    /// No body.
    Empty,
    /// A body already read (and hashed) for verification, as the chunks that arrived.
    Buffered(VecDeque<Bytes>),
    /// The client's body, streamed through with the size limit and the deadline enforced on the way.
    Streaming(Limited<TimedBody>),
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
