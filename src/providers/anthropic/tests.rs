//! Unit tests: request bodies, answers, SSE fixtures through the decoder, refusals, a round trip.

use aws_smithy_types::Blob;
use base64::Engine as _;
use proptest::prelude::*;
use quarry_bedrock_runtime::operation::converse::{ConverseInput, ConverseOutput};
use quarry_bedrock_runtime::types::{
    AnyToolChoice, AudioBlock, AudioFormat, AudioSource, AutoToolChoice, CachePointBlock,
    CachePointType, CacheTtl, Citation, CitationGeneratedContent, CitationLocation,
    CitationSourceContent, CitationsConfig, CitationsContentBlock, ContentBlock, ContentBlockDelta,
    ContentBlockStart, ConversationRole, ConverseOutput as Answer, ConverseStreamOutput,
    DocumentBlock, DocumentCharLocation, DocumentContentBlock, DocumentFormat, DocumentSource,
    GuardrailConverseContentBlock, GuardrailConverseTextBlock, ImageBlock, ImageFormat,
    ImageSource, InferenceConfiguration, Message, OutputConfig, ReasoningContentBlock,
    ReasoningContentBlockDelta, S3Location, SearchResultBlock, SearchResultContentBlock,
    SpecificToolChoice, StopReason, SystemContentBlock, SystemTool, Tool, ToolChoice,
    ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolResultStatus,
    ToolSpecification, ToolUseBlock, ToolUseType, VideoBlock, VideoFormat, VideoSource,
    WebLocation,
};
use serde_json::{Value, json};

use super::*;
use crate::providers::api::SseEvent;
use crate::providers::test_support::{
    assert_well_formed, assistant, bytes, call_for, doc, document, image, reasoning, sse_events,
    text, tool_result, tool_use, user,
};
use crate::providers::vocab;

// ---------- builders ----------

fn api() -> Anthropic {
    Anthropic::new("2023-06-01".into())
}

fn input(messages: Vec<Message>) -> ConverseInput {
    ConverseInput {
        messages: Some(messages),
        ..ConverseInput::builder()
            .model_id("anthropic.claude-sonnet-4-5")
            .build()
            .unwrap()
    }
}

fn call_of(request: ConverseInput) -> ConverseCall {
    call_for("claude-sonnet-4-5", request)
}

fn call(messages: Vec<Message>) -> ConverseCall {
    call_of(input(messages))
}

fn cache_point(ttl: Option<CacheTtl>) -> CachePointBlock {
    CachePointBlock {
        r#type: CachePointType::Default,
        ttl,
    }
}

fn tool_spec(name: &str, description: Option<&str>) -> Tool {
    Tool::ToolSpec(ToolSpecification {
        name: name.into(),
        description: description.map(str::to_owned),
        input_schema: ToolInputSchema::Json(doc(json!({
            "type": "object",
            "properties": { "location": { "type": "string" } },
            "required": ["location"],
        }))),
        strict: None,
    })
}

