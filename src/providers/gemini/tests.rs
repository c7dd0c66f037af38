//! Unit tests: request bodies, answers, SSE fixtures through the decoder, refusals, and a round trip.

use aws_smithy_types::Blob;
use proptest::prelude::*;
use quarry_bedrock_runtime::operation::converse::ConverseInput;
use quarry_bedrock_runtime::types::{
    AnyToolChoice, AutoToolChoice, CachePointBlock, CachePointType, CitationsConfig, ContentBlock,
    ContentBlockDelta, ContentBlockStart, ConversationRole, ConverseOutput as Answer,
    ConverseStreamOutput, DocumentContentBlock, DocumentFormat, DocumentSource, ImageBlock,
    ImageFormat, ImageSource, InferenceConfiguration, Message, ReasoningContentBlock,
    ReasoningContentBlockDelta, S3Location, SpecificToolChoice, StopReason, SystemContentBlock,
    SystemTool, Tool, ToolChoice, ToolConfiguration, ToolInputSchema, ToolResultContentBlock,
    ToolResultStatus, ToolSpecification, ToolUseBlock, ToolUseType, VideoBlock, VideoFormat,
    VideoSource,
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

fn input(messages: Vec<Message>) -> ConverseInput {
    ConverseInput {
        messages: Some(messages),
        ..ConverseInput::builder()
            .model_id("gemini-2.5-flash")
            .build()
            .unwrap()
    }
}

fn call_of(request: ConverseInput) -> ConverseCall {
    call_for("gemini-2.5-flash", request)
}

fn call(messages: Vec<Message>) -> ConverseCall {
    call_of(input(messages))
}

fn cache_point() -> CachePointBlock {
    CachePointBlock {
        r#type: CachePointType::Default,
        ttl: None,
    }
}

fn weather_tool() -> Tool {
    Tool::ToolSpec(ToolSpecification {
        name: "get_weather".into(),
        description: Some("Weather for a city".into()),
        input_schema: ToolInputSchema::Json(doc(json!({
            "type": "object",
            "properties": {
                "city": { "type": "string" },
                "unit": { "enum": ["celsius", "fahrenheit"] },
                "days": { "type": "integer", "minimum": 1 }
            },
            "required": ["city"],
            "additionalProperties": false
        }))),
        strict: None,
    })
}

/// The request as transport sends it: path, extra headers, body.
fn sent(call: &ConverseCall, stream: bool) -> Value {
    let r = Gemini.request(call, stream).unwrap();
    json!({ "path": r.path_and_query, "headers": r.headers, "body": r.body })
}

fn body(call: &ConverseCall) -> Value {
    Gemini.request(call, false).unwrap().body
}

fn refusal(call: &ConverseCall) -> ProviderError {
    Gemini.request(call, false).unwrap_err()
}

fn answer(
    v: Value,
) -> Result<quarry_bedrock_runtime::operation::converse::ConverseOutput, ProviderError> {
    Gemini.response(&call(vec![]), v.to_string().as_bytes(), 42)
}

fn content_of(
    out: &quarry_bedrock_runtime::operation::converse::ConverseOutput,
) -> &[ContentBlock] {
    let Answer::Message(m) = &out.output;
    &m.content
}

// ---------- requests ----------

#[test]
fn system_turns_inference_config_and_additional_fields() {
    let mut request = input(vec![
        user(vec![text("Hello")]),
        assistant(vec![text("Hi! How can I help?")]),
        user(vec![text("Name three colours.")]),
    ]);
    request.system = Some(vec![
        SystemContentBlock::Text("You are terse.".into()),
        SystemContentBlock::CachePoint(cache_point()),
        SystemContentBlock::Text("Answer in English.".into()),
    ]);
    request.inference_config = Some(InferenceConfiguration {
        max_tokens: Some(512),
        temperature: Some(0.7),
        top_p: Some(0.9),
        stop_sequences: Some(vec!["END".into()]),
    });
    request.additional_model_request_fields = Some(doc(json!({
        "generationConfig": { "topK": 40, "thinkingConfig": { "thinkingBudget": 1024, "includeThoughts": true } },
        "safetySettings": [{ "category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH" }]
    })));
    let seen = sent(&call_of(request), false);
    assert_eq!(
        seen["path"],
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    let b = &seen["body"];
    assert_eq!(
        b["systemInstruction"],
        json!({ "parts": [{ "text": "You are terse." }, { "text": "Answer in English." }] })
    );
    let roles: Vec<&str> = b["contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "model", "user"]);
    assert_eq!(b["generationConfig"]["maxOutputTokens"], 512);
    assert_eq!(b["generationConfig"]["temperature"], json!(0.7));
    assert_eq!(b["generationConfig"]["topP"], json!(0.9));
    assert_eq!(b["generationConfig"]["stopSequences"], json!(["END"]));
    // Additional fields merge into the generation config the gateway wrote.
    assert_eq!(b["generationConfig"]["topK"], 40);
    assert_eq!(
        b["generationConfig"]["thinkingConfig"]["thinkingBudget"],
        1024
    );
    assert!(b["safetySettings"].is_array());
    assert!(b.get("tools").is_none() && b.get("model").is_none());
    insta::assert_json_snapshot!("request_system_turns_config", seen);
}

#[test]
fn stream_path_model_prefix_and_encoding() {
    let c = call_for(
        "models/gemini-2.0-flash",
        input(vec![user(vec![text("hi")])]),
    );
    let r = Gemini.request(&c, true).unwrap();
    assert_eq!(
        r.path_and_query,
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    );
    assert!(r.headers.is_empty());
    // Streaming changes the path only, not the body.
    assert_eq!(r.body, Gemini.request(&c, false).unwrap().body);
    let odd = call_for("tuned/my model:v1", input(vec![user(vec![text("hi")])]));
    assert_eq!(
        Gemini.request(&odd, false).unwrap().path_and_query,
        "/v1beta/models/tuned%2Fmy%20model%3Av1:generateContent"
    );
    assert_eq!(Gemini.name(), "gemini");
    assert_eq!(
        Gemini.key_placement(),
        crate::providers::api::KeyPlacement::Header("x-goog-api-key")
    );
}

fn with_tools(choice: Option<ToolChoice>) -> ConverseCall {
    let mut request = input(vec![user(vec![text("Weather in Paris?")])]);
    request.tool_config = Some(ToolConfiguration {
        tools: vec![
            weather_tool(),
            Tool::CachePoint(cache_point()),
            Tool::ToolSpec(ToolSpecification {
                name: "get_time".into(),
                description: None,
                input_schema: ToolInputSchema::Json(doc(json!({ "type": "object" }))),
                strict: Some(false),
            }),
        ],
        tool_choice: choice,
    });
    call_of(request)
}

#[test]
fn tools_go_as_function_declarations_with_full_json_schema() {
    let seen = sent(
        &with_tools(Some(ToolChoice::Tool(SpecificToolChoice {
            name: "get_weather".into(),
        }))),
        false,
    );
    let declarations = &seen["body"]["tools"][0]["functionDeclarations"];
    assert_eq!(declarations.as_array().unwrap().len(), 2);
    assert_eq!(declarations[0]["name"], "get_weather");
    assert_eq!(declarations[0]["description"], "Weather for a city");
    // The schema is passed whole, keywords Gemini's OpenAPI subset lacks included.
    assert_eq!(
        declarations[0]["parametersJsonSchema"]["additionalProperties"],
        false
    );
    assert!(declarations[0].get("parameters").is_none());
    assert!(declarations[1].get("description").is_none());
    assert_eq!(
        seen["body"]["toolConfig"],
        json!({ "functionCallingConfig": { "mode": "ANY", "allowedFunctionNames": ["get_weather"] } })
    );
    insta::assert_json_snapshot!("request_tools_named_choice", seen);

    let mode = |choice| body(&with_tools(Some(choice)))["toolConfig"].clone();
    assert_eq!(
        mode(ToolChoice::Auto(AutoToolChoice {})),
        json!({ "functionCallingConfig": { "mode": "AUTO" } })
    );
    assert_eq!(
        mode(ToolChoice::Any(AnyToolChoice {})),
        json!({ "functionCallingConfig": { "mode": "ANY" } })
    );
    assert!(body(&with_tools(None)).get("toolConfig").is_none());
}

#[test]
fn tool_uses_and_results_become_function_calls_and_responses() {
    let history = vec![
        user(vec![text("Weather in Paris and Rome? And the time?")]),
        assistant(vec![
            text("Looking it up."),
            tool_use("tooluse_a", "get_weather", json!({ "city": "Paris" })),
            tool_use("tooluse_b", "get_weather", json!({ "city": "Rome" })),
            tool_use("tooluse_c", "get_time", json!({})),
            tool_use("tooluse_d", "get_time", json!({ "tz": "CET" })),
            tool_use("tooluse_e", "get_time", json!({ "tz": "UTC" })),
        ]),
        user(vec![
            // A JSON object: sent as the response itself.
            tool_result(
                "tooluse_a",
                vec![ToolResultContentBlock::Json(doc(
                    json!({ "temp": 18, "sky": "clear" }),
                ))],
                Some(ToolResultStatus::Success),
            ),
            // JSON that is not an object: under `output`.
            tool_result(
                "tooluse_b",
                vec![ToolResultContentBlock::Json(doc(json!(21)))],
                None,
            ),
            // Text: under `output`.
            tool_result(
                "tooluse_c",
                vec![ToolResultContentBlock::Text("12:00".into())],
                None,
            ),
            // Several items: a list under `output`.
            tool_result(
                "tooluse_d",
                vec![
                    ToolResultContentBlock::Text("13:00".into()),
                    ToolResultContentBlock::Json(doc(json!({ "dst": false }))),
                ],
                None,
            ),
            // An error: under `error`.
            tool_result(
                "tooluse_e",
                vec![ToolResultContentBlock::Text("unknown zone".into())],
                Some(ToolResultStatus::Error),
            ),
            text("Thanks."),
        ]),
    ];
    let seen = sent(&call(history), false);
    let contents = &seen["body"]["contents"];
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(
        contents[1]["parts"][1],
        json!({ "functionCall": { "id": "tooluse_a", "name": "get_weather", "args": { "city": "Paris" } } })
    );
    assert_eq!(contents[2]["role"], "user");
    let responses: Vec<&Value> = contents[2]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.get("functionResponse"))
        .collect();
    assert_eq!(
        responses[0],
        &json!({ "id": "tooluse_a", "name": "get_weather", "response": { "temp": 18, "sky": "clear" } })
    );
    assert_eq!(responses[1]["response"], json!({ "output": 21 }));
    assert_eq!(responses[1]["name"], "get_weather");
    assert_eq!(responses[2]["response"], json!({ "output": "12:00" }));
    assert_eq!(responses[2]["name"], "get_time");
    assert_eq!(
        responses[3]["response"],
        json!({ "output": ["13:00", { "dst": false }] })
    );
    assert_eq!(responses[4]["response"], json!({ "error": "unknown zone" }));
    assert_eq!(contents[2]["parts"][5], json!({ "text": "Thanks." }));
    insta::assert_json_snapshot!("request_tool_use_and_results", seen);
}

#[test]
fn images_and_documents_go_inline() {
    let message = user(vec![
        ContentBlock::Image(image(ImageFormat::Png, b"\x89PNG fake")),
        ContentBlock::Image(image(ImageFormat::Jpeg, b"\xff\xd8 fake")),
        ContentBlock::Image(image(ImageFormat::Gif, b"GIF89a")),
        ContentBlock::Image(image(ImageFormat::Webp, b"RIFF fake")),
        ContentBlock::Document(document(
            "memo",
            Some(DocumentFormat::Pdf),
            bytes(b"%PDF-1.4"),
        )),
        ContentBlock::Document(document(
            "notes",
            Some(DocumentFormat::Txt),
            bytes(b"plain"),
        )),
        ContentBlock::Document(document(
            "readme",
            Some(DocumentFormat::Md),
            bytes(b"# Title"),
        )),
        ContentBlock::Document(document(
            "table",
            Some(DocumentFormat::Csv),
            bytes(b"a,b\n1,2"),
        )),
        ContentBlock::Document(document(
            "page",
            Some(DocumentFormat::Html),
            bytes(b"<p>hi</p>"),
        )),
        ContentBlock::Document(document(
            "inline",
            None,
            DocumentSource::Text("Text given as a document.".into()),
        )),
        ContentBlock::Document(document(
            "chunks",
            None,
            DocumentSource::Content(vec![
                DocumentContentBlock::Text("First chunk.".into()),
                DocumentContentBlock::Text("Second chunk.".into()),
            ]),
        )),
        text("Describe all of these."),
    ]);
    let seen = sent(&call(vec![message]), false);
    let parts = seen["body"]["contents"][0]["parts"].as_array().unwrap();
    let mimes: Vec<&str> = parts
        .iter()
        .filter_map(|p| p["inlineData"]["mimeType"].as_str())
        .collect();
    assert_eq!(
        mimes,
        [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "application/pdf",
            "text/plain",
            "text/markdown",
            "text/csv",
            "text/html"
        ]
    );
    assert_eq!(parts[3]["inlineData"]["data"], "UklGRiBmYWtl");
    assert_eq!(parts[5]["inlineData"]["data"], "cGxhaW4=");
    assert_eq!(parts[9], json!({ "text": "Text given as a document." }));
    assert_eq!(parts[10], json!({ "text": "First chunk." }));
    assert_eq!(parts[11], json!({ "text": "Second chunk." }));
    assert_eq!(parts.len(), 13);
    insta::assert_json_snapshot!("request_media", seen);
}

#[test]
fn video_and_audio_go_inline_in_the_types_gemini_reads() {
    use quarry_bedrock_runtime::types::{AudioBlock, AudioFormat, AudioSource};
    let video = |format, data: &[u8]| {
        ContentBlock::Video(VideoBlock {
            format,
            source: VideoSource::Bytes(aws_smithy_types::Blob::new(data.to_vec())),
        })
    };
    let audio = |format, data: &[u8]| {
        ContentBlock::Audio(AudioBlock {
            format,
            source: AudioSource::Bytes(aws_smithy_types::Blob::new(data.to_vec())),
            error: None,
        })
    };
    let message = user(vec![
        video(VideoFormat::Mp4, b"mp4"),
        video(VideoFormat::Mov, b"mov"),
        video(VideoFormat::ThreeGp, b"3gp"),
        audio(AudioFormat::Mp3, b"ID3"),
        audio(AudioFormat::Wav, b"RIFF"),
        text("What happens here?"),
    ]);
    let seen = sent(&call(vec![message]), false);
    let parts = seen["body"]["contents"][0]["parts"].as_array().unwrap();
    let inline: Vec<(&str, &str)> = parts
        .iter()
        .filter_map(|p| {
            Some((
                p["inlineData"]["mimeType"].as_str()?,
                p["inlineData"]["data"].as_str()?,
            ))
        })
        .collect();
    assert_eq!(
        inline,
        [
            ("video/mp4", "bXA0"),
            ("video/mov", "bW92"),
            ("video/3gpp", "M2dw"),
            ("audio/mp3", "SUQz"),
            ("audio/wav", "UklGRg==")
        ]
    );
    let mkv = request::body(&call(vec![user(vec![video(VideoFormat::Mkv, b"x")])])).unwrap_err();
    assert!(mkv.message.contains("video format mkv"), "{}", mkv.message);
    let pcm = request::body(&call(vec![user(vec![audio(AudioFormat::Pcm, b"x")])])).unwrap_err();
    assert!(pcm.message.contains("audio format pcm"), "{}", pcm.message);
}

#[test]
fn reasoning_history_keeps_signatures_on_their_parts() {
    let history = vec![
        user(vec![text("Weather in Paris?")]),
        assistant(vec![
            // A thought summary with its own signature: one signed thought part.
            reasoning("The user wants the weather.", Some("c2lnLXRob3VnaHQ=")),
            // A signature that came on the function call: given back to it.
            reasoning("", Some("c2lnLWNhbGw=")),
            tool_use("t1", "get_weather", json!({ "city": "Paris" })),
            tool_use("t2", "get_weather", json!({ "city": "Lyon" })),
        ]),
        user(vec![
            tool_result(
                "t1",
                vec![ToolResultContentBlock::Json(doc(json!({ "temp": 18 })))],
                None,
            ),
            tool_result(
                "t2",
                vec![ToolResultContentBlock::Json(doc(json!({ "temp": 20 })))],
                None,
            ),
        ]),
        assistant(vec![
            // A thought without a signature, then text whose signature streamed after it.
            reasoning("Summarise.", None),
            text("18 °C in Paris, 20 °C in Lyon."),
            reasoning("", Some("c2lnLXRleHQ=")),
            // Empty and unsigned: nothing to send.
            reasoning("", None),
        ]),
        user(vec![text("Thanks")]),
    ];
    let seen = sent(&call(history), false);
    let contents = &seen["body"]["contents"];
    assert_eq!(
        contents[1]["parts"],
        json!([
            { "text": "The user wants the weather.", "thought": true, "thoughtSignature": "c2lnLXRob3VnaHQ=" },
            { "functionCall": { "id": "t1", "name": "get_weather", "args": { "city": "Paris" } }, "thoughtSignature": "c2lnLWNhbGw=" },
            { "functionCall": { "id": "t2", "name": "get_weather", "args": { "city": "Lyon" } } }
        ])
    );
    assert_eq!(
        contents[3]["parts"],
        json!([
            { "text": "Summarise.", "thought": true },
            { "text": "18 °C in Paris, 20 °C in Lyon.", "thoughtSignature": "c2lnLXRleHQ=" }
        ])
    );
    insta::assert_json_snapshot!("request_reasoning", seen);

    // A lone signature with no part to carry it still goes back.
    let lone = body(&call(vec![
        user(vec![text("hi")]),
        assistant(vec![reasoning("", Some("c2lnLWFsb25l"))]),
        user(vec![text("again")]),
    ]));
    assert_eq!(
        lone["contents"][1]["parts"],
        json!([{ "text": "", "thought": true, "thoughtSignature": "c2lnLWFsb25l" }])
    );
}

#[test]
fn cache_points_are_accepted_and_not_sent() {
    let plain = body(&with_tools(None));
    let mut request = with_tools(None).request;
    request.system = Some(vec![
        SystemContentBlock::Text("Be brief.".into()),
        SystemContentBlock::CachePoint(cache_point()),
    ]);
    request.messages = Some(vec![user(vec![
        text("Weather in Paris?"),
        ContentBlock::CachePoint(cache_point()),
    ])]);
    let cached = body(&call_of(request));
    assert!(!cached.to_string().contains("cache"), "{cached}");
    assert_eq!(cached["contents"], plain["contents"]);
    assert_eq!(cached["tools"], plain["tools"]);
    // A turn of cache points only is left out rather than sent with no parts.
    let only = body(&call(vec![
        user(vec![text("a")]),
        assistant(vec![ContentBlock::CachePoint(cache_point())]),
        user(vec![text("b")]),
    ]));
    assert_eq!(only["contents"].as_array().unwrap().len(), 2);
}

#[test]
fn count_tokens_sends_a_whole_generate_content_request() {
    let mut request = with_tools(Some(ToolChoice::Auto(AutoToolChoice {}))).request;
    request.system = Some(vec![SystemContentBlock::Text("Be brief.".into())]);
    let c = call_for("models/gemini-2.0-flash", request);
    let r = Gemini.count_tokens_request(&c).unwrap().unwrap();
    assert_eq!(
        r.path_and_query,
        "/v1beta/models/gemini-2.0-flash:countTokens"
    );
    let inner = &r.body["generateContentRequest"];
    assert_eq!(inner["model"], "models/gemini-2.0-flash");
    assert_eq!(inner["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(
        inner["tools"][0]["functionDeclarations"][0]["name"],
        "get_weather"
    );
    assert!(r.body.get("contents").is_none());
    insta::assert_json_snapshot!(
        "count_tokens_request",
        json!({ "path": r.path_and_query, "body": r.body })
    );
    assert_eq!(
        Gemini.count_tokens_response(br#"{"totalTokens": 31, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 31}]}"#),
        Ok(31)
    );
    // Proto3 JSON leaves a zero count out.
    assert_eq!(Gemini.count_tokens_response(b"{}"), Ok(0));
    assert_eq!(
        Gemini.count_tokens_response(b"[]").unwrap_err().kind,
        ErrorKind::ModelError
    );
    // Refusals apply to counting too.
    let mut bad = input(vec![user(vec![text("x")])]);
    bad.system = Some(vec![SystemContentBlock::GuardContent(
        quarry_bedrock_runtime::types::GuardrailConverseContentBlock::Text(
            quarry_bedrock_runtime::types::GuardrailConverseTextBlock {
                text: "g".into(),
                qualifiers: None,
            },
        ),
    )]);
    assert_eq!(
        Gemini
            .count_tokens_request(&call_of(bad))
            .unwrap()
            .unwrap_err()
            .kind,
        ErrorKind::Validation
    );
}

// ---------- refusals ----------

#[test]
fn what_gemini_cannot_take_is_refused_by_name() {
    let s3 = || S3Location {
        uri: "s3://bucket/key".into(),
        bucket_owner: None,
    };
    let redacted = assistant(vec![ContentBlock::ReasoningContent(
        ReasoningContentBlock::RedactedContent(Blob::new(vec![1, 2])),
    )]);
    let result_with = |item| {
        vec![
            user(vec![text("go")]),
            assistant(vec![tool_use("t", "f", json!({}))]),
            user(vec![tool_result("t", vec![item], None)]),
        ]
    };
    let with_doc = |format: DocumentFormat| {
        vec![user(vec![ContentBlock::Document(document(
            "d",
            Some(format),
            bytes(b"x"),
        ))])]
    };
    let mut cited = document("d", Some(DocumentFormat::Pdf), bytes(b"x"));
    cited.citations = Some(CitationsConfig { enabled: true });
    let mut contextual = document("d", Some(DocumentFormat::Pdf), bytes(b"x"));
    contextual.context = Some("from the archive".into());
    let cases: Vec<(Vec<Message>, &str)> = vec![
        (
            vec![redacted],
            "redacted reasoningContent is not supported by provider 'gemini'",
        ),
        (
            result_with(ToolResultContentBlock::Image(image(ImageFormat::Png, b"x"))),
            "image content inside a toolResult is not supported by provider 'gemini'",
        ),
        (
            result_with(ToolResultContentBlock::Document(document(
                "d",
                Some(DocumentFormat::Pdf),
                bytes(b"x"),
            ))),
            "document content inside a toolResult is not supported by provider 'gemini'",
        ),
        (
            with_doc(DocumentFormat::Doc),
            "document format doc is not supported by provider 'gemini'",
        ),
        (
            with_doc(DocumentFormat::Docx),
            "document format docx is not supported by provider 'gemini'",
        ),
        (
            with_doc(DocumentFormat::Xls),
            "document format xls is not supported by provider 'gemini'",
        ),
        (
            with_doc(DocumentFormat::Xlsx),
            "document format xlsx is not supported by provider 'gemini'",
        ),
        (
            vec![user(vec![ContentBlock::Document(document(
                "d",
                None,
                bytes(b"x"),
            ))])],
            "a document without a format is not supported by provider 'gemini'",
        ),
        (
            vec![user(vec![ContentBlock::Document(cited)])],
            "document citations is not supported by provider 'gemini'",
        ),
        (
            vec![user(vec![ContentBlock::Document(contextual)])],
            "document context is not supported by provider 'gemini'",
        ),
        (
            vec![user(vec![ContentBlock::Image(ImageBlock {
                format: ImageFormat::Png,
                source: ImageSource::S3Location(s3()),
                error: None,
            })])],
            "image s3Location source is not supported by provider 'gemini'",
        ),
        (
            vec![user(vec![ContentBlock::Document(document(
                "d",
                Some(DocumentFormat::Pdf),
                DocumentSource::S3Location(s3()),
            ))])],
            "document s3Location source is not supported by provider 'gemini'",
        ),
        (
            vec![user(vec![ContentBlock::Video(VideoBlock {
                format: VideoFormat::Mp4,
                source: VideoSource::S3Location(s3()),
            })])],
            "video s3Location source is not supported by provider 'gemini'",
        ),
        (
            vec![user(vec![reasoning("hm", None)])],
            "reasoningContent in a user message is not supported by provider 'gemini'",
        ),
        (
            vec![
                user(vec![text("go")]),
                assistant(vec![ContentBlock::ToolUse(ToolUseBlock {
                    tool_use_id: "s".into(),
                    name: "web_search".into(),
                    input: doc(json!({})),
                    r#type: Some(ToolUseType::ServerToolUse),
                })]),
            ],
            "toolUse type server_tool_use is not supported by provider 'gemini'",
        ),
        (
            vec![user(vec![tool_result(
                "tooluse_missing",
                vec![ToolResultContentBlock::Text("x".into())],
                None,
            )])],
            "toolResult references toolUseId tooluse_missing which no earlier toolUse has",
        ),
        (
            vec![Message {
                role: ConversationRole::System,
                content: vec![text("x")],
            }],
            "role system is not supported by provider 'gemini'",
        ),
        (
            vec![user(vec![tool_use("t", "f", json!({}))])],
            "messages.0: toolUse blocks belong in assistant messages",
        ),
    ];
    for (history, message) in cases {
        let err = refusal(&call(history));
        assert_eq!(err.kind, ErrorKind::Validation, "{message}");
        assert_eq!(err.message, message);
    }

    let mut strict = input(vec![user(vec![text("x")])]);
    strict.tool_config = Some(ToolConfiguration {
        tools: vec![Tool::ToolSpec(ToolSpecification {
            name: "f".into(),
            description: None,
            input_schema: ToolInputSchema::Json(doc(json!({ "type": "object" }))),
            strict: Some(true),
        })],
        tool_choice: None,
    });
    assert_eq!(
        refusal(&call_of(strict)).message,
        "toolSpec strict is not supported by provider 'gemini'"
    );
    let mut system_tool = input(vec![user(vec![text("x")])]);
    system_tool.tool_config = Some(ToolConfiguration {
        tools: vec![Tool::SystemTool(SystemTool {
            name: "nova_grounding".into(),
        })],
        tool_choice: None,
    });
    assert_eq!(
        refusal(&call_of(system_tool)).message,
        "system tool nova_grounding is not supported by provider 'gemini'"
    );
    let mut output_config = input(vec![user(vec![text("x")])]);
    output_config.additional_model_response_field_paths = Some(vec!["/x".into()]);
    assert_eq!(
        refusal(&call_of(output_config)).message,
        "additionalModelResponseFieldPaths is not supported by provider 'gemini'"
    );
}

// ---------- whole answers ----------

#[test]
fn a_text_answer_with_cached_and_thought_usage() {
    let out = answer(json!({
        "candidates": [{
            "content": { "parts": [{ "text": "Blue, mostly." }], "role": "model" },
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {
            "promptTokenCount": 2100, "candidatesTokenCount": 4, "thoughtsTokenCount": 30,
            "cachedContentTokenCount": 2048, "totalTokenCount": 2134,
            "promptTokensDetails": [{ "modality": "TEXT", "tokenCount": 2100 }]
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r1"
    }))
    .unwrap();
    assert_eq!(content_of(&out), [text("Blue, mostly.")]);
    assert_eq!(out.stop_reason, StopReason::EndTurn);
    assert_eq!(out.usage.input_tokens, 52);
    assert_eq!(out.usage.output_tokens, 34);
    assert_eq!(out.usage.cache_read_input_tokens, Some(2048));
    assert_eq!(out.usage.cache_write_input_tokens, None);
    // Bedrock's total equals Gemini's: nothing is counted twice or lost.
    assert_eq!(out.usage.total_tokens, 2134);
    assert_eq!(out.metrics.latency_ms, 42);
}

#[test]
fn function_calls_get_deterministic_ids_and_signatures_are_kept() {
    let body = json!({
        "candidates": [{
            "content": { "role": "model", "parts": [
                { "text": "Planning two lookups.", "thought": true },
                { "functionCall": { "name": "get_weather", "args": { "city": "Paris" } }, "thoughtSignature": "c2lnLWE=" },
                { "functionCall": { "id": "fc-2", "name": "get_weather", "args": { "city": "Rome" } } },
                { "functionCall": { "name": "ns.now" } }
            ] },
            "finishReason": "STOP", "index": 0
        }],
        "usageMetadata": { "promptTokenCount": 60, "candidatesTokenCount": 20, "totalTokenCount": 80 }
    });
    let out = answer(body.clone()).unwrap();
    assert_eq!(
        content_of(&out),
        [
            reasoning("Planning two lookups.", None),
            reasoning("", Some("c2lnLWE=")),
            tool_use(
                "tooluse_get_weather_0",
                "get_weather",
                json!({ "city": "Paris" })
            ),
            tool_use("fc-2", "get_weather", json!({ "city": "Rome" })),
            tool_use("tooluse_ns_now_2", "ns.now", json!({})),
        ]
    );
    assert_eq!(out.stop_reason, StopReason::ToolUse);
    assert_eq!(out.usage.input_tokens, 60);
    assert_eq!(out.usage.cache_read_input_tokens, None);
    // The same answer always gets the same ids.
    assert_eq!(content_of(&answer(body).unwrap()), content_of(&out));

    let signed_text = answer(json!({
        "candidates": [{ "content": { "role": "model", "parts": [
            { "text": "Done.", "thoughtSignature": "c2lnLXQ=" }
        ] }, "finishReason": "STOP" }]
    }))
    .unwrap();
    assert_eq!(
        content_of(&signed_text),
        [reasoning("", Some("c2lnLXQ=")), text("Done.")]
    );
    assert_eq!(signed_text.usage.total_tokens, 0);
}

#[test]
fn finish_reasons_map_to_stop_reasons() {
    for (reason, stop) in [
        ("STOP", StopReason::EndTurn),
        ("MAX_TOKENS", StopReason::MaxTokens),
        ("SAFETY", StopReason::ContentFiltered),
        ("RECITATION", StopReason::ContentFiltered),
        ("BLOCKLIST", StopReason::ContentFiltered),
        ("PROHIBITED_CONTENT", StopReason::ContentFiltered),
        ("SPII", StopReason::ContentFiltered),
        ("IMAGE_SAFETY", StopReason::ContentFiltered),
        ("MALFORMED_FUNCTION_CALL", StopReason::MalformedToolUse),
        ("UNEXPECTED_TOOL_CALL", StopReason::MalformedToolUse),
        ("LANGUAGE", StopReason::EndTurn),
        ("OTHER", StopReason::EndTurn),
        ("FINISH_REASON_UNSPECIFIED", StopReason::EndTurn),
    ] {
        let out = answer(json!({
            "candidates": [{ "content": { "role": "model", "parts": [{ "text": "x" }] }, "finishReason": reason }],
            "usageMetadata": { "promptTokenCount": 3, "candidatesTokenCount": 1, "totalTokenCount": 4 }
        }))
        .unwrap();
        assert_eq!(out.stop_reason, stop, "{reason}");
    }
    // A call cut by the token limit is max_tokens, not tool_use.
    let cut = answer(
        json!({ "candidates": [{ "content": { "role": "model", "parts": [
        { "functionCall": { "name": "f", "args": {} } }] }, "finishReason": "MAX_TOKENS" }] }),
    )
    .unwrap();
    assert_eq!(cut.stop_reason, StopReason::MaxTokens);
    // A malformed call comes with no content: one empty text block, so the message is not empty.
    let malformed = answer(
        json!({ "candidates": [{ "finishReason": "MALFORMED_FUNCTION_CALL", "index": 0 }],
        "usageMetadata": { "promptTokenCount": 2595, "totalTokenCount": 2595 } }),
    )
    .unwrap();
    assert_eq!(content_of(&malformed), [text("")]);
    assert_eq!(malformed.usage.input_tokens, 2595);
}

#[test]
fn a_blocked_prompt_is_content_filtered_with_empty_text() {
    let out = answer(json!({
        "promptFeedback": { "blockReason": "SAFETY", "safetyRatings": [
            { "category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH" }] },
        "usageMetadata": { "promptTokenCount": 9, "totalTokenCount": 9 },
        "modelVersion": "gemini-2.0-flash"
    }))
    .unwrap();
    assert_eq!(out.stop_reason, StopReason::ContentFiltered);
    assert_eq!(content_of(&out), [text("")]);
    assert_eq!((out.usage.input_tokens, out.usage.total_tokens), (9, 9));
}

#[test]
fn unreadable_answers_are_model_errors() {
    for bad in [
        json!({ "modelVersion": "gemini-2.0-flash" }),
        json!({ "candidates": [{ "content": { "parts": [{ "executableCode": { "language": "PYTHON", "code": "1" } }] }, "finishReason": "STOP" }] }),
        json!({ "candidates": [{ "content": { "parts": [{ "functionCall": { "args": {} } }] }, "finishReason": "STOP" }] }),
    ] {
        let err = answer(bad.clone()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ModelError, "{bad}");
        assert!(
            err.message
                .starts_with("The response from provider 'gemini' could not be read"),
            "{}",
            err.message
        );
    }
    assert_eq!(
        Gemini
            .response(&call(vec![]), b"not json", 0)
            .unwrap_err()
            .kind,
        ErrorKind::ModelError
    );
}

#[test]
fn error_bodies_give_their_message_and_kind() {
    let body = json!({ "error": { "code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
        "details": [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID" }] } });
    assert_eq!(
        Gemini.error_message(body.to_string().as_bytes()).as_deref(),
        Some("API key not valid. Please pass a valid API key.")
    );
    assert_eq!(Gemini.error_message(b"<html>502</html>"), None);
    assert_eq!(Gemini.error_message(b"{}"), None);
    for (status, kind) in [
        ("RESOURCE_EXHAUSTED", ErrorKind::Throttling),
        ("UNAVAILABLE", ErrorKind::ServiceUnavailable),
        ("INVALID_ARGUMENT", ErrorKind::Validation),
        ("DEADLINE_EXCEEDED", ErrorKind::ModelTimeout),
        ("INTERNAL", ErrorKind::InternalServer),
        ("PERMISSION_DENIED", ErrorKind::InternalServer),
    ] {
        let chunk =
            json!({ "error": { "code": 1, "message": format!("m {status}"), "status": status } });
        let mut decoder = Gemini.stream_decoder(&call(vec![]));
        let err = decoder
            .event(SseEvent {
                event: None,
                data: chunk.to_string(),
            })
            .unwrap_err();
        assert_eq!((err.kind, err.message), (kind, format!("m {status}")));
    }
}

// ---------- streams ----------

/// Feeds a fixture through a fresh decoder, then ends it as transport does.
fn decode(fixture: &str) -> Result<Vec<ConverseStreamOutput>, ProviderError> {
    let mut decoder = Gemini.stream_decoder(&call(vec![]));
    let mut out = Vec::new();
    for event in sse_events(fixture) {
        out.extend(decoder.event(event)?);
    }
    out.extend(decoder.finish(7)?);
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
                other => json!(format!("{other:?}")),
            };
            json!({ "contentBlockDelta": { "contentBlockIndex": e.content_block_index, "delta": delta } })
        }
        ConverseStreamOutput::ContentBlockStop(e) => {
            json!({ "contentBlockStop": { "contentBlockIndex": e.content_block_index } })
        }
        ConverseStreamOutput::MessageStop(e) => {
            json!({ "messageStop": { "stopReason": e.stop_reason.as_str() } })
        }
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

fn stop_of(events: &[ConverseStreamOutput]) -> StopReason {
    match &events[events.len() - 2] {
        ConverseStreamOutput::MessageStop(s) => s.stop_reason.clone(),
        other => panic!("{other:?}"),
    }
}

fn usage_of(events: &[ConverseStreamOutput]) -> (i32, i32, i32, Option<i32>) {
    match events.last() {
        Some(ConverseStreamOutput::Metadata(m)) => (
            m.usage.input_tokens,
            m.usage.output_tokens,
            m.usage.total_tokens,
            m.usage.cache_read_input_tokens,
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stream_of_thoughts_text_and_a_trailing_signature() {
    let events = decode(include_str!("fixtures/thoughts_and_text.sse")).unwrap();
    assert_well_formed(&events);
    let rendered: Vec<Value> = events.iter().map(render).collect();
    let reasoning: String = rendered
        .iter()
        .filter_map(|e| e["contentBlockDelta"]["delta"]["reasoningContent"]["text"].as_str())
        .collect();
    assert_eq!(
        reasoning,
        "**Considering light scattering**\n\nThe question is about why the sky looks blue. Rayleigh scattering favours short wavelengths."
    );
    let answer: String = rendered
        .iter()
        .filter_map(|e| e["contentBlockDelta"]["delta"]["text"].as_str())
        .collect();
    assert_eq!(
        answer,
        "Sunlight scatters off air molecules, and blue light scatters the most."
    );
    // Reasoning is block 0, the text block 1, the signature from the final empty part block 2.
    assert_eq!(
        rendered[3],
        json!({ "contentBlockStop": { "contentBlockIndex": 0 } })
    );
    assert_eq!(
        rendered[7],
        json!({ "contentBlockDelta": { "contentBlockIndex": 2, "delta": { "reasoningContent": {
            "signature": "CiIBVKhc7oWBQ3KtpYCxKTC0sq2Ftgb1ZzQf1nJm1Jx0cA==" } } } })
    );
    assert_eq!(stop_of(&events), StopReason::EndTurn);
    // 1030 prompt − 1024 cached; 15 candidates + 64 thoughts; total as Gemini's 1109.
    assert_eq!(usage_of(&events), (6, 79, 1109, Some(1024)));
    insta::assert_json_snapshot!("stream_thoughts_and_text", rendered);
}

#[test]
fn a_stream_of_whole_function_calls_with_a_signature() {
    let events = decode(include_str!("fixtures/function_calls.sse")).unwrap();
    assert_well_formed(&events);
    let rendered: Vec<Value> = events.iter().map(render).collect();
    let starts: Vec<&Value> = rendered
        .iter()
        .filter_map(|e| e.get("contentBlockStart"))
        .collect();
    assert_eq!(
        starts,
        [
            &json!({ "contentBlockIndex": 2, "start": { "toolUse": { "toolUseId": "tooluse_get_weather_0", "name": "get_weather" } } }),
            &json!({ "contentBlockIndex": 3, "start": { "toolUse": { "toolUseId": "fc-rome-1", "name": "get_weather" } } }),
        ]
    );
    let inputs: Vec<Value> = rendered
        .iter()
        .filter_map(|e| e["contentBlockDelta"]["delta"]["toolUse"]["input"].as_str())
        .map(|i| serde_json::from_str(i).unwrap())
        .collect();
    assert_eq!(
        inputs,
        [
            json!({ "city": "Paris", "unit": "celsius" }),
            json!({ "city": "Rome" })
        ]
    );
    // The call's signature is its own block, just before the call.
    assert_eq!(
        rendered[3]["contentBlockDelta"],
        json!({ "contentBlockIndex": 1, "delta": { "reasoningContent": {
            "signature": "CikBVKhc7rLx9w3dH0wJcY1o7Qb3sm8sYp2a3nE0Lf9o0c7a8Y2Zp5U=" } } })
    );
    assert_eq!(stop_of(&events), StopReason::ToolUse);
    assert_eq!(usage_of(&events), (88, 41, 129, None));
    insta::assert_json_snapshot!("stream_function_calls", rendered);
}

#[test]
fn an_in_stream_error_keeps_its_message_and_kind() {
    let mut decoder = Gemini.stream_decoder(&call(vec![]));
    let mut events = sse_events(include_str!("fixtures/error.sse")).into_iter();
    let first = decoder.event(events.next().unwrap()).unwrap();
    assert_eq!(first.len(), 2, "messageStart and the text delta: {first:?}");
    let err = decoder.event(events.next().unwrap()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttling);
    assert_eq!(
        err.message,
        "Resource has been exhausted (e.g. check quota)."
    );
}

#[test]
fn a_stream_cut_before_a_finish_reason_is_an_error() {
    let err = decode(include_str!("fixtures/cut.sse")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ModelStreamError);
    assert_eq!(
        err.message,
        "the stream from provider 'gemini' ended before it finished"
    );
    let mut empty = Gemini.stream_decoder(&call(vec![]));
    assert_eq!(
        empty.finish(1).unwrap_err().kind,
        ErrorKind::ModelStreamError
    );
}

#[test]
fn a_blocked_prompt_streams_as_content_filtered() {
    let events = decode(include_str!("fixtures/blocked.sse")).unwrap();
    assert_well_formed(&events);
    let rendered: Vec<Value> = events.iter().map(render).collect();
    assert_eq!(
        rendered[1],
        json!({ "contentBlockDelta": { "contentBlockIndex": 0, "delta": { "text": "" } } })
    );
    assert_eq!(stop_of(&events), StopReason::ContentFiltered);
    assert_eq!(usage_of(&events), (12, 0, 12, None));
    assert_eq!(rendered.len(), 5);
}

#[test]
fn a_stream_cut_by_the_token_limit_and_a_signed_thought() {
    let chunks = [
        json!({ "candidates": [{ "content": { "role": "model", "parts": [
            { "text": "Thinking", "thought": true }] } }] }),
        json!({ "candidates": [{ "content": { "role": "model", "parts": [
            { "text": " more.", "thought": true, "thoughtSignature": "c2ln" }] } }] }),
        json!({ "candidates": [{ "content": { "role": "model", "parts": [
            { "text": "Still thinking.", "thought": true }, { "text": "Answ" }] },
            "finishReason": "MAX_TOKENS" }],
            "usageMetadata": { "promptTokenCount": 4, "candidatesTokenCount": 1, "thoughtsTokenCount": 9, "totalTokenCount": 14 } }),
    ];
    let fixture: String = chunks
        .iter()
        .map(|c| format!("data: {c}\r\n\r\n"))
        .collect();
    let events = decode(&fixture).unwrap();
    assert_well_formed(&events);
    let rendered: Vec<Value> = events.iter().map(render).collect();
    assert_eq!(
        rendered[1..5],
        [
            json!({ "contentBlockDelta": { "contentBlockIndex": 0, "delta": { "reasoningContent": { "text": "Thinking" } } } }),
            json!({ "contentBlockDelta": { "contentBlockIndex": 0, "delta": { "reasoningContent": { "text": " more." } } } }),
            json!({ "contentBlockDelta": { "contentBlockIndex": 0, "delta": { "reasoningContent": { "signature": "c2ln" } } } }),
            json!({ "contentBlockStop": { "contentBlockIndex": 0 } }),
        ]
    );
    // A signed reasoning block is complete: later thoughts open a new one.
    assert_eq!(rendered[5]["contentBlockDelta"]["contentBlockIndex"], 1);
    assert_eq!(stop_of(&events), StopReason::MaxTokens);
    assert_eq!(usage_of(&events), (4, 10, 14, None));
}

// ---------- round trip ----------

/// An assistant turn of generated history.
#[derive(Debug, Clone)]
enum Turn {
    Text(String),
    /// A signed thought summary, then text.
    Thought(String, String, String),
    /// Tool calls (id, name, argument), optionally preceded by the signature Gemini put on the
    /// first call; the next user turn answers each.
    Tools(Vec<(String, String, i64)>, Option<String>),
}

fn turn() -> impl Strategy<Value = Turn> {
    let words = "[a-zA-Z0-9 ,.!?éü]{1,40}";
    let signature = "[A-Za-z0-9+/]{4,24}={0,2}";
    prop_oneof![
        words.prop_map(Turn::Text),
        (words, signature, words).prop_map(|(t, s, a)| Turn::Thought(t, s, a)),
        (
            proptest::collection::vec(
                ("tooluse_[a-zA-Z0-9]{4,12}", "[a-z_]{1,12}", any::<i64>()),
                1..4
            ),
            proptest::option::of(signature)
        )
            .prop_map(|(calls, sig)| Turn::Tools(calls, sig)),
    ]
}

/// Content with documents as JSON, so number encodings compare by value.
fn normalized(content: &[ContentBlock]) -> Vec<Value> {
    content
        .iter()
        .map(|b| match b {
            ContentBlock::Text(t) => json!({ "text": t }),
            ContentBlock::ToolUse(t) => json!({ "id": t.tool_use_id, "name": t.name,
                "input": vocab::to_value(&t.input) }),
            other => json!(format!("{other:?}")),
        })
        .collect()
}

proptest! {
    /// Assistant turns translated to Gemini and read back as Gemini answers keep their text,
    /// reasoning signatures, tool names, tool ids and inputs; each tool result names its call.
    #[test]
    fn converse_to_gemini_and_back_keeps_text_and_tool_calls(turns in proptest::collection::vec(turn(), 1..5)) {
        let mut history = vec![user(vec![text("go")])];
        for t in &turns {
            let (content, next_user) = match t {
                Turn::Text(t) => (vec![text(t)], vec![text("next")]),
                Turn::Thought(thought, sig, answer) => (
                    vec![reasoning(thought, Some(sig)), text(answer)],
                    vec![text("next")],
                ),
                Turn::Tools(calls, sig) => {
                    let mut content: Vec<ContentBlock> = sig.iter().map(|s| reasoning("", Some(s))).collect();
                    content.extend(calls.iter().map(|(id, name, n)| tool_use(id, name, json!({ "n": n }))));
                    let results = calls
                        .iter()
                        .map(|(id, _, n)| tool_result(id, vec![ToolResultContentBlock::Json(doc(json!(n)))], None))
                        .collect();
                    (content, results)
                }
            };
            history.push(assistant(content));
            history.push(user(next_user));
        }
        let sent = body(&call(history.clone()));
        let contents = sent["contents"].as_array().unwrap();
        prop_assert_eq!(contents.len(), history.len());
        for (content, original) in contents.iter().zip(&history) {
            if original.role == ConversationRole::Assistant {
                prop_assert_eq!(&content["role"], "model");
                let back = answer(json!({
                    "candidates": [{ "content": content, "finishReason": "STOP", "index": 0 }],
                    "usageMetadata": { "promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2 }
                })).unwrap();
                prop_assert_eq!(normalized(content_of(&back)), normalized(&original.content));
            } else {
                // Each function response carries its call's id and name.
                for (part, block) in content["parts"].as_array().unwrap().iter().zip(&original.content) {
                    if let ContentBlock::ToolResult(r) = block {
                        prop_assert_eq!(&part["functionResponse"]["id"], &json!(r.tool_use_id));
                        let name = history.iter().flat_map(|m| &m.content).find_map(|b| match b {
                            ContentBlock::ToolUse(u) if u.tool_use_id == r.tool_use_id => Some(u.name.clone()),
                            _ => None,
                        });
                        prop_assert_eq!(&part["functionResponse"]["name"], &json!(name));
                    }
                }
            }
        }
    }
}
