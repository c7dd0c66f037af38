//! InvokeModel and its stream over Converse providers: the family codec translates both ways.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use aws_smithy_types::Blob;
use futures_util::Stream;
use quarry_bedrock_runtime::types::{PayloadPart, ResponseStream, ResponseStreamError};

use super::errors::wire;
use crate::families::FamilyStreamEncoder;
use crate::providers::{EventStream, ProviderError};

/// The only body type the text families take, as on Bedrock.
pub const JSON: &str = "application/json";

/// Refuses a body that is not JSON, naming the content type.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), ProviderError> {
    match content_type {
        None => Ok(()),
        Some(ct)
            if ct
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(JSON)) =>
        {
            Ok(())
        }
        Some(ct) => Err(ProviderError::validation(format!(
            "The provided content type {ct} is not supported; the model accepts {JSON}"
        ))),
    }
}

/// A Converse event stream re-encoded as the family's `chunk` events, ending at the first failure.
pub struct FamilyChunks {
    events: EventStream,
    encoder: FamilyStreamEncoder,
    pending: VecDeque<Result<ResponseStream, ResponseStreamError>>,
    started: Instant,
    first_byte: bool,
    done: bool,
}

impl FamilyChunks {
    pub fn new(events: EventStream, encoder: FamilyStreamEncoder) -> Self {
        Self {
            events,
            encoder,
            pending: VecDeque::new(),
            started: Instant::now(),
            first_byte: false,
            done: false,
        }
    }

    fn queue(&mut self, chunks: Vec<Vec<u8>>) {
        for bytes in chunks {
            let part = PayloadPart::builder().bytes(Blob::new(bytes)).build();
            self.pending.push_back(Ok(ResponseStream::Chunk(part)));
        }
    }
}

impl Stream for FamilyChunks {
    type Item = Result<ResponseStream, ResponseStreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Poll::Ready(Some(item));
            }
            if self.done {
                return Poll::Ready(None);
            }
            match self.events.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(event))) => {
                    if !self.first_byte {
                        self.first_byte = true;
                        let ms =
                            i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
                        self.encoder.set_first_byte_latency_ms(ms);
                    }
                    let chunks = self.encoder.push(&event);
                    self.queue(chunks);
                }
                Poll::Ready(Some(Err(err))) => {
                    self.pending.push_back(Err(wire(err)));
                    self.done = true;
                }
                Poll::Ready(None) => {
                    let chunks = self.encoder.finish();
                    self.queue(chunks);
                    self.done = true;
                }
            }
        }
    }
}