fn with_tools(
    mut request: ConverseInput,
    tools: Vec<Tool>,
    choice: Option<ToolChoice>,
) -> ConverseInput {
    request.tool_config = Some(ToolConfiguration {
        tools,
        tool_choice: choice,
    });
    request
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The request as the provider receives it, for snapshots.
fn rendered(request: &UpstreamRequest) -> Value {
    json!({
        "path": request.path_and_query,
        "headers": request.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        "body": request.body,
    })
}

fn header<'a>(request: &'a UpstreamRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

fn refusal(request: ConverseInput) -> ProviderError {
    api().request(&call_of(request), false).unwrap_err()
}

fn answer(output: &ConverseOutput) -> &[ContentBlock] {
    let Answer::Message(m) = &output.output;
    &m.content
}

// ---------- requests ----------

#[test]
fn request_system_turns_and_inference_config() {
    let mut request = input(vec![
        user(vec![text("What is the capital of France?")]),
        assistant(vec![text("Paris.")]),
        user(vec![text("And of Italy?")]),
    ]);
    request.system = Some(vec![
        SystemContentBlock::Text("You are a geography tutor.".into()),
        SystemContentBlock::Text("Answer in one word.".into()),
        SystemContentBlock::CachePoint(cache_point(Some(CacheTtl::V1h))),
    ]);
    request.inference_config = Some(InferenceConfiguration {
        max_tokens: Some(512),
        temperature: Some(0.5),
        top_p: Some(0.9),
        stop_sequences: Some(vec!["END".into()]),
    });
    // Claude 4.5 models take temperature or top_p, not both; Claude 3.7 Sonnet takes both.
    let r = api()
        .request(&call_for("claude-3-7-sonnet-20250219", request), true)
        .unwrap();
    assert_eq!(r.path_and_query, "/v1/messages");
    assert_eq!(header(&r, "anthropic-version"), Some("2023-06-01"));
    assert_eq!(header(&r, "anthropic-beta"), None);
    let b = &r.body;
    assert_eq!(b["model"], "claude-3-7-sonnet-20250219");
    assert_eq!(
        b["system"][0],
        json!({ "type": "text", "text": "You are a geography tutor." })
    );
    assert_eq!(
        b["system"][1]["cache_control"],
        json!({ "type": "ephemeral", "ttl": "1h" })
    );
    assert_eq!(b["system"].as_array().unwrap().len(), 2);
    let roles: Vec<&str> = b["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(b["max_tokens"], 512);
    assert_eq!(b["temperature"], json!(0.5));
    assert_eq!(b["top_p"], json!(0.9));
    assert_eq!(b["stop_sequences"], json!(["END"]));
    assert_eq!(b["stream"], true);
    insta::assert_json_snapshot!("request_system_turns_config", rendered(&r));
}

#[test]
fn a_whole_request_has_no_stream_field_and_the_default_max_tokens() {
    let r = api()
        .request(&call(vec![user(vec![text("Hi")])]), false)
        .unwrap();
    assert!(r.body.get("stream").is_none());
    assert_eq!(r.body["max_tokens"], DEFAULT_MAX_TOKENS);
    assert_eq!(DEFAULT_MAX_TOKENS, 4096);
    assert!(r.body.get("system").is_none());
    assert!(r.body.get("temperature").is_none());
}

#[test]
fn request_thinking_fields_betas_and_the_raised_default() {
    let mut request = input(vec![user(vec![text(
        "Prove there are infinitely many primes.",
    )])]);
    request.additional_model_request_fields = Some(doc(json!({
        "thinking": { "type": "enabled", "budget_tokens": 10000 },
        "metadata": { "user_id": "user-7f3a" },
        "anthropic_beta": ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"],
    })));
    let r = api().request(&call_of(request.clone()), true).unwrap();
    assert_eq!(
        r.body["thinking"],
        json!({ "type": "enabled", "budget_tokens": 10000 })
    );
    assert_eq!(r.body["metadata"], json!({ "user_id": "user-7f3a" }));
    // The budget does not fit in the default, so the default is added on top of it.
    assert_eq!(r.body["max_tokens"], 10000 + 4096);
    assert!(r.body.get("anthropic_beta").is_none());
    assert_eq!(
        header(&r, "anthropic-beta"),
        Some("interleaved-thinking-2025-05-14,context-1m-2025-08-07")
    );
    insta::assert_json_snapshot!("request_thinking_and_betas", rendered(&r));

    // A maxTokens the caller gave is kept, even when upstream will refuse it.
    request.inference_config = Some(InferenceConfiguration {
        max_tokens: Some(2048),
        temperature: None,
        top_p: None,
        stop_sequences: None,
    });
    let r = api().request(&call_of(request.clone()), false).unwrap();
    assert_eq!(r.body["max_tokens"], 2048);

    // A budget smaller than the default leaves the default alone; a single beta is a string.
    request.inference_config = None;
    request.additional_model_request_fields = Some(doc(json!({
        "thinking": { "type": "enabled", "budget_tokens": 1024 },
        "anthropic_beta": "token-efficient-tools-2025-02-19",
    })));
    let r = api().request(&call_of(request), false).unwrap();
    assert_eq!(r.body["max_tokens"], 4096);
    assert_eq!(
        header(&r, "anthropic-beta"),
        Some("token-efficient-tools-2025-02-19")
    );
}

#[test]
fn additional_fields_merge_deeply_and_win() {
    let mut request = with_tools(
        input(vec![user(vec![text("Weather?")])]),
        vec![tool_spec("get_weather", None)],
        Some(ToolChoice::Auto(AutoToolChoice {})),
    );
    request.additional_model_request_fields = Some(doc(json!({
        "tool_choice": { "disable_parallel_tool_use": true },
        "max_tokens": 100,
    })));
    let r = api().request(&call_of(request), false).unwrap();
    assert_eq!(
        r.body["tool_choice"],
        json!({ "type": "auto", "disable_parallel_tool_use": true })
    );
    assert_eq!(r.body["max_tokens"], 100);
}

#[test]
fn request_tools_with_cache_point_and_named_choice() {
    let request = with_tools(
        input(vec![user(vec![text("Weather in Paris?")])]),
        vec![
            tool_spec("get_weather", Some("Current weather for a location.")),
            tool_spec("get_time", None),
            Tool::CachePoint(cache_point(Some(CacheTtl::V5m))),
        ],
        Some(ToolChoice::Tool(SpecificToolChoice {
            name: "get_weather".into(),
        })),
    );
    let r = api().request(&call_of(request), false).unwrap();
    let tools = r.body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0]["name"], "get_weather");
    assert_eq!(tools[0]["description"], "Current weather for a location.");
    assert_eq!(tools[0]["input_schema"]["required"], json!(["location"]));
    assert!(tools[0].get("cache_control").is_none());
    assert!(tools[1].get("description").is_none());
    // Five minutes is Anthropic's default, so no ttl is written.
    assert_eq!(tools[1]["cache_control"], json!({ "type": "ephemeral" }));
    assert_eq!(
        r.body["tool_choice"],
        json!({ "type": "tool", "name": "get_weather" })
    );
    insta::assert_json_snapshot!("request_tools_named_choice", rendered(&r));
}

#[test]
fn tool_choices_auto_and_any() {
    for (choice, expected) in [
        (
            ToolChoice::Auto(AutoToolChoice {}),
            json!({ "type": "auto" }),
        ),
        (ToolChoice::Any(AnyToolChoice {}), json!({ "type": "any" })),
    ] {
        let request = with_tools(
            input(vec![user(vec![text("Hi")])]),
            vec![tool_spec("get_weather", None)],
            Some(choice),
        );
        let r = api().request(&call_of(request), false).unwrap();
        assert_eq!(r.body["tool_choice"], expected);
    }
}

