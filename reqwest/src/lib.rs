#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod middleware;

pub use crate::middleware::SigningMiddleware;
