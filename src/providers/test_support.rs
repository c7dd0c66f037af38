//! Test helpers the adapters share: Converse builders, an SSE splitter, the stream-shape check,
//! and the round-trip properties' generated histories and normalized content.

use aws_smithy_types::{Blob, Document};
use proptest::prelude::*;
use quarry_bedrock_runtime::operation::converse::ConverseInput;
use quarry_bedrock_runtime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput, DocumentBlock,
    DocumentFormat, DocumentSource, ImageBlock, ImageFormat, ImageSource, Message,
    ReasoningContentBlock, ReasoningTextBlock, ToolResultBlock, ToolResultContentBlock,
    ToolResultStatus, ToolUseBlock,
};
use serde_json::{Value, json};

use super::api::SseEvent;
use super::{ConverseCall, ModelId, vocab};

/// A generated assistant turn: plain text, or tool calls (id, name, a number input).
#[derive(Debug, Clone)]
pub enum Turn {
    Text(String),
    Tools(Vec<(String, String, i64)>),
}

impl Turn {
    /// The turn's content blocks.
    pub fn content(&self) -> Vec<ContentBlock> {
        match self {
            Turn::Text(text) => vec![ContentBlock::Text(text.clone())],
            Turn::Tools(calls) => calls
                .iter()
                .map(|(id, name, n)| {
                    ContentBlock::ToolUse(ToolUseBlock {
                        tool_use_id: id.clone(),
                        name: name.clone(),
                        input: Document::Object([("n".to_owned(), Document::from(*n))].into()),
                        r#type: None,
                    })
                })
                .collect(),
        }
    }
}

/// Turns whose tool ids look like `id_pattern` (each provider has its own id style).
pub fn turn(id_pattern: &'static str) -> impl Strategy<Value = Turn> {
    prop_oneof![
        "[a-zA-Z0-9 ,.!?éü]{1,40}".prop_map(Turn::Text),
        proptest::collection::vec((id_pattern, "[a-z_]{1,12}", any::<i64>()), 1..3)
            .prop_map(Turn::Tools),
    ]
}

/// Content with documents as JSON, so a `0` written as a negative-int document equals `0`.
pub fn normalized(content: &[ContentBlock]) -> Vec<Value> {
    content
        .iter()
        .map(|b| match b {
            ContentBlock::Text(t) => json!({ "text": t }),
            ContentBlock::ToolUse(t) => json!({ "id": t.tool_use_id, "name": t.name,
                "input": super::vocab::to_value(&t.input) }),
            other => json!(format!("{other:?}")),
        })
        .collect()
}

// ---------- builders and stream checks ----------

pub fn call_for(model: &str, request: ConverseInput) -> ConverseCall {
    ConverseCall {
        model: ModelId::new(model),
        request,
        headers: Default::default(),
    }
}

pub fn user(content: Vec<ContentBlock>) -> Message {
    Message {
        role: ConversationRole::User,
        content,
    }
}

pub fn assistant(content: Vec<ContentBlock>) -> Message {
    Message {
        role: ConversationRole::Assistant,
        content,
    }
}

pub fn text(t: &str) -> ContentBlock {
    ContentBlock::Text(t.to_owned())
}

pub fn doc(v: Value) -> Document {
    vocab::to_document(&v)
}

pub fn tool_use(id: &str, name: &str, args: Value) -> ContentBlock {
    ContentBlock::ToolUse(ToolUseBlock {
        tool_use_id: id.into(),
        name: name.into(),
        input: doc(args),
        r#type: None,
    })
}

pub fn tool_result(
    id: &str,
    content: Vec<ToolResultContentBlock>,
    status: Option<ToolResultStatus>,
) -> ContentBlock {
    ContentBlock::ToolResult(ToolResultBlock {
        tool_use_id: id.into(),
        content,
        status,
        r#type: None,
    })
}

pub fn reasoning(t: &str, signature: Option<&str>) -> ContentBlock {
    ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(ReasoningTextBlock {
        text: t.into(),
        signature: signature.map(str::to_owned),
    }))
}

pub fn image(format: ImageFormat, bytes: &[u8]) -> ImageBlock {
    ImageBlock {
        format,
        source: ImageSource::Bytes(Blob::new(bytes.to_vec())),
        error: None,
    }
}

pub fn document(
    name: &str,
    format: Option<DocumentFormat>,
    source: DocumentSource,
) -> DocumentBlock {
    DocumentBlock {
        format,
        name: name.into(),
        source,
        context: None,
        citations: None,
    }
}

pub fn bytes(b: &[u8]) -> DocumentSource {
    DocumentSource::Bytes(Blob::new(b.to_vec()))
}

/// Splits an SSE body into events, as transport's parser does.
pub fn sse_events(body: &str) -> Vec<SseEvent> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = SseEvent::default();
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(d) = line.strip_prefix("data:") {
                    data.push(d.strip_prefix(' ').unwrap_or(d));
                } else if let Some(e) = line.strip_prefix("event:") {
                    event.event = Some(e.trim().to_owned());
                }
            }
            event.data = data.join("\n");
            event
        })
        .collect()
}

/// Asserts the Converse stream contract: messageStart; blocks indexed 0, 1, 2… each opened (by a
/// tool start or its first delta), fed and stopped before the next; messageStop; metadata last.
pub fn assert_well_formed(events: &[ConverseStreamOutput]) {
    let n = events.len();
    assert!(n >= 3, "{events:#?}");
    assert!(
        matches!(events[0], ConverseStreamOutput::MessageStart(_)),
        "{events:#?}"
    );
    assert!(
        matches!(events[n - 2], ConverseStreamOutput::MessageStop(_)),
        "{events:#?}"
    );
    assert!(
        matches!(events[n - 1], ConverseStreamOutput::Metadata(_)),
        "{events:#?}"
    );
    let mut open: Option<i32> = None;
    let mut next = 0;
    for e in &events[1..n - 2] {
        match e {
            ConverseStreamOutput::ContentBlockStart(s) => {
                assert_eq!((open, s.content_block_index), (None, next), "{events:#?}");
                open = Some(next);
            }
            ConverseStreamOutput::ContentBlockDelta(d) => {
                if open.is_none() {
                    assert_eq!(d.content_block_index, next, "{events:#?}");
                    assert!(
                        !matches!(d.delta, ContentBlockDelta::ToolUse(_)),
                        "tool input before its start"
                    );
                    open = Some(next);
                }
                assert_eq!(open, Some(d.content_block_index), "{events:#?}");
            }
            ConverseStreamOutput::ContentBlockStop(s) => {
                assert_eq!(open, Some(s.content_block_index), "{events:#?}");
                open = None;
                next += 1;
            }
            other => panic!("unexpected mid-stream {other:?}"),
        }
    }
    assert_eq!(open, None, "a block left open: {events:#?}");
}