#[test]
fn request_tool_use_and_results() {
    let r = api()
        .request(
            &call(vec![
                user(vec![text("Weather in Paris, and the forecast doc?")]),
                assistant(vec![
                    text("Checking."),
                    tool_use("toolu_01A", "get_weather", json!({ "location": "Paris" })),
                    tool_use("toolu_01B", "get_forecast", json!({})),
                ]),
                user(vec![
                    tool_result(
                        "toolu_01A",
                        vec![
                            ToolResultContentBlock::Json(doc(
                                json!({ "temp_c": 18, "sky": "clear" }),
                            )),
                            ToolResultContentBlock::Text("Source: Météo-France".into()),
                            ToolResultContentBlock::Image(image(ImageFormat::Png, b"\x89PNG")),
                        ],
                        Some(ToolResultStatus::Success),
                    ),
                    tool_result(
                        "toolu_01B",
                        vec![
                            ToolResultContentBlock::Text("forecast service unavailable".into()),
                            ToolResultContentBlock::Document(document(
                                "error-report",
                                Some(DocumentFormat::Txt),
                                bytes(b"HTTP 503"),
                            )),
                        ],
                        Some(ToolResultStatus::Error),
                    ),
                ]),
            ]),
            false,
        )
        .unwrap();
    let m = &r.body["messages"];
    assert_eq!(
        m[1]["content"][1],
        json!({ "type": "tool_use", "id": "toolu_01A", "name": "get_weather",
                "input": { "location": "Paris" } })
    );
    assert_eq!(m[1]["content"][2]["input"], json!({}));
    let ok = &m[2]["content"][0];
    assert_eq!(ok["type"], "tool_result");
    assert_eq!(ok["tool_use_id"], "toolu_01A");
    assert_eq!(
        ok["content"][0],
        json!({ "type": "text", "text": r#"{"sky":"clear","temp_c":18}"# })
    );
    assert_eq!(ok["content"][2]["source"]["media_type"], "image/png");
    assert!(ok.get("is_error").is_none());
    let failed = &m[2]["content"][1];
    assert_eq!(failed["is_error"], true);
    assert_eq!(failed["content"][1]["type"], "document");
    assert_eq!(failed["content"][1]["source"]["data"], "HTTP 503");
    insta::assert_json_snapshot!("request_tool_use_and_results", rendered(&r));
}

#[test]
fn request_images_in_every_format() {
    let formats = [
        (ImageFormat::Png, "image/png"),
        (ImageFormat::Jpeg, "image/jpeg"),
        (ImageFormat::Gif, "image/gif"),
        (ImageFormat::Webp, "image/webp"),
    ];
    let content = formats
        .iter()
        .map(|(f, _)| ContentBlock::Image(image(f.clone(), b"\x00\x01img")))
        .chain([text("Which of these is a cat?")])
        .collect();
    let r = api().request(&call(vec![user(content)]), false).unwrap();
    for (i, (_, mime)) in formats.iter().enumerate() {
        assert_eq!(
            r.body["messages"][0]["content"][i],
            json!({ "type": "image", "source": { "type": "base64", "media_type": mime,
                    "data": b64(b"\x00\x01img") } })
        );
    }
    insta::assert_json_snapshot!("request_images", rendered(&r));
}

#[test]
fn request_documents() {
    let mut pdf = document(
        "annual-report",
        Some(DocumentFormat::Pdf),
        bytes(b"%PDF-1.7 fake"),
    );
    pdf.citations = Some(CitationsConfig { enabled: true });
    pdf.context = Some("The 2024 annual report.".into());
    let r = api()
        .request(
            &call(vec![user(vec![
                ContentBlock::Document(pdf),
                ContentBlock::Document(document(
                    "notes",
                    Some(DocumentFormat::Txt),
                    bytes(b"plain notes"),
                )),
                ContentBlock::Document(document(
                    "readme",
                    Some(DocumentFormat::Md),
                    bytes(b"# Title"),
                )),
                ContentBlock::Document(document(
                    "inline",
                    None,
                    DocumentSource::Text("Inline text source.".into()),
                )),
                ContentBlock::Document(document(
                    "chunks",
                    None,
                    DocumentSource::Content(vec![
                        DocumentContentBlock::Text("First chunk.".into()),
                        DocumentContentBlock::Text("Second chunk.".into()),
                    ]),
                )),
                text("Summarize these."),
            ])]),
            false,
        )
        .unwrap();
    let c = &r.body["messages"][0]["content"];
    assert_eq!(
        c[0]["source"],
        json!({ "type": "base64", "media_type": "application/pdf", "data": b64(b"%PDF-1.7 fake") })
    );
    assert_eq!(c[0]["title"], "annual-report");
    assert_eq!(c[0]["context"], "The 2024 annual report.");
    assert_eq!(c[0]["citations"], json!({ "enabled": true }));
    for (i, data) in [
        (1, "plain notes"),
        (2, "# Title"),
        (3, "Inline text source."),
    ] {
        assert_eq!(
            c[i]["source"],
            json!({ "type": "text", "media_type": "text/plain", "data": data })
        );
    }
    assert_eq!(c[4]["source"]["type"], "content");
    assert_eq!(
        c[4]["source"]["content"][1],
        json!({ "type": "text", "text": "Second chunk." })
    );
    insta::assert_json_snapshot!("request_documents", rendered(&r));
}

#[test]
fn request_reasoning_history_and_message_cache_points() {
    let mut request = input(vec![
        user(vec![
            text("A long shared preamble."),
            // Anthropic wants one-hour entries before five-minute ones.
            ContentBlock::CachePoint(cache_point(Some(CacheTtl::V1h))),
            text("First question?"),
        ]),
        assistant(vec![
            reasoning("Let me think.", Some("EqQBCgIYAhIMsig")),
            ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(Blob::new(
                b"EmwKAhgBEgy3va3pzix".to_vec(),
            ))),
            text("42."),
        ]),
        // A cache point opening a message marks the block that ends the previous one.
        user(vec![
            ContentBlock::CachePoint(cache_point(None)),
            text("Why?"),
        ]),
    ]);
    request.additional_model_request_fields = Some(doc(json!({
        "thinking": { "type": "enabled", "budget_tokens": 1024 },
    })));
    let r = api().request(&call_of(request), false).unwrap();
    let m = &r.body["messages"];
    assert_eq!(
        m[0]["content"][0]["cache_control"],
        json!({ "type": "ephemeral", "ttl": "1h" })
    );
    assert_eq!(m[0]["content"].as_array().unwrap().len(), 2);
    assert_eq!(
        m[1]["content"][0],
        json!({ "type": "thinking", "thinking": "Let me think.", "signature": "EqQBCgIYAhIMsig" })
    );
    // The blob's bytes are the data string, so it goes back exactly as it came.
    assert_eq!(
        m[1]["content"][1],
        json!({ "type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix" })
    );
    assert_eq!(
        m[1]["content"][2]["cache_control"],
        json!({ "type": "ephemeral" })
    );
    assert_eq!(m[2]["content"], json!([{ "type": "text", "text": "Why?" }]));
    insta::assert_json_snapshot!("request_reasoning_and_cache_points", rendered(&r));
}

#[test]
fn request_citations_and_search_results() {
    let cited = ContentBlock::CitationsContent(CitationsContentBlock {
        content: Some(vec![CitationGeneratedContent::Text(
            "the grass is green".into(),
        )]),
        citations: Some(vec![Citation {
            title: Some("Example Document".into()),
            source: None,
            source_content: Some(vec![CitationSourceContent::Text(
                "The grass is green. ".into(),
            )]),
            location: Some(CitationLocation::DocumentChar(DocumentCharLocation {
                document_index: Some(0),
                start: Some(0),
                end: Some(20),
            })),
        }]),
    });
    let search = SearchResultBlock {
        source: "https://example.com/grass".into(),
        title: "Grass facts".into(),
        content: vec![SearchResultContentBlock {
            text: "Grass is green because of chlorophyll.".into(),
        }],
        citations: Some(CitationsConfig { enabled: true }),
    };
    let r = api()
        .request(
            &call(vec![
                user(vec![
                    ContentBlock::Document(DocumentBlock {
                        citations: Some(CitationsConfig { enabled: true }),
                        ..document(
                            "Example Document",
                            None,
                            DocumentSource::Text("The grass is green. The sky is blue.".into()),
                        )
                    }),
                    ContentBlock::SearchResult(search.clone()),
                    text("What colour is grass?"),
                ]),
                assistant(vec![
                    text("According to the document, "),
                    cited,
                    tool_use(
                        "toolu_1",
                        "search",
                        json!({ "query": "why is grass green" }),
                    ),
                ]),
                // Tool results come first in the turn that answers the tool call.
                user(vec![
                    tool_result(
                        "toolu_1",
                        vec![ToolResultContentBlock::SearchResult(search)],
                        None,
                    ),
                    text("Why?"),
                ]),
            ]),
            false,
        )
        .unwrap();
    let m = &r.body["messages"];
    assert_eq!(
        m[1]["content"][1],
        json!({ "type": "text", "text": "the grass is green", "citations": [{
            "type": "char_location", "cited_text": "The grass is green. ", "document_index": 0,
            "document_title": "Example Document", "start_char_index": 0, "end_char_index": 20 }] })
    );
    assert_eq!(m[0]["content"][0]["citations"], json!({ "enabled": true }));
    assert_eq!(m[0]["content"][1]["type"], "search_result");
    assert_eq!(m[0]["content"][1]["source"], "https://example.com/grass");
    assert_eq!(m[0]["content"][1]["citations"], json!({ "enabled": true }));
    assert_eq!(m[2]["content"][0]["content"][0]["type"], "search_result");
    insta::assert_json_snapshot!("request_citations_and_search_results", rendered(&r));
}

#[test]
fn count_tokens_request_drops_generation_parameters() {
    let mut request = with_tools(
        input(vec![user(vec![text("How many tokens is this?")])]),
        vec![tool_spec("get_weather", None)],
        Some(ToolChoice::Auto(AutoToolChoice {})),
    );
    request.system = Some(vec![SystemContentBlock::Text("Be brief.".into())]);
    request.inference_config = Some(InferenceConfiguration {
        max_tokens: Some(100),
        temperature: Some(0.2),
        top_p: Some(0.5),
        stop_sequences: Some(vec!["END".into()]),
    });
    request.additional_model_request_fields = Some(doc(json!({
        "thinking": { "type": "enabled", "budget_tokens": 2048 },
        "top_k": 5,
        "metadata": { "user_id": "user-7f3a" },
        "anthropic_beta": ["token-counting-2024-11-01"],
    })));
    let r = api()
        .count_tokens_request(&call_of(request))
        .unwrap()
        .unwrap();
    assert_eq!(r.path_and_query, "/v1/messages/count_tokens");
    assert_eq!(header(&r, "anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        header(&r, "anthropic-beta"),
        Some("token-counting-2024-11-01")
    );
    for key in [
        "max_tokens",
        "temperature",
        "top_p",
        "stop_sequences",
        "stream",
        "top_k",
        "metadata",
    ] {
        assert!(r.body.get(key).is_none(), "{key} in {}", r.body);
    }
    assert_eq!(r.body["thinking"]["budget_tokens"], 2048);
    // Forcing a tool cannot be combined with extended thinking, so this call lets the model choose.
    assert_eq!(r.body["tool_choice"], json!({ "type": "auto" }));
    assert_eq!(r.body["system"][0]["text"], "Be brief.");
    insta::assert_json_snapshot!("count_tokens_request", rendered(&r));
}

#[test]
fn count_tokens_response_and_error_message() {
    let api = api();
    assert_eq!(
        api.count_tokens_response(br#"{"input_tokens": 2095}"#)
            .unwrap(),
        2095
    );
    let err = api.count_tokens_response(br#"{"tokens": 3}"#).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ModelError);
    assert_eq!(
        api.count_tokens_response(b"nope").unwrap_err().kind,
        ErrorKind::ModelError
    );
    assert_eq!(
        api.error_message(
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#
        )
        .as_deref(),
        Some("max_tokens: Field required")
    );
    assert_eq!(api.error_message(b"<html>502 Bad Gateway</html>"), None);
    assert_eq!(api.error_message(br#"{"type":"error"}"#), None);
    assert_eq!(api.name(), "anthropic");
    assert_eq!(api.key_placement(), KeyPlacement::Header("x-api-key"));
}

// ---------- refusals ----------

#[test]
fn refusals_name_what_anthropic_cannot_take() {
    let s3 = S3Location {
        uri: "s3://bucket/key".into(),
        bucket_owner: None,
    };
    let in_user = |block: ContentBlock| input(vec![user(vec![text("x"), block])]);
    let guard = GuardrailConverseContentBlock::Text(GuardrailConverseTextBlock {
        text: "guarded".into(),
        qualifiers: None,
    });
    let mut cases: Vec<(ConverseInput, &str)> = vec![
        (
            in_user(ContentBlock::Video(VideoBlock {
                format: VideoFormat::Mp4,
                source: VideoSource::Bytes(Blob::new(vec![0])),
            })),
            "video content",
        ),
        (
            in_user(ContentBlock::Audio(AudioBlock {
                format: AudioFormat::Mp3,
                source: AudioSource::Bytes(Blob::new(vec![0])),
                error: None,
            })),
            "audio content",
        ),
        (
            in_user(ContentBlock::GuardContent(guard.clone())),
            "guardContent",
        ),
        (
            in_user(ContentBlock::Image(ImageBlock {
                format: ImageFormat::Png,
                source: ImageSource::S3Location(s3.clone()),
                error: None,
            })),
            "image source s3Location",
        ),
        (
            in_user(ContentBlock::Document(document(
                "r",
                Some(DocumentFormat::Pdf),
                DocumentSource::S3Location(s3),
            ))),
            "document source s3Location",
        ),
        (
            in_user(ContentBlock::Document(document(
                "r",
                Some(DocumentFormat::Docx),
                bytes(b"PK"),
            ))),
            "document format docx",
        ),
        (
            in_user(ContentBlock::Document(document(
                "r",
                Some(DocumentFormat::Csv),
                bytes(b"a,b"),
            ))),
            "document format csv",
        ),
        (
            in_user(ContentBlock::Document(document("r", None, bytes(b"?")))),
            "a document of bytes without a format",
        ),
        (
            in_user(tool_result(
                "t",
                vec![ToolResultContentBlock::Video(VideoBlock {
                    format: VideoFormat::Mp4,
                    source: VideoSource::Bytes(Blob::new(vec![0])),
                })],
                None,
            )),
            "video content in a toolResult",
        ),
        (
            in_user(ContentBlock::ToolResult(ToolResultBlock {
                tool_use_id: "t".into(),
                content: vec![],
                status: None,
                r#type: Some("web_search_tool_result".into()),
            })),
            "toolResult of type web_search_tool_result",
        ),
        (
            input(vec![assistant(vec![ContentBlock::ToolUse(ToolUseBlock {
                tool_use_id: "t".into(),
                name: "web_search".into(),
                input: doc(json!({})),
                r#type: Some(ToolUseType::ServerToolUse),
            })])]),
            "toolUse of type server_tool_use",
        ),
        (
            input(vec![assistant(vec![reasoning("unsigned", None)])]),
            "reasoningContent without a signature",
        ),
        (
            input(vec![user(vec![
                ContentBlock::CachePoint(cache_point(None)),
                text("x"),
            ])]),
            "a cachePoint at the start of messages",
        ),
        (
            input(vec![assistant(vec![
                reasoning("t", Some("sig")),
                ContentBlock::CachePoint(cache_point(None)),
            ])]),
            "a cachePoint right after reasoningContent",
        ),
        (
            input(vec![user(vec![
                text("x"),
                ContentBlock::CachePoint(cache_point(Some(CacheTtl::Unknown("10m".into())))),
            ])]),
            "cachePoint ttl 10m",
        ),
        (
            input(vec![Message {
                role: ConversationRole::System,
                content: vec![text("x")],
            }]),
            "role system in messages",
        ),
        (
            in_user(ContentBlock::CitationsContent(CitationsContentBlock {
                content: Some(vec![CitationGeneratedContent::Text("t".into())]),
                citations: Some(vec![Citation {
                    title: None,
                    source: Some("https://example.com".into()),
                    source_content: None,
                    location: Some(CitationLocation::Web(WebLocation {
                        url: Some("https://example.com".into()),
                        domain: None,
                    })),
                }]),
            })),
            "citationsContent with a web location",
        ),
        (
            in_user(ContentBlock::CitationsContent(CitationsContentBlock {
                content: None,
                citations: Some(vec![Citation {
                    title: None,
                    source: None,
                    source_content: None,
                    location: None,
                }]),
            })),
            "citationsContent without a location",
        ),
    ];
    let mut system = input(vec![user(vec![text("x")])]);
    system.system = Some(vec![SystemContentBlock::CachePoint(cache_point(None))]);
    cases.push((system.clone(), "a cachePoint at the start of system"));
    system.system = Some(vec![SystemContentBlock::GuardContent(guard)]);
    cases.push((system, "guardContent in system"));
    cases.push((
        with_tools(
            input(vec![user(vec![text("x")])]),
            vec![Tool::CachePoint(cache_point(None)), tool_spec("t", None)],
            None,
        ),
        "a cachePoint at the start of tools",
    ));
    cases.push((
        with_tools(
            input(vec![user(vec![text("x")])]),
            vec![Tool::SystemTool(SystemTool {
                name: "nova_grounding".into(),
            })],
            None,
        ),
        "systemTool nova_grounding",
    ));
    let mut output_config = input(vec![user(vec![text("x")])]);
    output_config.output_config = Some(OutputConfig {
        text_format: None,
        effort: None,
    });
    cases.push((output_config, "outputConfig"));
    for (request, what) in cases {
        let err = refusal(request);
        assert_eq!(err.kind, ErrorKind::Validation, "{what}");
        assert_eq!(
            err.message,
            format!("{what} is not supported by provider 'anthropic'")
        );
    }
}

#[test]
fn unreadable_inputs_are_validation_errors() {
    let cases = [
        input(vec![assistant(vec![ContentBlock::ReasoningContent(
            ReasoningContentBlock::RedactedContent(Blob::new(vec![0xff, 0xfe])),
        )])]),
        input(vec![user(vec![ContentBlock::Document(document(
            "latin1",
            Some(DocumentFormat::Txt),
            bytes(b"caf\xe9"),
        ))])]),
        ConverseInput {
            additional_model_request_fields: Some(doc(json!({ "anthropic_beta": [1] }))),
            ..input(vec![user(vec![text("x")])])
        },
        ConverseInput {
            additional_model_request_fields: Some(doc(json!(["not", "an", "object"]))),
            ..input(vec![user(vec![text("x")])])
        },
    ];
    let expected = [
        "redactedContent is not the redacted thinking data an Anthropic model returned",
        "document 'latin1' is not UTF-8 text",
        "additionalModelRequestFields.anthropic_beta must be a list of strings",
        "additionalModelRequestFields must be a JSON object",
    ];
    for (request, message) in cases.into_iter().zip(expected) {
        let err = refusal(request);
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ErrorKind::Validation, message)
        );
    }
}

// ---------- whole answers ----------

fn parse(body: Value) -> ConverseOutput {
    api()
        .response(&call(vec![]), body.to_string().as_bytes(), 250)
        .unwrap()
}

#[test]
fn an_answer_with_thinking_text_and_tool_use() {
    let out = parse(json!({
        "id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            { "type": "thinking", "thinking": "The user wants the weather.", "signature": "EqQBCgIYAhIM" },
            { "type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a" },
            { "type": "text", "text": "Let me check." },
            { "type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
              "input": { "location": "San Francisco, CA", "unit": "celsius" } }
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": { "input_tokens": 2095, "output_tokens": 503,
                   "cache_creation_input_tokens": 1500, "cache_read_input_tokens": 3000,
                   "service_tier": "standard" }
    }));
    let content = answer(&out);
    assert_eq!(content.len(), 4);
    let ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(r)) = &content[0]
    else {
        panic!("{content:?}")
    };
    assert_eq!(r.text, "The user wants the weather.");
    assert_eq!(r.signature.as_deref(), Some("EqQBCgIYAhIM"));
    let ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(data)) = &content[1]
    else {
        panic!("{content:?}")
    };
    assert_eq!(data.as_ref(), b"EmwKAhgBEgy3va3pzix/LafPsn4a");
    assert_eq!(content[2], text("Let me check."));
    assert_eq!(
        content[3],
        tool_use(
            "toolu_01A09q90qw90lq917835lq9",
            "get_weather",
            json!({ "location": "San Francisco, CA", "unit": "celsius" })
        )
    );
    assert_eq!(out.stop_reason, StopReason::ToolUse);
    assert_eq!(out.usage.input_tokens, 2095);
    assert_eq!(out.usage.output_tokens, 503);
    assert_eq!(out.usage.cache_read_input_tokens, Some(3000));
    assert_eq!(out.usage.cache_write_input_tokens, Some(1500));
    assert_eq!(out.usage.total_tokens, 2095 + 503 + 3000 + 1500);
    assert_eq!(out.metrics.latency_ms, 250);
    assert_eq!(out.additional_model_response_fields, None);
}

#[test]
fn an_answer_without_caching_has_no_cache_counts() {
    let out = parse(json!({
        "content": [{ "type": "text", "text": "Hi!" }], "stop_reason": "end_turn",
        "usage": { "input_tokens": 10, "output_tokens": 3,
                   "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0 }
    }));
    assert_eq!(answer(&out), [text("Hi!")]);
    assert_eq!(out.usage.cache_read_input_tokens, None);
    assert_eq!(out.usage.cache_write_input_tokens, None);
    assert_eq!(out.usage.total_tokens, 13);
}

#[test]
fn stop_reasons_map_to_converse() {
    for (anthropic, converse) in [
        ("end_turn", StopReason::EndTurn),
        ("tool_use", StopReason::ToolUse),
        ("max_tokens", StopReason::MaxTokens),
        ("stop_sequence", StopReason::StopSequence),
        ("refusal", StopReason::ContentFiltered),
        ("pause_turn", StopReason::EndTurn),
        (
            "model_context_window_exceeded",
            StopReason::ModelContextWindowExceeded,
        ),
    ] {
        let out = parse(json!({
            "content": [{ "type": "text", "text": "." }], "stop_reason": anthropic,
            "usage": { "input_tokens": 1, "output_tokens": 1 }
        }));
        assert_eq!(out.stop_reason, converse, "{anthropic}");
    }
}

#[test]
fn the_matched_stop_sequence_is_an_additional_response_field() {
    let out = parse(json!({
        "content": [{ "type": "text", "text": "Once upon a time" }],
        "stop_reason": "stop_sequence", "stop_sequence": "THE END",
        "usage": { "input_tokens": 5, "output_tokens": 4 }
    }));
    assert_eq!(out.stop_reason, StopReason::StopSequence);
    assert_eq!(
        out.additional_model_response_fields,
        Some(doc(json!({ "stop_sequence": "THE END" })))
    );
}

#[test]
fn cited_text_becomes_citations_content() {
    let out = parse(json!({
        "content": [
            { "type": "text", "text": "According to the document, " },
            { "type": "text", "text": "the grass is green", "citations": [
                { "type": "char_location", "cited_text": "The grass is green.", "document_index": 0,
                  "document_title": "Example Document", "start_char_index": 0, "end_char_index": 20 },
                { "type": "page_location", "cited_text": "Grass is green.", "document_index": 1,
                  "document_title": "Report", "start_page_number": 2, "end_page_number": 3 }
            ] },
            { "type": "text", "text": ".", "citations": null }
        ],
        "stop_reason": "end_turn", "usage": { "input_tokens": 600, "output_tokens": 20 }
    }));
    let content = answer(&out);
    assert_eq!(content[0], text("According to the document, "));
    assert_eq!(content[2], text("."));
    let ContentBlock::CitationsContent(c) = &content[1] else {
        panic!("{content:?}")
    };
    assert_eq!(
        c.content,
        Some(vec![CitationGeneratedContent::Text(
            "the grass is green".into()
        )])
    );
    let citations = c.citations.as_ref().unwrap();
    assert_eq!(citations[0].title.as_deref(), Some("Example Document"));
    assert_eq!(
        citations[0].source_content,
        Some(vec![CitationSourceContent::Text(
            "The grass is green.".into()
        )])
    );
    assert_eq!(
        citations[0].location,
        Some(CitationLocation::DocumentChar(DocumentCharLocation {
            document_index: Some(0),
            start: Some(0),
            end: Some(20),
        }))
    );
    let Some(CitationLocation::DocumentPage(page)) = &citations[1].location else {
        panic!("{citations:?}")
    };
    assert_eq!(
        (page.document_index, page.start, page.end),
        (Some(1), Some(2), Some(3))
    );
}

#[test]
fn unreadable_answers_are_model_errors() {
    for body in [
        &b"not json"[..],
        br#"{"type":"message","stop_reason":"end_turn"}"#,
        br#"{"content":[{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}],"stop_reason":"end_turn","usage":{}}"#,
        br#"{"content":[{"type":"text"}],"stop_reason":"end_turn","usage":{}}"#,
    ] {
        let err = api().response(&call(vec![]), body, 1).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ModelError, "{}", String::from_utf8_lossy(body));
        assert!(err.message.contains("provider 'anthropic'"), "{}", err.message);
    }
}

// ---------- streams ----------

/// Feeds a fixture through a fresh decoder, then ends it as transport does.
fn decode(fixture: &str) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
    let mut decoder = api().stream_decoder(&call(vec![]));
    let mut out = Vec::new();
    for event in sse_events(fixture) {
        out.extend(decoder.event(event)?);
    }
    out.extend(decoder.finish(9)?);
    Ok(out)
}

