//! The hand-written glue generated service crates share: validation wording, protocols, serving helpers.

mod build;
pub mod validation;

pub use self::build::BuildError;
