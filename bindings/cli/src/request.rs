//! `apig request`: sign, send with reqwest (blocking, rustls), print the response; on an APIG.0303
//! signature mismatch, explain it inline.

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use apig::{ErrorKind, SignableRequest, canonical_request_from_apig_message, explain};
use reqwest::blocking::{Body, Client, Response};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use crate::args::RequestArgs;
use crate::credentials;
use crate::errors::{CliError, EXIT_FAILURE};
use crate::input::{BodySource, Parsed, read_stdin};
use crate::output;
use crate::sign::{sign, signable_body, signer, streamed_hash};

/// Error responses are read whole (to look for an APIG message) up to this size; the rest is streamed.
const ERROR_BODY_PEEK: u64 = 1 << 20;

/// The code printed with `--fail` for an HTTP error status that is not an APIG signature mismatch.
pub(crate) const HTTP_STATUS: &str = "http_status";

pub(crate) fn run(args: &RequestArgs) -> Result<(), CliError> {
    let spec = &args.spec;
    let parsed = Parsed::new(spec)?;
    let credentials = credentials::load(&args.credentials)?;
    let signer = signer(spec, parsed.algorithm, credentials.access_key, credentials.secret)?;

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
        (BodySource::File(_), false) => streamed_hash(parsed.algorithm, &parsed.body)?,
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
    if args.verbose {
        let mut text = format!("* signed with {}\n{}\n", signer.algorithm(), signed.trace);
        text.push_str(&format!("> {method} {url}\n"));
        for (name, value) in &header_map {
            text.push_str(&format!("> {name}: {}\n", String::from_utf8_lossy(value.as_bytes())));
        }
        output::stderr(&text);
    }

    let client = Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .connect_timeout(Duration::from_secs(args.timeout))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("apig-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CliError::transport(chain(&e)))?;
    let mut builder = client.request(method, url).headers(header_map);
    builder = match body_source {
        BodySource::Empty => builder,
        BodySource::Literal(bytes) => builder.body(bytes.clone()),
        BodySource::File(path) => builder.body(Body::from(BodySource::open(path)?)),
        BodySource::Stdin => builder,
    };
    let response = builder.send().map_err(|e| CliError::transport(chain(&e)))?;
    print_response(args, response, &signed.trace.canonical_request)
}

fn print_response(args: &RequestArgs, mut response: Response, local_canonical: &str) -> Result<(), CliError> {
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
    if status.is_client_error() {
        let mut peek = Vec::new();
        (&mut response).take(ERROR_BODY_PEEK).read_to_end(&mut peek).map_err(|e| CliError::transport(chain(&e)))?;
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
    match std::io::copy(&mut response, &mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(CliError::transport(format!("reading the response failed: {}", chain(&e)))),
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
