#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod chain;
mod credentials;
mod env;
mod error;
mod metadata;
mod profile;
mod provider;

pub use crate::chain::{Answered, ChainProvider};
pub use crate::credentials::Credentials;
pub use crate::env::{AK_VAR, DOMAIN_ID_VAR, EnvironmentProvider, PROJECT_ID_VAR, SECURITY_TOKEN_VAR, SK_VAR};
pub use crate::error::{CredentialsError, CredentialsErrorKind};
pub use crate::metadata::{
    DEFAULT_ENDPOINT, DEFAULT_MIN_REFRESH_INTERVAL, DEFAULT_REFRESH_MARGIN, DEFAULT_TIMEOUT, MetadataProvider,
    MetadataSettings,
};
pub use crate::profile::{BASIC, CREDENTIALS_FILE_VAR, GLOBAL, ProfileProvider};
pub use crate::provider::{ProvideCredentials, StaticProvider};
