//! The conformance vectors (format: `conformance/README.md`) and the reporting every runner shares:
//! a diff per failing case and the closing line `N passed, M failed`; and [`client`], the raw
//! HTTP/1.1 client the gateway's tests and replay send exact bytes with.

pub mod client;
pub mod report;
pub mod vector;

pub use report::{Outcome, Report};
pub use vector::{CredentialType, SignVector, TestRequest, Vector, VerifyVector, default_vector_files, load_file};
