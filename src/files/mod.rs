//! The S3-compatible files API served at `/bedrock/files`: local durable storage and provider file stores.

pub mod checksum;
pub mod chunked;
pub mod names;
pub mod remote;
pub mod routing;
pub mod service;
pub mod store;
pub mod subresources;
