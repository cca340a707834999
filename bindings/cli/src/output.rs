//! Writing to stdout and stderr without panicking (a closed pipe is not an error).

use std::io::{self, Write};

use apig::ErrorKind;
use serde::Serialize;

use crate::errors::CliError;

/// `value` as one line of JSON.
pub(crate) fn json(value: &impl Serialize) -> Result<String, CliError> {
    serde_json::to_string(value)
        .map_err(|e| CliError::usage(ErrorKind::InvalidRequest, format!("cannot write JSON output: {e}")))
}

/// Writes `bytes` to stdout; a reader that went away (`| head`) ends the output quietly.
pub(crate) fn stdout(bytes: &[u8]) -> Result<(), CliError> {
    write_all(&mut io::stdout().lock(), bytes)
}

/// Writes `text` to stderr.
pub(crate) fn stderr(text: &str) {
    // nothing sensible is left to do when stderr itself fails
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

pub(crate) fn write_all(out: &mut impl Write, bytes: &[u8]) -> Result<(), CliError> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::usage(ErrorKind::InvalidRequest, format!("cannot write output: {e}"))),
    }
}