/// A stream event as JSON, in the shape Bedrock's event stream carries it.
fn render(event: &ConverseStreamOutput) -> Value {
    match event {
        ConverseStreamOutput::MessageStart(e) => {
            json!({ "messageStart": { "role": e.role.as_str() } })
        }
        ConverseStreamOutput::ContentBlockStart(e) => {
            let start = match &e.start {
                ContentBlockStart::ToolUse(t) => {
                    json!({ "toolUse": { "toolUseId": t.tool_use_id, "name": t.name } })
                }
                other => json!(format!("{other:?}")),
            };
            json!({ "contentBlockStart": { "contentBlockIndex": e.content_block_index, "start": start } })
        }
        ConverseStreamOutput::ContentBlockDelta(e) => {
            let delta = match &e.delta {
                ContentBlockDelta::Text(t) => json!({ "text": t }),
                ContentBlockDelta::ToolUse(t) => json!({ "toolUse": { "input": t.input } }),
                ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(t)) => {
                    json!({ "reasoningContent": { "text": t } })
                }
                ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(s)) => {
                    json!({ "reasoningContent": { "signature": s } })
                }
                ContentBlockDelta::ReasoningContent(
                    ReasoningContentBlockDelta::RedactedContent(b),
                ) => json!({ "reasoningContent": { "redactedContent": b64(b.as_ref()) } }),
                ContentBlockDelta::Citation(c) => {
                    let location = match &c.location {
                        Some(CitationLocation::DocumentChar(l)) => json!({ "documentChar": {
                            "documentIndex": l.document_index, "start": l.start, "end": l.end } }),
                        other => json!(format!("{other:?}")),
                    };
                    json!({ "citation": {
                        "title": c.title,
                        "source": c.source,
                        "sourceContent": c.source_content.iter().flatten()
                            .map(|s| json!({ "text": s.text })).collect::<Vec<_>>(),
                        "location": location,
                    } })
                }
                other => json!(format!("{other:?}")),
            };
            json!({ "contentBlockDelta": { "contentBlockIndex": e.content_block_index, "delta": delta } })
        }
        ConverseStreamOutput::ContentBlockStop(e) => {
            json!({ "contentBlockStop": { "contentBlockIndex": e.content_block_index } })
        }
        ConverseStreamOutput::MessageStop(e) => json!({ "messageStop": {
            "stopReason": e.stop_reason.as_str(),
            "additionalModelResponseFields": e.additional_model_response_fields.as_ref().map(vocab::to_value),
        } }),
        ConverseStreamOutput::Metadata(e) => json!({ "metadata": {
            "usage": {
                "inputTokens": e.usage.input_tokens,
                "outputTokens": e.usage.output_tokens,
                "totalTokens": e.usage.total_tokens,
                "cacheReadInputTokens": e.usage.cache_read_input_tokens,
                "cacheWriteInputTokens": e.usage.cache_write_input_tokens,
            },
            "metrics": { "latencyMs": e.metrics.latency_ms }
        } }),
    }
}

