//! The hand-written glue generated service crates share: validation wording, protocols, request context.

mod build;
pub mod protocol;
pub mod request;
pub mod routes;
pub mod validation;

pub use self::build::BuildError;
