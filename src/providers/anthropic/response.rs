//! A Messages API answer → Converse output; the stop reason, usage and citation readers streams share.

use aws_smithy_types::{Blob, Document};
use quarry_bedrock_runtime::operation::converse::ConverseOutput;
use quarry_bedrock_runtime::types::{
    Citation, CitationGeneratedContent, CitationLocation, CitationSourceContent,
    CitationsContentBlock, ContentBlock, DocumentCharLocation, DocumentChunkLocation,
    DocumentPageLocation, ReasoningContentBlock, ReasoningTextBlock, SearchResultLocation,
    StopReason, TokenUsage, ToolUseBlock, WebLocation,
};
use serde_json::Value;

use super::NAME;
use crate::providers::ProviderError;
use crate::providers::vocab::{self, malformed_upstream};

/// Anthropic's `stop_reason` as a Converse stop reason.
pub fn stop_reason(reason: &str) -> StopReason {
    match reason {
        "tool_use" => StopReason::ToolUse,
        "max_tokens" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        "refusal" => StopReason::ContentFiltered,
        // Converse has this very reason (Bedrock reports it for Claude), so it is kept as is.
        "model_context_window_exceeded" => StopReason::ModelContextWindowExceeded,
        // end_turn; pause_turn (a server tool paused a long turn: this answer is complete, the
        // caller sends it back to continue); and reasons added later, the turn having ended.
        _ => StopReason::EndTurn,
    }
}

/// `additionalModelResponseFields` for an answer: the stop sequence that ended it, which Bedrock
/// reports for Claude under Anthropic's own name.
pub fn stop_fields(stop_sequence: Option<&str>) -> Option<Document> {
    stop_sequence.map(|s| {
        Document::Object([("stop_sequence".to_owned(), Document::String(s.to_owned()))].into())
    })
}

fn count(v: &Value) -> Option<i32> {
    v.as_i64()
        .map(|n| i32::try_from(n.max(0)).unwrap_or(i32::MAX))
}

/// Anthropic's usage as Converse usage. Anthropic's `input_tokens` already leaves out cached
/// tokens, as Bedrock's does; cache counts of zero (no caching happened) are left out.
pub fn usage(u: &Value) -> TokenUsage {
    vocab::usage(
        count(&u["input_tokens"]).unwrap_or(0),
        count(&u["output_tokens"]).unwrap_or(0),
        count(&u["cache_read_input_tokens"]).filter(|n| *n > 0),
        count(&u["cache_creation_input_tokens"]).filter(|n| *n > 0),
    )
}

fn int(v: &Value, key: &str) -> Option<i32> {
    v[key].as_i64().and_then(|n| i32::try_from(n).ok())
}

fn string(v: &Value, key: &str) -> Option<String> {
    v[key].as_str().map(str::to_owned)
}

/// The parts of an Anthropic citation as Converse names them: title, source, cited text and
/// location. A citation type added later keeps its title and cited text, without a location.
pub struct CitationParts {
    pub title: Option<String>,
    pub source: Option<String>,
    pub cited_text: Option<String>,
    pub location: Option<CitationLocation>,
}

pub fn citation_parts(c: &Value) -> CitationParts {
    let (title, source, location) = match c["type"].as_str().unwrap_or_default() {
        "char_location" => (
            string(c, "document_title"),
            None,
            Some(CitationLocation::DocumentChar(DocumentCharLocation {
                document_index: int(c, "document_index"),
                start: int(c, "start_char_index"),
                end: int(c, "end_char_index"),
            })),
        ),
        "page_location" => (
            string(c, "document_title"),
            None,
            Some(CitationLocation::DocumentPage(DocumentPageLocation {
                document_index: int(c, "document_index"),
                start: int(c, "start_page_number"),
                end: int(c, "end_page_number"),
            })),
        ),
        "content_block_location" => (
            string(c, "document_title"),
            None,
            Some(CitationLocation::DocumentChunk(DocumentChunkLocation {
                document_index: int(c, "document_index"),
                start: int(c, "start_block_index"),
                end: int(c, "end_block_index"),
            })),
        ),
        "search_result_location" => (
            string(c, "title"),
            string(c, "source"),
            Some(CitationLocation::SearchResultLocation(
                SearchResultLocation {
                    search_result_index: int(c, "search_result_index"),
                    start: int(c, "start_block_index"),
                    end: int(c, "end_block_index"),
                },
            )),
        ),
        "web_search_result_location" => (
            string(c, "title"),
            string(c, "url"),
            Some(CitationLocation::Web(WebLocation {
                url: string(c, "url"),
                domain: None,
            })),
        ),
        _ => (
            string(c, "document_title").or_else(|| string(c, "title")),
            None,
            None,
        ),
    };
    CitationParts {
        title,
        source,
        cited_text: string(c, "cited_text"),
        location,
    }
}

fn citation(c: &Value) -> Citation {
    let parts = citation_parts(c);
    Citation {
        title: parts.title,
        source: parts.source,
        source_content: parts
            .cited_text
            .map(|t| vec![CitationSourceContent::Text(t)]),
        location: parts.location,
    }
}

/// One content block of an answer. Blocks Converse has no shape for (server tool calls and their
/// results) are an error naming them rather than a silent gap in the answer.
fn block(b: &Value) -> Result<ContentBlock, ProviderError> {
    let text = |field: &str| -> Result<String, ProviderError> {
        b[field].as_str().map(str::to_owned).ok_or_else(|| {
            malformed_upstream(NAME, format!("a {} block without {field}", b["type"]))
        })
    };
    Ok(match b["type"].as_str().unwrap_or_default() {
        "text" => match b["citations"].as_array().filter(|c| !c.is_empty()) {
            Some(citations) => ContentBlock::CitationsContent(CitationsContentBlock {
                content: Some(vec![CitationGeneratedContent::Text(text("text")?)]),
                citations: Some(citations.iter().map(citation).collect()),
            }),
            None => ContentBlock::Text(text("text")?),
        },
        "tool_use" => ContentBlock::ToolUse(ToolUseBlock {
            tool_use_id: text("id")?,
            name: text("name")?,
            input: match &b["input"] {
                Value::Null => Document::Object(Default::default()),
                input => vocab::to_document(input),
            },
            r#type: None,
        }),
        "thinking" => ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(
            ReasoningTextBlock {
                text: text("thinking")?,
                signature: string(b, "signature").filter(|s| !s.is_empty()),
            },
        )),
        "redacted_thinking" => ContentBlock::ReasoningContent(
            ReasoningContentBlock::RedactedContent(Blob::new(text("data")?.into_bytes())),
        ),
        other => {
            return Err(malformed_upstream(
                NAME,
                format!("content of type {other:?} has no Converse equivalent"),
            ));
        }
    })
}

pub fn output(body: &[u8], latency_ms: i64) -> Result<ConverseOutput, ProviderError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| malformed_upstream(NAME, e))?;
    let Some(blocks) = v["content"].as_array() else {
        return Err(malformed_upstream(NAME, "the answer has no content"));
    };
    let content = blocks.iter().map(block).collect::<Result<Vec<_>, _>>()?;
    let stop = stop_reason(v["stop_reason"].as_str().unwrap_or("end_turn"));
    Ok(vocab::output(
        content,
        stop,
        usage(&v["usage"]),
        latency_ms,
        stop_fields(v["stop_sequence"].as_str()),
    ))
}