fn rendered_events(events: &[ConverseStreamOutput]) -> Value {
    Value::Array(events.iter().map(render).collect())
}

fn stop_of(events: &[ConverseStreamOutput]) -> &quarry_bedrock_runtime::types::MessageStopEvent {
    let ConverseStreamOutput::MessageStop(stop) = &events[events.len() - 2] else {
        panic!("{events:#?}")
    };
    stop
}

fn usage_of(events: &[ConverseStreamOutput]) -> &quarry_bedrock_runtime::types::TokenUsage {
    let Some(ConverseStreamOutput::Metadata(meta)) = events.last() else {
        panic!("{events:#?}")
    };
    assert_eq!(meta.metrics.latency_ms, 9);
    &meta.usage
}

/// Concatenated tool input fragments per block index.
fn tool_inputs(events: &[ConverseStreamOutput]) -> Vec<(i32, String)> {
    let mut inputs: Vec<(i32, String)> = Vec::new();
    for e in events {
        if let ConverseStreamOutput::ContentBlockDelta(d) = e
            && let ContentBlockDelta::ToolUse(t) = &d.delta
        {
            match inputs.last_mut() {
                Some((i, s)) if *i == d.content_block_index => s.push_str(&t.input),
                _ => inputs.push((d.content_block_index, t.input.clone())),
            }
        }
    }
    inputs
}

