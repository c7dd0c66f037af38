//! Quarry: a gateway that speaks AWS Bedrock and S3 exactly as AWS does.
//!
//! This crate wires the generated service crates (`generated/`) into one HTTP service; the
//! handlers here answer `NotImplemented` until the gateway issue fills them in.

pub mod dispatch;
pub mod stubs;
