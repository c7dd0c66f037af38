//! Batch inference: the Bedrock model-invocation-job API, run on the local engine or on a
//! provider's own batch API, always writing Bedrock's output files into the file store.

pub mod json;
pub mod native;
pub mod record;