#[test]
fn stream_thinking_text_and_split_tool_arguments() {
    let events = decode(include_str!("fixtures/thinking_tool_use.sse")).unwrap();
    assert_well_formed(&events);
    let starts: Vec<(i32, &str, &str)> = events
        .iter()
        .filter_map(|e| match e {
            ConverseStreamOutput::ContentBlockStart(s) => match &s.start {
                ContentBlockStart::ToolUse(t) => Some((
                    s.content_block_index,
                    t.tool_use_id.as_str(),
                    t.name.as_str(),
                )),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        starts,
        [
            (2, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
            (3, "toolu_01VgnbqpUaLBbQ3yHR2N1u9B", "get_time"),
        ]
    );
    let inputs = tool_inputs(&events);
    assert_eq!(inputs[0].0, 2);
    assert_eq!(
        serde_json::from_str::<Value>(&inputs[0].1).unwrap(),
        json!({ "location": "Paris, France", "unit": "celsius" })
    );
    // A tool called without arguments gets `{}`, as the whole answer would say.
    assert_eq!(inputs[1], (3, "{}".to_owned()));
    let signature = events.iter().find_map(|e| match e {
        ConverseStreamOutput::ContentBlockDelta(d) => match &d.delta {
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(s)) => {
                Some((d.content_block_index, s.as_str()))
            }
            _ => None,
        },
        _ => None,
    });
    assert_eq!(
        signature,
        Some((
            0,
            "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds6Vh3ITJl4vqYg9rEaJ8z8aL"
        ))
    );
    assert_eq!(stop_of(&events).stop_reason, StopReason::ToolUse);
    let usage = usage_of(&events);
    assert_eq!(usage.input_tokens, 472);
    assert_eq!(usage.output_tokens, 89);
    assert_eq!(usage.cache_read_input_tokens, Some(1850));
    assert_eq!(usage.cache_write_input_tokens, None);
    assert_eq!(usage.total_tokens, 472 + 89 + 1850);
    insta::assert_json_snapshot!("stream_thinking_tool_use", rendered_events(&events));
}

#[test]
fn stream_redacted_thinking_stop_sequence_and_cache_writes() {
    let events = decode(include_str!("fixtures/redacted_and_text.sse")).unwrap();
    assert_well_formed(&events);
    let redacted = events.iter().find_map(|e| match e {
        ConverseStreamOutput::ContentBlockDelta(d) => match &d.delta {
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::RedactedContent(b)) => {
                Some(b.as_ref().to_vec())
            }
            _ => None,
        },
        _ => None,
    });
    // The opaque data string comes back as the blob's bytes, so it can be sent back unchanged.
    assert_eq!(
        redacted.as_deref(),
        Some(&b"EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"[..])
    );
    let stop = stop_of(&events);
    assert_eq!(stop.stop_reason, StopReason::StopSequence);
    assert_eq!(
        stop.additional_model_response_fields,
        Some(doc(json!({ "stop_sequence": "THE END" })))
    );
    let usage = usage_of(&events);
    assert_eq!(usage.input_tokens, 40);
    assert_eq!(usage.output_tokens, 15);
    assert_eq!(usage.cache_write_input_tokens, Some(300));
    assert_eq!(usage.cache_read_input_tokens, None);
    assert_eq!(usage.total_tokens, 355);
    insta::assert_json_snapshot!("stream_redacted_and_text", rendered_events(&events));
}

#[test]
fn stream_citations() {
    let events = decode(include_str!("fixtures/citations.sse")).unwrap();
    assert_well_formed(&events);
    let citation = events.iter().find_map(|e| match e {
        ConverseStreamOutput::ContentBlockDelta(d) => match &d.delta {
            ContentBlockDelta::Citation(c) => Some((d.content_block_index, c.clone())),
            _ => None,
        },
        _ => None,
    });
    let (index, citation) = citation.unwrap();
    assert_eq!(index, 1);
    assert_eq!(citation.title.as_deref(), Some("Example Document"));
    assert_eq!(
        citation.location,
        Some(CitationLocation::DocumentChar(DocumentCharLocation {
            document_index: Some(0),
            start: Some(0),
            end: Some(20),
        }))
    );
    assert_eq!(stop_of(&events).stop_reason, StopReason::EndTurn);
    assert_eq!(usage_of(&events).output_tokens, 31);
    insta::assert_json_snapshot!("stream_citations", rendered_events(&events));
}

#[test]
fn an_in_stream_error_is_an_error_with_its_message_and_kind() {
    let err = decode(include_str!("fixtures/overloaded.sse")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ServiceUnavailable);
    assert_eq!(err.message, "Overloaded");
    for (kind, expected) in [
        ("overloaded_error", ErrorKind::ServiceUnavailable),
        ("rate_limit_error", ErrorKind::Throttling),
        ("invalid_request_error", ErrorKind::Validation),
        ("api_error", ErrorKind::InternalServer),
        ("timeout_error", ErrorKind::ModelStreamError),
    ] {
        let mut decoder = api().stream_decoder(&call(vec![]));
        let err = decoder
            .event(SseEvent {
                event: Some("error".into()),
                data: json!({ "type": "error", "error": { "type": kind, "message": "m" } })
                    .to_string(),
            })
            .unwrap_err();
        assert_eq!((err.kind, err.message.as_str()), (expected, "m"), "{kind}");
    }
}

#[test]
fn a_stream_cut_before_message_stop_is_an_error() {
    let err = decode(include_str!("fixtures/cut.sse")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ModelStreamError);
    assert!(
        err.message.contains("ended before message_stop"),
        "{}",
        err.message
    );
}

#[test]
fn empty_blocks_still_open_and_close() {
    let fixture = [
        r#"{"type":"message_start","message":{"usage":{"input_tokens":3,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":1}}"#,
        r#"{"type":"message_stop"}"#,
    ]
    .map(|d| format!("data: {d}\n\n"))
    .concat();
    let events = decode(&fixture).unwrap();
    assert_well_formed(&events);
    assert_eq!(events.len(), 5);
    assert_eq!(stop_of(&events).stop_reason, StopReason::MaxTokens);
}

#[test]
fn malformed_streams_are_errors() {
    for fixture in [
        "data: not json\n\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "data: {\"type\":\"message_start\",\"message\":{\"usage\":{}}}\n\ndata: {\"type\":\"content_block_delta\",\"index\":4,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
        "data: {\"type\":\"message_start\",\"message\":{\"usage\":{}}}\n\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"s\",\"name\":\"web_search\",\"input\":{}}}\n\n",
    ] {
        let err = decode(fixture).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ModelError, "{fixture}");
    }
}

// ---------- round trip ----------

/// A generated conversation turn pair: the assistant's side, and the user's answer to it.
#[derive(Debug, Clone)]
enum Turn {
    Text(String),
    /// Tool calls (id, name, argument), each answered by a result in the next user turn.
    Tools(Vec<(String, String, i64)>),
}

fn turn() -> impl Strategy<Value = Turn> {
    prop_oneof![
        "[a-zA-Z0-9 ,.!?éü\"\\\\]{1,40}".prop_map(Turn::Text),
        proptest::collection::vec(
            ("toolu_[a-zA-Z0-9]{4,20}", "[a-z_]{1,12}", any::<i64>()),
            1..4
        )
        .prop_map(Turn::Tools),
    ]
}

fn history(turns: &[Turn]) -> Vec<Message> {
    let mut messages = vec![user(vec![text("start")])];
    for t in turns {
        match t {
            Turn::Text(s) => {
                messages.push(assistant(vec![text(s)]));
                messages.push(user(vec![text("go on")]));
            }
            Turn::Tools(calls) => {
                messages.push(assistant(
                    calls
                        .iter()
                        .map(|(id, name, n)| tool_use(id, name, json!({ "n": n })))
                        .collect(),
                ));
                messages.push(user(
                    calls
                        .iter()
                        .map(|(id, _, n)| {
                            tool_result(id, vec![ToolResultContentBlock::Text(n.to_string())], None)
                        })
                        .collect(),
                ));
            }
        }
    }
    messages
}

proptest! {
    /// Converse history → Messages API request → each assistant turn read back as an Anthropic
    /// answer keeps its text, tool names, tool ids and inputs; tool results keep their ids.
    #[test]
    fn converse_to_anthropic_and_back_keeps_text_and_tool_calls(
        turns in proptest::collection::vec(turn(), 1..6)
    ) {
        let messages = history(&turns);
        let request = api().request(&call(messages.clone()), false).unwrap();
        let sent = request.body["messages"].as_array().unwrap();
        prop_assert_eq!(sent.len(), messages.len());
        for (json_turn, original) in sent.iter().zip(&messages) {
            match original.role {
                ConversationRole::Assistant => {
                    prop_assert_eq!(&json_turn["role"], "assistant");
                    let body = json!({
                        "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
                        "content": json_turn["content"], "stop_reason": "end_turn",
                        "stop_sequence": null, "usage": { "input_tokens": 1, "output_tokens": 1 }
                    });
                    let out = api()
                        .response(&call(vec![]), body.to_string().as_bytes(), 0)
                        .unwrap();
                    prop_assert_eq!(answer(&out), original.content.as_slice());
                }
                _ => {
                    prop_assert_eq!(&json_turn["role"], "user");
                    for (block, sent) in original.content.iter().zip(json_turn["content"].as_array().unwrap()) {
                        if let ContentBlock::ToolResult(r) = block {
                            prop_assert_eq!(&sent["tool_use_id"], r.tool_use_id.as_str());
                        }
                    }
                }
            }
        }
    }
}
