//! Quarry: a gateway that speaks AWS Bedrock and S3 exactly as AWS does.
//!
//! `dispatch` puts the generated service crates (`generated/`) behind one HTTP service; `runtime`
//! implements Bedrock Runtime over `providers`, with InvokeModel bodies translated by `families`;
//! `files` serves the S3 API over the local store and providers' file APIs; `batch` runs
//! model-invocation jobs on its engine or the providers' batch APIs; `auth` verifies SigV4 and
//! bearer tokens; `config` turns TOML into runtime settings.

pub mod app;
pub mod auth;
pub mod batch;
pub mod config;
pub mod context;
pub mod db;
pub mod dispatch;
pub mod families;
pub mod files;
pub mod providers;
pub mod runtime;
pub mod server;
pub mod stubs;
