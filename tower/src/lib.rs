#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod layer;
mod response;

pub use crate::layer::{Verify, VerifyLayer};
pub use crate::response::error_response;
