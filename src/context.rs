//! What the gateway knows about the request being served, visible to handlers on the same task.
//!
//! The generated handlers receive only the modeled input; routing (`x-model-provider`) and the
//! mock's switches need request headers, so `dispatch` scopes a [`CallContext`] around each call.

use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static CONTEXT: Arc<CallContext>;
}

/// The request's id and the headers a handler may act on.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    pub request_id: String,
    /// Shared with every provider call the request makes, never copied.
    pub headers: Arc<http::HeaderMap>,
    /// The gateway-issued key the request was signed with (`sigv4` mode only).
    pub identity: Option<crate::auth::Identity>,
    /// For a verified S3 upload in signed `aws-chunked` chunks: what each chunk's signature
    /// chains from (`sigv4` mode only; without it chunk signatures cannot be checked).
    pub chunk_signing: Option<crate::files::chunked::ChunkSigning>,
}

impl CallContext {
    /// The context of the request served on this task; empty outside a request (e.g. in unit
    /// tests). Shared, not copied: a call reads it several times and the headers are many.
    pub fn current() -> Arc<Self> {
        CONTEXT.try_with(Arc::clone).unwrap_or_default()
    }
}

/// Runs `fut` with `ctx` as the current call context.
pub fn scope<F: Future>(ctx: CallContext, fut: F) -> impl Future<Output = F::Output> {
    CONTEXT.scope(Arc::new(ctx), fut)
}
