//! `apig request`: sign, send with reqwest (async, on a current-thread runtime, rustls), print the
//! response; on an APIG.0303 signature mismatch, explain it inline.
//!
//! A server may answer before it has the body (a gateway's 413 for a `Content-Length` over its
//! limit) and close the connection. To show that answer, as curl does: the client is reqwest's
//! async one (the blocking one reports only the broken upload, "receiver is gone"), and a large
//! file body waits up to [`EARLY_ANSWER_WAIT`] for such an answer before it streams (curl's
//! `Expect: 100-continue` wait, for the same bodies: over 1 MiB).

use std::fs::File;
use std::future::Future;
use std::io::{IsTerminal, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use apig::{ErrorKind, SignableRequest, canonical_request_from_apig_message, explain};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use reqwest::{Body, Client, Method, Response, Url};

use crate::args::RequestArgs;
use crate::credentials;
use crate::errors::{CliError, EXIT_FAILURE};
use crate::input::{BodySource, Parsed, read_stdin};
use crate::output;
use crate::sign::{sign, signable_body, signer, streamed_hash};

/// Error responses are read whole (to look for an APIG message) up to this size; the rest is streamed.
const ERROR_BODY_PEEK: usize = 1 << 20;

/// Bytes read from a `-d @FILE` body at a time.
const FILE_CHUNK: usize = 64 * 1024;

/// A file body larger than this waits up to [`EARLY_ANSWER_WAIT`] before it streams.
const EARLY_ANSWER_OVER: u64 = 1 << 20;

/// How long a large file body waits for an answer given before the body (curl's default wait for
/// a `100 Continue`).
const EARLY_ANSWER_WAIT: Duration = Duration::from_secs(1);

/// The `User-Agent` sent (and shown by `-v`).
const AGENT: &str = concat!("apig-cli/", env!("CARGO_PKG_VERSION"));

/// The code printed with `--fail` for an HTTP error status that is not an APIG signature mismatch.
pub(crate) const HTTP_STATUS: &str = "http_status";

pub(crate) fn run(args: &RequestArgs) -> Result<(), CliError> {
    let spec = &args.spec;
    let parsed = Parsed::new(spec)?;
    let credentials = credentials::load(&args.credentials)?;
    let signer = signer(&parsed.settings, credentials)?;

    let invalid = |why: String| CliError::usage(ErrorKind::InvalidRequest, why);
    let mut url = Url::parse(&args.url).map_err(|e| invalid(format!("invalid URL {:?}: {e}", args.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("unsupported URL scheme {:?}: use http or https", url.scheme())));
    }
    url.set_fragment(None);
    let method = Method::from_bytes(args.method.as_bytes())
        .map_err(|_| invalid(format!("invalid HTTP method {:?}", args.method)))?;

    // The stdin body is read once and kept; a file is hashed in a first pass and streamed in a second.
    let stdin_body = match parsed.body {
        BodySource::Stdin => Some(read_stdin("the body")?),
        _ => None,
    };
    let hash = match (&parsed.body, spec.unsigned_payload) {
        (BodySource::File(_), false) => streamed_hash(parsed.settings.algorithm, &parsed.body)?,
        _ => None,
    };
    let literal = stdin_body.map(BodySource::Literal);
    let body_source = literal.as_ref().unwrap_or(&parsed.body);
    let headers = parsed.header_refs();
    // Sign the URL as it goes on the wire (the parser normalises what the client will send).
    let signable = SignableRequest::new(
        &args.method,
        url.as_str(),
        &headers,
        signable_body(spec.unsigned_payload, body_source, hash.as_deref()),
    );
    let signed = sign(&signer, &signable, parsed.date)?;

    let mut header_map = HeaderMap::new();
    let all_headers = parsed.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    for (name, value) in all_headers.chain(signed.headers()) {
        let header_name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid(format!("invalid header name {name:?}")))?;
        let header_value =
            HeaderValue::from_str(value).map_err(|_| invalid(format!("invalid value for header {name}")))?;
        header_map.append(header_name, header_value);
    }
    // what the client would add by itself, added here so that -v shows every header sent (after
    // signing, like any client's additions: they are not signed)
    for (name, value) in [(USER_AGENT, AGENT), (ACCEPT, "*/*")] {
        if !header_map.contains_key(&name) {
            header_map.insert(name, HeaderValue::from_static(value));
        }
    }
    let body = match body_source {
        BodySource::Empty | BodySource::Stdin => None,
        BodySource::Literal(bytes) => Some(Body::from(bytes.clone())),
        BodySource::File(path) => Some(Body::wrap(FileBody::open(path)?)),
    };
    if args.verbose {
        let mut text = format!("* signed with {}\n{}\n", signer.algorithm(), signed.trace);
        text.push_str(&format!("> {method} {url}\n"));
        for (name, value) in &header_map {
            text.push_str(&format!("> {name}: {}\n", String::from_utf8_lossy(value.as_bytes())));
        }
        if let Some(length) = body.as_ref().and_then(Body::as_bytes).map(<[u8]>::len) {
            text.push_str(&format!("> content-length: {length}\n"));
        } else if let BodySource::File(path) = body_source {
            let length = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
            text.push_str(&format!("> content-length: {length}\n"));
        }
        output::stderr(&text);
    }

    let client = Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .connect_timeout(Duration::from_secs(args.timeout))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| CliError::transport(chain(&e)))?;
    let mut builder = client.request(method, url).headers(header_map);
    if let Some(body) = body {
        builder = builder.body(body);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::transport(format!("cannot start the HTTP client: {e}")))?;
    runtime.block_on(async {
        let response = builder.send().await.map_err(|e| CliError::transport(chain(&e)))?;
        print_response(args, response, &signed.trace.canonical_request).await
    })
}

