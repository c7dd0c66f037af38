//! Test helpers the adapters' round-trip properties share: generated histories, normalized content.

use aws_smithy_types::Document;
use proptest::prelude::*;
use quarry_bedrock_runtime::types::{ContentBlock, ToolUseBlock};
use serde_json::{Value, json};

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
