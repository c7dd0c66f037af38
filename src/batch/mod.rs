//! Batch inference: the Bedrock model-invocation-job API, run on the local engine or on a
//! provider's own batch API, always writing Bedrock's output files into the file store.

pub mod bedrock;
pub mod driver;
pub mod engine;
pub mod errors;
pub mod ids;
pub mod jobs;
pub mod json;
pub mod models;
pub mod native;
pub mod record;
pub mod service;
pub mod storage;
