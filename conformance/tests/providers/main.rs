//! Each provider adapter behind the gateway, against a wiremock upstream, through the AWS SDK:
//! the exact upstream request, the answer the client sees, errors, retries and fallbacks.

mod anthropic;
#[path = "../common/mod.rs"]
mod common;
mod gemini;
mod harness;
mod openai;
mod reliability;