/// A `-d @FILE` body, read in chunks as the connection takes them, with its exact length (sent as
/// `Content-Length`). The reads are synchronous: a local file, on the CLI's one thread. Over
/// [`EARLY_ANSWER_OVER`] bytes, the first chunk waits [`EARLY_ANSWER_WAIT`]: meanwhile the client
/// reads, so an answer sent before the body (a 413) completes the request instead of the upload
/// breaking on the closed connection.
struct FileBody {
    file: File,
    remaining: u64,
    /// Whether the first chunk still has to wait (large bodies), and the timer once started.
    wait: Option<Option<Pin<Box<tokio::time::Sleep>>>>,
}

impl FileBody {
    fn open(path: &std::path::PathBuf) -> Result<Self, CliError> {
        let file = BodySource::open(path)?;
        let remaining = file.metadata().map(|m| m.len()).map_err(|e| {
            CliError::usage(ErrorKind::BodyRead, format!("cannot read body file {}: {e}", path.display()))
        })?;
        let wait = (remaining > EARLY_ANSWER_OVER).then_some(None);
        Ok(Self { file, remaining, wait })
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(timer) = self.wait.as_mut() {
            // started at the first poll, on the runtime, as the request head goes out
            let sleep = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(EARLY_ANSWER_WAIT)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.wait = None;
        }
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(self.remaining).map_or(FILE_CHUNK, |left| left.min(FILE_CHUNK));
        let mut chunk = vec![0; want];
        Poll::Ready(Some(match self.file.read(&mut chunk) {
            Ok(0) => Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the body file shrank while sending")),
            Ok(n) => {
                chunk.truncate(n);
                self.remaining -= n as u64;
                Ok(Frame::data(Bytes::from(chunk)))
            }
            Err(e) => Err(e),
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

async fn print_response(args: &RequestArgs, mut response: Response, local_canonical: &str) -> Result<(), CliError> {
    let status = response.status();
    let mut head = format!("{:?} {status}\n", response.version());
    for (name, value) in response.headers() {
        head.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())));
    }
    head.push('\n');
    if args.verbose {
        output::stderr(&head.lines().map(|l| format!("< {l}\n")).collect::<String>());
    }
    if args.include {
        output::stdout(head.as_bytes())?;
    }
    let mut mismatch = false;
    let mut last_byte = None;
    let read_failed = |e: reqwest::Error| CliError::transport(format!("reading the response failed: {}", chain(&e)));
    if status.is_client_error() {
        let mut peek = Vec::new();
        while peek.len() < ERROR_BODY_PEEK {
            match response.chunk().await.map_err(read_failed)? {
                Some(chunk) => peek.extend_from_slice(&chunk),
                None => break,
            }
        }
        output::stdout(&peek)?;
        last_byte = peek.last().copied();
        if let Some(remote) = canonical_request_from_apig_message(&String::from_utf8_lossy(&peek)) {
            mismatch = true;
            output::stderr(&format!(
                "\napig: the gateway rejected the signature (APIG.0303 verify signature fail).\n{}\
                 (`apig explain ERROR_FILE METHOD URL …` gives the same from a saved error body.)\n",
                crate::explain::render(&explain(local_canonical, &remote))
            ));
        }
    }
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let mut out = LastByte { inner: stdout.lock(), last: last_byte };
    while let Some(chunk) = response.chunk().await.map_err(read_failed)? {
        match out.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
            Err(e) => return Err(CliError::usage(ErrorKind::InvalidRequest, format!("cannot write output: {e}"))),
        }
    }
    // like a shell prompt, a terminal wants the output to end with a newline; pipes get the exact bytes
    let end: &[u8] = if terminal && out.last.is_some_and(|b| b != b'\n') { b"\n" } else { b"" };
    output::write_all(&mut out.inner, end)?;
    if args.fail && (status.is_client_error() || status.is_server_error()) {
        let code = if mismatch { ErrorKind::SignatureMismatch.code() } else { HTTP_STATUS };
        return Err(CliError {
            code,
            message: format!("the server answered {status}"),
            exit: EXIT_FAILURE,
            detail: None,
        });
    }
    Ok(())
}

/// A writer that remembers the last byte written.
struct LastByte<W> {
    inner: W,
    last: Option<u8>,
}

impl<W: Write> Write for LastByte<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(&b) = buf.get(..n).and_then(<[u8]>::last) {
            self.last = Some(b);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// An error and its sources, `: `-separated (reqwest's own message names only the outer layer).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let shown = inner.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        source = inner.source();
    }
    text
}
