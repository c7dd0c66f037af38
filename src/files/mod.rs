//! The S3-compatible files API served at `/bedrock/files`: local durable storage, provider file stores and real S3 buckets.

pub mod checksum;
pub mod chunked;
pub mod names;
pub mod relay;
pub mod remote;
pub mod routing;
pub mod service;
pub mod store;
pub mod subresources;
