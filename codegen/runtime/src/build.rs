//! The error a generated builder returns when a required member was never set.

/// A required member was not set before `build()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shape}: required member `{member}` was not set")]
pub struct BuildError {
    shape: &'static str,
    member: &'static str,
}

impl BuildError {
    pub const fn missing(shape: &'static str, member: &'static str) -> Self {
        Self { shape, member }
    }

    pub fn member(&self) -> &'static str {
        self.member
    }
}
