//! The conformance vectors (format: `conformance/README.md`) and the reporting every runner shares:
//! a diff per failing case and the closing line `N passed, M failed`.

pub mod report;
pub mod vector;

pub use report::{Outcome, Report};
pub use vector::{SignVector, TestRequest, Vector, VerifyVector, default_vector_files, load_file};
