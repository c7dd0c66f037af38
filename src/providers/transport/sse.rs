//! Server-sent events, parsed incrementally from body chunks as they arrive.

use bytes::{Buf as _, BytesMut};

use crate::providers::api::SseEvent;

/// The most one event may hold; a provider sending more is misbehaving, not slow.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// An incremental SSE parser: feed chunks, take whole events.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: BytesMut,
    /// How far `buffer` was already scanned for a line end, so a long event is scanned once.
    scanned: usize,
    event: Option<String>,
    data: Vec<String>,
    data_len: usize,
    has_data: bool,
}

/// An event larger than [`MAX_EVENT_BYTES`], or one that is not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an event exceeds {MAX_EVENT_BYTES} bytes")]
    TooLarge,
    #[error("an event is not UTF-8")]
    NotUtf8,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a chunk and returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        self.buffer.extend_from_slice(chunk);
        let mut out = Vec::new();
        loop {
            let Some(pos) = self.buffer[self.scanned..]
                .iter()
                .position(|b| *b == b'\n' || *b == b'\r')
            else {
                self.scanned = self.buffer.len();
                if self.buffer.len() > MAX_EVENT_BYTES {
                    return Err(SseError::TooLarge);
                }
                return Ok(out);
            };
            let end = self.scanned + pos;
            // "\r\n" is one line end; a lone "\r" at the chunk's end may be the first half of one.
            let terminator = if self.buffer[end] == b'\r' {
                match self.buffer.get(end + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    None => {
                        self.scanned = end;
                        return Ok(out);
                    }
                }
            } else {
                1
            };
            let line = self.buffer.split_to(end);
            self.buffer.advance(terminator);
            self.scanned = 0;
            let line = std::str::from_utf8(&line).map_err(|_| SseError::NotUtf8)?;
            if let Some(event) = self.line(line)? {
                out.push(event);
            }
        }
    }

    /// The event a stream that ended without a final blank line was in the middle of.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, SseError> {
        if !self.buffer.is_empty() {
            let rest = self.buffer.split();
            let line = std::str::from_utf8(&rest).map_err(|_| SseError::NotUtf8)?;
            if let Some(event) = self.line(line)? {
                return Ok(Some(event));
            }
        }
        Ok(self.dispatch())
    }

    fn line(&mut self, line: &str) -> Result<Option<SseEvent>, SseError> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                self.data_len += value.len() + 1;
                if self.data_len > MAX_EVENT_BYTES {
                    return Err(SseError::TooLarge);
                }
                self.data.push(value.to_owned());
                self.has_data = true;
            }
            // `id` and `retry` steer browser reconnection; no provider stream is resumable.
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        self.data_len = 0;
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data).join("\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.push(c).unwrap());
        }
        out.extend(p.finish().unwrap());
        out
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn named_events_and_multi_line_data() {
        let got = all(&[b"event: message_start\ndata: {\"a\":1}\n\n: ping\ndata: x\ndata: y\n\n"]);
        assert_eq!(
            got,
            vec![ev(Some("message_start"), "{\"a\":1}"), ev(None, "x\ny")]
        );
    }

    #[test]
    fn events_split_anywhere_across_chunks_including_inside_crlf() {
        let wire = b"data: {\"choices\":[]}\r\n\r\ndata: [DONE]\r\n\r\n";
        let whole = all(&[wire]);
        assert_eq!(
            whole,
            vec![ev(None, "{\"choices\":[]}"), ev(None, "[DONE]")]
        );
        for cut in 1..wire.len() {
            assert_eq!(all(&[&wire[..cut], &wire[cut..]]), whole, "cut at {cut}");
        }
        let bytewise: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(all(&bytewise), whole);
    }

    #[test]
    fn a_stream_ending_without_a_blank_line_still_yields_its_last_event() {
        assert_eq!(all(&[b"data: last"]), vec![ev(None, "last")]);
    }

    #[test]
    fn events_without_data_are_not_events() {
        assert_eq!(all(&[b"event: ping\n\n"]), vec![]);
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut p = SseParser::new();
        let big = vec![b'a'; MAX_EVENT_BYTES + 1];
        assert_eq!(p.push(&big), Err(SseError::TooLarge));
    }
}
