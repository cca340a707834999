//! Body types: what the gateway answers with, and what it forwards to a backend.

use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper::HeaderMap;
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

/// Request bodies of at most this many bytes (by their `Content-Length`) that an early answer left
/// unread are read and discarded after it, so that the connection serves the client's next request
/// (nginx's discarded request body); a larger one gets `Connection: close` instead.
pub const DISCARD_LIMIT: u64 = 64 * 1024;

/// How long, at most, the rest of such a body is waited for after the answer (nginx waits
/// `lingering_timeout`, 5 s, between reads): a client that sends a refused body slowly holds its
/// connection this long, not the whole `body_timeout_ms`. 64 KiB in 1 s is 64 KiB/s.
pub const DISCARD_TIMEOUT: Duration = Duration::from_secs(1);

/// The client's request body as far as the request path took it: an early answer can still discard
/// a body left [`RequestBody::Unread`].
#[derive(Debug)]
pub enum RequestBody {
    /// Not read at all (the request was answered before its body: a rejection, a policy's answer).
    Unread(Incoming),
    /// Taken to be read to its end before the request goes on (for the signature); a failure
    /// on the way (too large, too slow, broken) closes the connection.
    Read,
    /// Taken to be streamed to the backend, which may stop reading it at any point.
    Streamed,
}

impl RequestBody {
    /// The body, to be read to its end (`read`) or streamed; `None` when it was taken already.
    pub fn take(&mut self, read: bool) -> Option<Incoming> {
        match std::mem::replace(self, if read { Self::Read } else { Self::Streamed }) {
            Self::Unread(body) => Some(body),
            taken => {
                *self = taken;
                None
            }
        }
    }

    /// After an answer given before the request body was (known to be) read to its end, on
    /// HTTP/1.x (`response` the answer's headers). hyper reuses a connection only once the
    /// request body was read to its end; one dropped unread (unless all of it had arrived with
    /// the head) makes hyper close the connection after the answer, which did not say so, and a
    /// client reusing the connection lost its next request. So a body still unread whose
    /// `Content-Length` is at most [`DISCARD_LIMIT`] is read and discarded on its own task after
    /// the answer, within [`DISCARD_TIMEOUT`] and its deadline (`started` + `timeout`), and the
    /// connection is reused after it (after the deadline hyper closes it); any other (larger, chunked, awaiting `100 Continue`, or streamed to a backend
    /// that may have stopped reading) gets `Connection: close`. A body read to its end, or an
    /// answer closing already, needs nothing. On HTTP/2 this is not called: h2 ends the unread
    /// body's stream (`RST_STREAM(NO_ERROR)`) and the connection's other streams go on.
    pub fn settle(self, request: &HeaderMap, response: &mut HeaderMap, started: Instant, timeout: Duration) {
        use hyper::header::{CONNECTION, EXPECT, HeaderValue};
        if response.get(CONNECTION).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close")) {
            return;
        }
        match self {
            Self::Read => {}
            Self::Unread(body)
                if body.size_hint().exact().is_some_and(|len| len <= DISCARD_LIMIT)
                    && !request.contains_key(EXPECT) =>
            {
                let now = Instant::now();
                let left = (started + timeout).saturating_duration_since(now).min(DISCARD_TIMEOUT);
                let mut body = TimedBody::new(body, now, left);
                // ends at the body's end, its deadline, or a broken connection
                tokio::spawn(async move { while let Some(Ok(_)) = body.frame().await {} });
            }
            Self::Unread(_) | Self::Streamed => {
                response.insert(CONNECTION, HeaderValue::from_static("close"));
            }
        }
    }
}
