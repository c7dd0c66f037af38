//! Property tests: random values of the generated Bedrock (restJson1) and S3 (restXml) types go out through the real protocol serializer and come back equal through the generated readers.
//!
//! Every value is written with the service's own protocol (`BedrockRestJson` / `S3RestXml`, built
//! from the generated service schema exactly as the routers build them), so the bytes pass through
//! the runtime's JSON and XML codecs with the generated schemas. The response's headers and body
//! are then replayed as a request and read back with `deserialize_request` plus the generated
//! `deserialize_schema`, which must yield the original value and record no constraint violation.

use std::fmt;
use std::sync::LazyLock;

use aws_smithy_http_server::schema::{
    MetadataRoutedProtocol, ProtocolBuildContext, ServerProtocol,
};
use aws_smithy_schema::Schema;
use aws_smithy_schema::serde::{
    SerdeError, SerializableStruct, ShapeDeserializer, ShapeSerializer,
};
use aws_smithy_types::{BigDecimal, BigInteger, Blob, DateTime, Document, Number};
use bytes::Bytes;
use futures_util::FutureExt;
use http_body_util::BodyExt;
use proptest::prelude::*;
use quarry_codegen_runtime::protocol::{BedrockRestJson, S3RestXml};
use quarry_codegen_runtime::validation::Violations;

use quarry_bedrock as cp;
use quarry_bedrock_runtime as rt;
use quarry_s3 as s3;

// ---------------------------------------------------------------------------------------------
// Plumbing: response out, request in
// ---------------------------------------------------------------------------------------------

static BEDROCK_RUNTIME: LazyLock<BedrockRestJson> = LazyLock::new(|| {
    BedrockRestJson::from_build_context(&ProtocolBuildContext::new(&rt::SERVICE))
        .expect("bedrock-runtime protocol")
});
static BEDROCK: LazyLock<BedrockRestJson> = LazyLock::new(|| {
    BedrockRestJson::from_build_context(&ProtocolBuildContext::new(&cp::SERVICE))
        .expect("bedrock protocol")
});
static S3: LazyLock<S3RestXml> = LazyLock::new(|| {
    S3RestXml::from_build_context(&ProtocolBuildContext::new(&s3::SERVICE)).expect("s3 protocol")
});

/// What the protocol put on the wire for a value.
struct Wire {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "HTTP {}", self.status)?;
        for (k, v) in &self.headers {
            writeln!(f, "{k}: {v}")?;
        }
        write!(f, "\n{}", String::from_utf8_lossy(&self.body))
    }
}

/// The generated reader of a shape: `T::deserialize_schema`.
type Reader<T> = fn(&mut dyn ShapeDeserializer, &mut Violations) -> Result<Option<T>, SerdeError>;

/// Serializes `value` as the protocol answers with it (`serialize_response` against its schema).
fn send<P: ServerProtocol>(protocol: &P, value: &dyn SerializableStruct) -> Wire {
    let response = protocol.serialize_response(value.schema(), value);
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .now_or_never()
        .expect("an in-memory body is ready at once")
        .expect("body collects")
        .to_bytes();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Wire {
        status: parts.status.as_u16(),
        headers,
        body,
    }
}

/// Reads a request (`uri`, `headers`, `body`) against `schema` as the service reads its inputs.
fn receive<P: ServerProtocol, T>(
    protocol: &P,
    schema: &Schema<'_>,
    uri: &str,
    headers: &[(String, String)],
    body: Bytes,
    read: Reader<T>,
) -> Result<(Option<T>, Violations), String> {
    let mut builder = http::Request::builder().method("POST").uri(uri);
    for (k, v) in headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let request = builder.body(body).map_err(|e| format!("request: {e}"))?;
    let request = aws_smithy_runtime_api::http::Request::try_from(request)
        .map_err(|e| format!("request conversion: {e}"))?;
    let mut d = protocol
        .deserialize_request(schema, &request)
        .map_err(|e| format!("deserialize_request: {e:?}"))?;
    let mut v = Violations::new();
    let value = read(&mut *d, &mut v).map_err(|e| format!("deserialize_schema: {e}"))?;
    Ok((value, v))
}

/// How the serialized response becomes the request that is read back.
struct Replay {
    uri: String,
    body: Bytes,
}

impl Replay {
    fn same(wire: &Wire) -> Self {
        Replay {
            uri: "/".to_owned(),
            body: wire.body.clone(),
        }
    }
}

/// Serializes, replays and reads `value`, returning what was read, the violations and the wire.
fn cycle<P: ServerProtocol, T: SerializableStruct>(
    protocol: &P,
    value: &T,
    read: Reader<T>,
    replay: impl FnOnce(&Wire) -> Replay,
) -> Result<(Option<T>, Violations, Wire), TestCaseError> {
    let wire = send(protocol, value);
    prop_assert_eq!(wire.status, 200, "serialization failed:\n{}", wire);
    let Replay { uri, body } = replay(&wire);
    let (got, v) = receive(protocol, value.schema(), &uri, &wire.headers, body, read)
        .map_err(|e| TestCaseError::fail(format!("{e}\n--- wire ---\n{wire}")))?;
    Ok((got, v, wire))
}

/// The round-trip property: read back equal, with no constraint violation.
fn roundtrip_with<P: ServerProtocol, T: SerializableStruct + PartialEq + fmt::Debug>(
    protocol: &P,
    value: &T,
    read: Reader<T>,
    replay: impl FnOnce(&Wire) -> Replay,
) -> Result<(), TestCaseError> {
    let (got, v, wire) = cycle(protocol, value, read, replay)?;
    prop_assert!(
        v.is_empty(),
        "unexpected violations: {:?}\n--- wire ---\n{}",
        v.message(),
        wire
    );
    prop_assert!(
        got.as_ref() == Some(value),
        "read back {:#?}\nwrote {:#?}\n--- wire ---\n{}",
        got,
        value,
        wire
    );
    Ok(())
}

fn roundtrip<P: ServerProtocol, T: SerializableStruct + PartialEq + fmt::Debug>(
    protocol: &P,
    value: &T,
    read: Reader<T>,
) -> Result<(), TestCaseError> {
    roundtrip_with(protocol, value, read, Replay::same)
}

/// The round trip of an operation input: its URI-bound members travel in `uri` (built by the
/// caller), everything else is written by the protocol's response bindings (headers, body or
/// payload), which serve for requests too once the URI-bound members are left out.
fn roundtrip_request<P: ServerProtocol, T: SerializableStruct + PartialEq + fmt::Debug>(
    protocol: &P,
    value: &T,
    read: Reader<T>,
    uri: String,
) -> Result<(), TestCaseError> {
    let wire = send(protocol, &WithoutUriMembers(value));
    prop_assert_eq!(wire.status, 200, "serialization failed:\n{}", wire);
    let (got, v) = receive(
        protocol,
        value.schema(),
        &uri,
        &wire.headers,
        wire.body.clone(),
        read,
    )
    .map_err(|e| TestCaseError::fail(format!("{e}\n--- {uri} ---\n{wire}")))?;
    prop_assert!(
        v.is_empty(),
        "unexpected violations: {:?}\n--- {} ---\n{}",
        v.message(),
        uri,
        wire
    );
    prop_assert!(
        got.as_ref() == Some(value),
        "read back {:#?}\nwrote {:#?}\n--- {} ---\n{}",
        got,
        value,
        uri,
        wire
    );
    Ok(())
}

/// A structure minus its `@httpLabel` / `@httpQuery` members, which a response cannot carry.
struct WithoutUriMembers<'a>(&'a dyn SerializableStruct);

impl SerializableStruct for WithoutUriMembers<'_> {
    fn schema(&self) -> &Schema<'_> {
        self.0.schema()
    }

    fn serialize_members(&self, ser: &mut dyn ShapeSerializer) -> Result<(), SerdeError> {
        self.0.serialize_members(&mut UriMemberFilter(ser))
    }
}

/// Forwards top-level member writes, dropping URI-bound ones.
struct UriMemberFilter<'s>(&'s mut dyn ShapeSerializer);

fn uri_bound(schema: &Schema<'_>) -> bool {
    schema.http_label().is_some() || schema.http_query().is_some()
}

macro_rules! forward {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method(&mut self, schema: &Schema<'_>, value: $ty) -> Result<(), SerdeError> {
                if uri_bound(schema) { Ok(()) } else { self.0.$method(schema, value) }
            }
        )*
    };
}

impl ShapeSerializer for UriMemberFilter<'_> {
    forward! {
        write_boolean(bool),
        write_byte(i8),
        write_short(i16),
        write_integer(i32),
        write_long(i64),
        write_float(f32),
        write_double(f64),
        write_big_integer(&BigInteger),
        write_big_decimal(&BigDecimal),
        write_string(&str),
        write_blob(Blob),
        write_timestamp(&DateTime),
        write_document(&Document),
        write_struct(&dyn SerializableStruct),
    }

    fn write_list(
        &mut self,
        schema: &Schema<'_>,
        write_elements: &dyn Fn(&mut dyn ShapeSerializer) -> Result<(), SerdeError>,
    ) -> Result<(), SerdeError> {
        if uri_bound(schema) {
            Ok(())
        } else {
            self.0.write_list(schema, write_elements)
        }
    }

    fn write_list_with_length(
        &mut self,
        schema: &Schema<'_>,
        length: usize,
        write_elements: &dyn Fn(&mut dyn ShapeSerializer) -> Result<(), SerdeError>,
    ) -> Result<(), SerdeError> {
        if uri_bound(schema) {
            Ok(())
        } else {
            self.0
                .write_list_with_length(schema, length, write_elements)
        }
    }

    fn write_map(
        &mut self,
        schema: &Schema<'_>,
        write_entries: &dyn Fn(&mut dyn ShapeSerializer) -> Result<(), SerdeError>,
    ) -> Result<(), SerdeError> {
        if uri_bound(schema) {
            Ok(())
        } else {
            self.0.write_map(schema, write_entries)
        }
    }

    fn write_map_with_length(
        &mut self,
        schema: &Schema<'_>,
        length: usize,
        write_entries: &dyn Fn(&mut dyn ShapeSerializer) -> Result<(), SerdeError>,
    ) -> Result<(), SerdeError> {
        if uri_bound(schema) {
            Ok(())
        } else {
            self.0.write_map_with_length(schema, length, write_entries)
        }
    }

    fn write_null(&mut self, schema: &Schema<'_>) -> Result<(), SerdeError> {
        if uri_bound(schema) {
            Ok(())
        } else {
            self.0.write_null(schema)
        }
    }
}

/// Percent-encodes a URI label (or query value); a greedy label keeps its `/`.
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // Counterexamples are printed; no regression files are written next to the tests.
        failure_persistence: None,
        ..ProptestConfig::with_cases(64)
    }
}

// ---------------------------------------------------------------------------------------------
// Shared strategies: text, timestamps, documents, enums
// ---------------------------------------------------------------------------------------------

/// Characters that stress both codecs: markup and quoting, line ends, non-ASCII, astral planes.
const AWKWARD: &[char] = &[
    '<', '>', '&', '"', '\'', '\\', '/', '\n', '\r', '\t', ' ', 'é', 'ß', '中', '😀', '𝄞',
    '\u{85}', '\u{a0}', '\u{2028}', '\u{feff}',
];

/// A character XML 1.0 can carry (no C0 controls besides tab, newline and carriage return).
fn xml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range(' ', '~'),
        3 => prop::sample::select(AWKWARD),
        1 => proptest::char::range('\u{80}', '\u{d7ff}'),
        1 => proptest::char::range('\u{10000}', '\u{10ffff}'),
    ]
}

/// Any character: JSON escapes C0 controls too.
fn json_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => xml_char(),
        1 => proptest::char::range('\u{0}', '\u{1f}'),
        1 => any::<char>(),
    ]
}

fn text_of(
    c: impl Strategy<Value = char>,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = String> {
    prop::collection::vec(c, len).prop_map(|cs| cs.into_iter().collect())
}

fn json_text(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    text_of(json_char(), len)
}

fn xml_text(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    text_of(xml_char(), len)
}

/// A header-safe token: visible ASCII with inner spaces, quotes and commas (ETags are quoted).
fn header_text() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,20}[!-~])?"
}

/// A timestamp with millisecond precision, 1900–2100: what `date-time` carries.
fn millis() -> impl Strategy<Value = DateTime> {
    (-2_208_988_800i64..4_102_444_800i64, 0u32..1000)
        .prop_map(|(s, ms)| DateTime::from_secs_and_nanos(s, ms * 1_000_000))
}

/// A whole-second timestamp, 1970–2100: what `http-date` carries.
fn seconds() -> impl Strategy<Value = DateTime> {
    (0i64..4_102_444_800i64).prop_map(DateTime::from_secs)
}

/// An optional flattened XML list: present means non-empty, since an empty flattened list has
/// no elements to stand for it and reads back absent (as in every AWS SDK).
fn flat<S: Strategy>(element: S, max: usize) -> impl Strategy<Value = Option<Vec<S::Value>>> {
    prop::option::of(prop::collection::vec(element, 1..max))
}

/// A known value of an open enum.
fn known<E>(values: &'static [&'static str]) -> impl Strategy<Value = E> + Clone
where
    E: for<'a> From<&'a str> + Clone + fmt::Debug,
{
    prop::sample::select(values).prop_map(E::from)
}

/// A value outside an enum's set, which readers keep as `Unknown` (and report as a violation).
fn unknown_value(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,16}".prop_filter("must not be a known value", move |s| {
        !values.contains(&s.as_str())
    })
}

/// A float whose JSON text reads back as a float (an integral one would read back as an integer).
fn fractional() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite, not integral", |f| f.is_finite()
            && f.fract() != 0.0),
        (-1_000_000i64..1_000_000, 1u32..1000).prop_map(|(i, m)| i as f64 + f64::from(m) / 1000.0),
    ]
}

/// A JSON document: any shape, numbers as JSON reads them back.
fn document() -> impl Strategy<Value = Document> {
    let leaf = prop_oneof![
        Just(Document::Null),
        any::<bool>().prop_map(Document::Bool),
        any::<u64>().prop_map(|n| Document::Number(Number::PosInt(n))),
        (i64::MIN..0).prop_map(|n| Document::Number(Number::NegInt(n))),
        fractional().prop_map(|f| Document::Number(Number::Float(f))),
        json_text(0..12).prop_map(Document::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Document::Array),
            prop::collection::hash_map(json_text(0..8), inner, 0..4).prop_map(Document::Object),
        ]
    })
}

/// A JSON object document (tool inputs, schemas and additional fields are objects).
fn object_document() -> impl Strategy<Value = Document> {
    prop::collection::hash_map(json_text(0..8), document(), 0..5).prop_map(Document::Object)
}

// ---------------------------------------------------------------------------------------------
// bedrock-runtime strategies
// ---------------------------------------------------------------------------------------------

fn tool_use_id() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.:-]{1,64}"
}

fn tool_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_-]{1,64}"
}

fn image_block() -> impl Strategy<Value = rt::types::ImageBlock> {
    (
        known(rt::types::ImageFormat::values()),
        prop::collection::vec(any::<u8>(), 1..48),
        prop::option::of(prop::option::of(json_text(0..16))),
    )
        .prop_map(|(format, bytes, error)| rt::types::ImageBlock {
            format,
            source: rt::types::ImageSource::Bytes(Blob::new(bytes)),
            error: error.map(|message| rt::types::ErrorBlock { message }),
        })
}

fn tool_use() -> impl Strategy<Value = rt::types::ToolUseBlock> {
    (
        tool_use_id(),
        tool_name(),
        object_document(),
        prop::option::of(known(rt::types::ToolUseType::values())),
    )
        .prop_map(|(id, name, input, r#type)| {
            rt::types::ToolUseBlock::builder()
                .tool_use_id(id)
                .name(name)
                .input(input)
                .set_type(r#type)
                .build()
                .expect("all required members set")
        })
}

fn tool_result_content() -> impl Strategy<Value = rt::types::ToolResultContentBlock> {
    use rt::types::ToolResultContentBlock as B;
    prop_oneof![
        object_document().prop_map(B::Json),
        json_text(0..24).prop_map(B::Text),
        image_block().prop_map(B::Image),
    ]
}

fn tool_result() -> impl Strategy<Value = rt::types::ToolResultBlock> {
    (
        tool_use_id(),
        prop::collection::vec(tool_result_content(), 0..4),
        prop::option::of(known(rt::types::ToolResultStatus::values())),
        prop::option::of(json_text(0..12)),
    )
        .prop_map(
            |(tool_use_id, content, status, r#type)| rt::types::ToolResultBlock {
                tool_use_id,
                content,
                status,
                r#type,
            },
        )
}

fn reasoning() -> impl Strategy<Value = rt::types::ReasoningContentBlock> {
    use rt::types::ReasoningContentBlock as R;
    prop_oneof![
        (json_text(0..32), prop::option::of(json_text(0..16))).prop_map(|(text, signature)| {
            R::ReasoningText(rt::types::ReasoningTextBlock { text, signature })
        }),
        prop::collection::vec(any::<u8>(), 0..32).prop_map(|b| R::RedactedContent(Blob::new(b))),
    ]
}

fn cache_point() -> impl Strategy<Value = rt::types::CachePointBlock> {
    (
        known(rt::types::CachePointType::values()),
        prop::option::of(known(rt::types::CacheTtl::values())),
    )
        .prop_map(|(r#type, ttl)| rt::types::CachePointBlock { r#type, ttl })
}

fn content_block() -> impl Strategy<Value = rt::types::ContentBlock> {
    use rt::types::ContentBlock as C;
    prop_oneof![
        json_text(0..40).prop_map(C::Text),
        image_block().prop_map(C::Image),
        tool_use().prop_map(C::ToolUse),
        tool_result().prop_map(C::ToolResult),
        reasoning().prop_map(C::ReasoningContent),
        cache_point().prop_map(C::CachePoint),
    ]
}

fn message() -> impl Strategy<Value = rt::types::Message> {
    (
        known::<rt::types::ConversationRole>(rt::types::ConversationRole::values()),
        prop::collection::vec(content_block(), 0..5),
    )
        .prop_map(|(role, content)| {
            rt::types::Message::builder()
                .role(role)
                .content(content)
                .build()
                .expect("all required members set")
        })
}

fn tool_specification() -> impl Strategy<Value = rt::types::ToolSpecification> {
    (
        tool_name(),
        prop::option::of(json_text(1..40)),
        object_document(),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(name, description, schema, strict)| rt::types::ToolSpecification {
                name,
                description,
                input_schema: rt::types::ToolInputSchema::Json(schema),
                strict,
            },
        )
}

fn unit_f32() -> impl Strategy<Value = f32> {
    prop_oneof![Just(0.0f32), Just(1.0f32), 0.0f32..=1.0f32]
}

fn inference_configuration() -> impl Strategy<Value = rt::types::InferenceConfiguration> {
    (
        prop::option::of(1..=i32::MAX),
        prop::option::of(unit_f32()),
        prop::option::of(unit_f32()),
        prop::option::of(prop::collection::vec(json_text(1..12), 0..5)),
    )
        .prop_map(|(max_tokens, temperature, top_p, stop_sequences)| {
            rt::types::InferenceConfiguration {
                max_tokens,
                temperature,
                top_p,
                stop_sequences,
            }
        })
}

fn token_usage() -> impl Strategy<Value = rt::types::TokenUsage> {
    let detail = (known(rt::types::CacheTtl::values()), 0..=i32::MAX)
        .prop_map(|(ttl, input_tokens)| rt::types::CacheDetail { ttl, input_tokens });
    (
        (0..=i32::MAX, 0..=i32::MAX, 0..=i32::MAX),
        prop::option::of(0..=i32::MAX),
        prop::option::of(0..=i32::MAX),
        prop::option::of(prop::collection::vec(detail, 0..3)),
    )
        .prop_map(
            |((input, output, total), read, write, details)| rt::types::TokenUsage {
                input_tokens: input,
                output_tokens: output,
                total_tokens: total,
                cache_read_input_tokens: read,
                cache_write_input_tokens: write,
                cache_details: details,
            },
        )
}

fn converse_metrics() -> impl Strategy<Value = rt::types::ConverseMetrics> {
    any::<i64>().prop_map(|latency_ms| rt::types::ConverseMetrics { latency_ms })
}

fn performance_config() -> impl Strategy<Value = rt::types::PerformanceConfiguration> {
    prop::option::of(known(rt::types::PerformanceConfigLatency::values()))
        .prop_map(|latency| rt::types::PerformanceConfiguration { latency })
}

fn service_tier() -> impl Strategy<Value = rt::types::ServiceTier> {
    known(rt::types::ServiceTierType::values()).prop_map(|r#type| rt::types::ServiceTier { r#type })
}

fn converse_output() -> impl Strategy<Value = rt::operation::converse::ConverseOutput> {
    (
        message(),
        known(rt::types::StopReason::values()),
        token_usage(),
        converse_metrics(),
        prop::option::of(object_document()),
        prop::option::of(performance_config()),
        prop::option::of(service_tier()),
    )
        .prop_map(
            |(message, stop_reason, usage, metrics, fields, perf, tier)| {
                rt::operation::converse::ConverseOutput {
                    output: rt::types::ConverseOutput::Message(message),
                    stop_reason,
                    usage,
                    metrics,
                    additional_model_response_fields: fields,
                    trace: None,
                    performance_config: perf,
                    service_tier: tier,
                }
            },
        )
}

/// Model ids of the shapes the `modelId` pattern admits: bare ids, ARNs (with `/` and `:`).
fn model_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{1,20}\\.[a-z0-9-]{1,20}(:[0-9]{1,3})?",
        "arn:aws:bedrock:[a-z0-9-]{1,12}::foundation-model/[a-z0-9-]{1,12}\\.[a-z0-9-]{1,12}",
        "arn:aws:bedrock:[a-z0-9-]{1,12}:[0-9]{12}:inference-profile/[a-zA-Z0-9-:.]{1,20}",
    ]
}

fn metadata_text(min: usize) -> impl Strategy<Value = String> {
    text_of(
        prop::sample::select("abcXYZ019 \t\n:_@$#=/+,-.".chars().collect::<Vec<_>>()),
        min..12,
    )
}

fn converse_input() -> impl Strategy<Value = rt::operation::converse::ConverseInput> {
    let system = prop::collection::vec(
        prop_oneof![
            json_text(1..24).prop_map(rt::types::SystemContentBlock::Text),
            cache_point().prop_map(rt::types::SystemContentBlock::CachePoint),
        ],
        0..3,
    );
    let tools = (
        prop::collection::vec(
            prop_oneof![
                3 => tool_specification().prop_map(rt::types::Tool::ToolSpec),
                1 => cache_point().prop_map(rt::types::Tool::CachePoint),
            ],
            1..3,
        ),
        prop::option::of(prop_oneof![
            Just(rt::types::ToolChoice::Auto(rt::types::AutoToolChoice {})),
            Just(rt::types::ToolChoice::Any(rt::types::AnyToolChoice {})),
            tool_name().prop_map(|name| rt::types::ToolChoice::Tool(
                rt::types::SpecificToolChoice { name }
            )),
        ]),
    )
        .prop_map(|(tools, tool_choice)| rt::types::ToolConfiguration { tools, tool_choice });
    let prompt_variables = prop::collection::hash_map(
        json_text(0..8),
        json_text(0..16).prop_map(rt::types::PromptVariableValues::Text),
        0..4,
    );
    let request_metadata = prop::collection::hash_map(metadata_text(1), metadata_text(0), 1..5);
    (
        (
            model_id(),
            prop::option::of(prop::collection::vec(message(), 0..3)),
            prop::option::of(system),
            prop::option::of(inference_configuration()),
            prop::option::of(tools),
        ),
        (
            prop::option::of(object_document()),
            prop::option::of(prompt_variables),
            prop::option::of(prop::collection::vec(json_text(1..16), 0..4)),
            prop::option::of(request_metadata),
            prop::option::of(performance_config()),
            prop::option::of(service_tier()),
        ),
    )
        .prop_map(
            |(
                (model_id, messages, system, inference_config, tool_config),
                (fields, prompt_variables, paths, request_metadata, perf, tier),
            )| {
                rt::operation::converse::ConverseInput {
                    model_id,
                    messages,
                    system,
                    inference_config,
                    tool_config,
                    guardrail_config: None,
                    additional_model_request_fields: fields,
                    prompt_variables,
                    additional_model_response_field_paths: paths,
                    request_metadata,
                    performance_config: perf,
                    service_tier: tier,
                    output_config: None,
                }
            },
        )
}

/// Rewrites a JSON body with `edit` applied to its top-level object (key order is preserved).
fn edit_json(
    body: &[u8],
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> Bytes {
    let mut value: serde_json::Value = serde_json::from_slice(body).expect("the body is JSON");
    edit(value.as_object_mut().expect("the body is a JSON object"));
    Bytes::from(serde_json::to_vec(&value).expect("JSON serializes"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn message_roundtrips_through_rest_json(value in message()) {
        roundtrip(&*BEDROCK_RUNTIME, &value, rt::types::Message::deserialize_schema)?;
    }

    #[test]
    fn tool_specification_roundtrips_through_rest_json(value in tool_specification()) {
        roundtrip(&*BEDROCK_RUNTIME, &value, rt::types::ToolSpecification::deserialize_schema)?;
    }

    #[test]
    fn inference_configuration_roundtrips_through_rest_json(value in inference_configuration()) {
        roundtrip(&*BEDROCK_RUNTIME, &value, rt::types::InferenceConfiguration::deserialize_schema)?;
    }

    #[test]
    fn token_usage_and_metrics_roundtrip_through_rest_json(
        usage in token_usage(),
        metrics in converse_metrics(),
    ) {
        roundtrip(&*BEDROCK_RUNTIME, &usage, rt::types::TokenUsage::deserialize_schema)?;
        roundtrip(&*BEDROCK_RUNTIME, &metrics, rt::types::ConverseMetrics::deserialize_schema)?;
    }

    #[test]
    fn converse_output_roundtrips_through_rest_json(value in converse_output()) {
        roundtrip(
            &*BEDROCK_RUNTIME,
            &value,
            rt::operation::converse::ConverseOutput::deserialize_schema,
        )?;
    }

    /// `modelId` travels in the path (`/model/{modelId}/converse`), everything else in the body.
    #[test]
    fn converse_input_roundtrips_through_rest_json(value in converse_input()) {
        let uri = format!("/model/{}/converse", encode(&value.model_id, false));
        roundtrip_request(
            &*BEDROCK_RUNTIME,
            &value,
            rt::operation::converse::ConverseInput::deserialize_schema,
            uri,
        )?;
    }

    /// An unknown enum value is kept as `Unknown` and reported as the enum violation.
    #[test]
    fn unknown_role_is_kept_and_reported(
        raw in unknown_value(rt::types::ConversationRole::values()),
        content in prop::collection::vec(content_block(), 0..2),
    ) {
        let value = rt::types::Message {
            role: rt::types::ConversationRole::Unknown(raw.clone()),
            content,
        };
        let (got, v, wire) = cycle(
            &*BEDROCK_RUNTIME,
            &value,
            rt::types::Message::deserialize_schema,
            Replay::same,
        )?;
        prop_assert!(got.as_ref() == Some(&value), "read back {:?}\n{}", got, wire);
        prop_assert_eq!(
            v.message(),
            Some(format!(
                "1 validation error detected: Value '{raw}' at 'role' failed to satisfy constraint: \
                 Member must satisfy enum value set: [user, assistant, system]"
            )),
            "{}",
            wire
        );
    }
}

// ---------------------------------------------------------------------------------------------
// bedrock (control plane) strategies
// ---------------------------------------------------------------------------------------------

fn s3_uri() -> impl Strategy<Value = String> {
    "s3://[a-z0-9][-.a-z0-9]{1,20}[a-z0-9](/[-!_*'().a-z0-9A-Z]{1,10}){0,3}/?"
}

fn account() -> impl Strategy<Value = String> {
    "[0-9]{12}"
}

fn input_data_config() -> impl Strategy<Value = cp::types::ModelInvocationJobInputDataConfig> {
    (
        prop::option::of(known(cp::types::S3InputFormat::values())),
        s3_uri(),
        prop::option::of(account()),
    )
        .prop_map(|(s3_input_format, s3_uri, s3_bucket_owner)| {
            cp::types::ModelInvocationJobInputDataConfig::S3InputDataConfig(
                cp::types::ModelInvocationJobS3InputDataConfig {
                    s3_input_format,
                    s3_uri,
                    s3_bucket_owner,
                },
            )
        })
}

fn output_data_config() -> impl Strategy<Value = cp::types::ModelInvocationJobOutputDataConfig> {
    (
        s3_uri(),
        prop::option::of(prop_oneof![
            "arn:aws:kms:us-east-1:[0-9]{12}:key/[a-f0-9-]{36}",
            "alias/[a-zA-Z0-9-_/]{1,20}",
        ]),
        prop::option::of(account()),
    )
        .prop_map(|(s3_uri, s3_encryption_key_id, s3_bucket_owner)| {
            cp::types::ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
                cp::types::ModelInvocationJobS3OutputDataConfig {
                    s3_uri,
                    s3_encryption_key_id,
                    s3_bucket_owner,
                },
            )
        })
}

fn vpc_config() -> impl Strategy<Value = cp::types::VpcConfig> {
    (
        prop::collection::vec("[-0-9a-zA-Z]{1,32}", 1..=16),
        prop::collection::vec("[-0-9a-zA-Z]{1,32}", 1..=5),
    )
        .prop_map(|(subnet_ids, security_group_ids)| cp::types::VpcConfig {
            subnet_ids,
            security_group_ids,
        })
}

fn job_summary() -> impl Strategy<Value = cp::types::ModelInvocationJobSummary> {
    (
        (
            "arn:aws:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job/[a-z0-9]{12}",
            "[a-zA-Z0-9]{1,20}(-{0,2}[a-zA-Z0-9+.-]){0,10}",
            // The unanchored id alternative wants two or more characters after the dot.
            "[a-z0-9-]{1,20}\\.[a-z0-9-]{2,20}",
            prop::option::of("[a-zA-Z0-9]{1,20}(-[a-zA-Z0-9]){0,5}"),
            "arn:aws:iam::[0-9]{12}:role/[a-zA-Z0-9_+=,.@-]{1,30}",
            prop::option::of(known(cp::types::ModelInvocationJobStatus::values())),
            prop::option::of(json_text(0..64)),
        ),
        (
            millis(),
            prop::option::of(millis()),
            prop::option::of(millis()),
            prop::option::of(millis()),
        ),
        (
            input_data_config(),
            output_data_config(),
            prop::option::of(vpc_config()),
            prop::option::of(24..=168i32),
            prop::option::of(known(cp::types::ModelInvocationType::values())),
            prop::array::uniform4(prop::option::of(0..=i64::MAX)),
        ),
    )
        .prop_map(
            |(
                (job_arn, job_name, model_id, token, role_arn, status, message),
                (submit_time, last_modified_time, end_time, job_expiration_time),
                (input, output, vpc, timeout, invocation_type, [total, processed, success, error]),
            )| cp::types::ModelInvocationJobSummary {
                job_arn,
                job_name,
                model_id,
                client_request_token: token,
                role_arn,
                status,
                message,
                submit_time,
                last_modified_time,
                end_time,
                input_data_config: input,
                output_data_config: output,
                vpc_config: vpc,
                timeout_duration_in_hours: timeout,
                job_expiration_time,
                model_invocation_type: invocation_type,
                total_record_count: total,
                processed_record_count: processed,
                success_record_count: success,
                error_record_count: error,
            },
        )
}

/// The members of `ModelInvocationJobSummary` marked `@required`, by wire name.
const SUMMARY_REQUIRED: &[&str] = &[
    "jobArn",
    "jobName",
    "modelId",
    "roleArn",
    "submitTime",
    "inputDataConfig",
    "outputDataConfig",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn job_summary_roundtrips_through_rest_json(value in job_summary()) {
        roundtrip(&*BEDROCK, &value, cp::types::ModelInvocationJobSummary::deserialize_schema)?;
    }

    #[test]
    fn list_jobs_output_roundtrips_through_rest_json(
        summaries in prop::option::of(prop::collection::vec(job_summary(), 0..3)),
        next_token in prop::option::of("[!-~]{1,40}"),
    ) {
        let value = cp::operation::list_model_invocation_jobs::ListModelInvocationJobsOutput {
            next_token,
            invocation_job_summaries: summaries,
        };
        roundtrip(
            &*BEDROCK,
            &value,
            cp::operation::list_model_invocation_jobs::ListModelInvocationJobsOutput::deserialize_schema,
        )?;
    }

    /// Removing a required member from the JSON makes the reader answer `None` and name it.
    #[test]
    fn missing_required_member_is_reported(
        value in job_summary(),
        member in prop::sample::select(SUMMARY_REQUIRED),
    ) {
        let (got, v, wire) = cycle(
            &*BEDROCK,
            &value,
            cp::types::ModelInvocationJobSummary::deserialize_schema,
            |wire| Replay {
                uri: "/".to_owned(),
                body: edit_json(&wire.body, |o| {
                    assert!(o.shift_remove(member).is_some(), "{member} was serialized");
                }),
            },
        )?;
        prop_assert!(got.is_none(), "read back {:?}\n{}", got, wire);
        prop_assert_eq!(
            v.message(),
            Some(format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: \
                 Member must not be null"
            )),
            "{}",
            wire
        );
    }

    /// The same through a nested structure inside a list inside a union: the path names it all.
    ///
    /// FAILS (generator bug): the incomplete element makes the generated list reader return
    /// `None` for `content`, and `Message::deserialize_schema` then also reports the present list
    /// as missing. Shrunk counterexample: `before = []`, `toolUseId` removed from
    /// `{"role":"user","content":[{"toolUse":{"toolUseId":"A","name":"A","input":{}}}]}` gives
    /// "2 validation errors detected: Value null at 'content.1.member.toolUse.toolUseId' …;
    /// Value null at 'content' failed to satisfy constraint: Member must not be null".
    #[test]
    fn missing_nested_required_member_is_reported(
        before in prop::collection::vec(json_text(0..8).prop_map(rt::types::ContentBlock::Text), 0..3),
        tool in tool_use(),
    ) {
        let index = before.len();
        let mut content = before;
        content.push(rt::types::ContentBlock::ToolUse(tool));
        let value = rt::types::Message { role: rt::types::ConversationRole::User, content };
        let (got, v, wire) = cycle(
            &*BEDROCK_RUNTIME,
            &value,
            rt::types::Message::deserialize_schema,
            |wire| Replay {
                uri: "/".to_owned(),
                body: edit_json(&wire.body, |o| {
                    let block = &mut o["content"][index]["toolUse"];
                    let block = block.as_object_mut().expect("toolUse is an object");
                    assert!(block.shift_remove("toolUseId").is_some());
                }),
            },
        )?;
        prop_assert!(got.is_none(), "read back {:?}\n{}", got, wire);
        prop_assert_eq!(
            v.message(),
            Some(format!(
                "1 validation error detected: Value null at 'content.{}.member.toolUse.toolUseId' \
                 failed to satisfy constraint: Member must not be null",
                index + 1
            )),
            "{}",
            wire
        );
    }
}

// ---------------------------------------------------------------------------------------------
// s3 strategies
// ---------------------------------------------------------------------------------------------

/// An S3 object key: at least one character, slashes included.
fn key() -> impl Strategy<Value = String> {
    text_of(prop_oneof![4 => xml_char(), 1 => Just('/')], 1..24)
}

fn etag() -> impl Strategy<Value = String> {
    prop_oneof![
        "\"[0-9a-f]{32}\"",
        "\"[0-9a-f]{32}-[0-9]{1,4}\"",
        xml_text(0..16),
    ]
}

fn owner() -> impl Strategy<Value = s3::types::Owner> {
    (
        prop::option::of(xml_text(0..16)),
        prop::option::of("[0-9a-f]{64}"),
    )
        .prop_map(|(display_name, id)| s3::types::Owner { display_name, id })
}

fn restore_status() -> impl Strategy<Value = s3::types::RestoreStatus> {
    (prop::option::of(any::<bool>()), prop::option::of(millis())).prop_map(
        |(is_restore_in_progress, restore_expiry_date)| s3::types::RestoreStatus {
            is_restore_in_progress,
            restore_expiry_date,
        },
    )
}

fn object() -> impl Strategy<Value = s3::types::Object> {
    (
        prop::option::of(key()),
        prop::option::of(millis()),
        prop::option::of(etag()),
        flat(known(s3::types::ChecksumAlgorithm::values()), 3),
        prop::option::of(known(s3::types::ChecksumType::values())),
        prop::option::of(any::<i64>()),
        prop::option::of(known(s3::types::ObjectStorageClass::values())),
        prop::option::of(owner()),
        prop::option::of(restore_status()),
    )
        .prop_map(
            |(
                key,
                last_modified,
                e_tag,
                algorithms,
                checksum_type,
                size,
                class,
                owner,
                restore,
            )| {
                s3::types::Object {
                    key,
                    last_modified,
                    e_tag,
                    checksum_algorithm: algorithms,
                    checksum_type,
                    size,
                    storage_class: class,
                    owner,
                    restore_status: restore,
                }
            },
        )
}

fn common_prefix() -> impl Strategy<Value = s3::types::CommonPrefix> {
    prop::option::of(xml_text(0..16)).prop_map(|prefix| s3::types::CommonPrefix { prefix })
}

fn checksum() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[A-Za-z0-9+/]{8,43}={0,2}")
}

fn part() -> impl Strategy<Value = s3::types::Part> {
    (
        (
            prop::option::of(1..=10_000i32),
            prop::option::of(millis()),
            prop::option::of(etag()),
            prop::option::of(0..=i64::MAX),
        ),
        prop::array::uniform10(checksum()),
    )
        .prop_map(|((part_number, last_modified, e_tag, size), c)| {
            let [
                crc32,
                crc32c,
                crc64,
                sha1,
                sha256,
                sha512,
                md5,
                xx64,
                xx3,
                xx128,
            ] = c;
            s3::types::Part {
                part_number,
                last_modified,
                e_tag,
                size,
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_crc64nvme: crc64,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
                checksum_sha512: sha512,
                checksum_md5: md5,
                checksum_xxhash64: xx64,
                checksum_xxhash3: xx3,
                checksum_xxhash128: xx128,
            }
        })
}

fn completed_part() -> impl Strategy<Value = s3::types::CompletedPart> {
    (
        prop::option::of(etag()),
        prop::array::uniform10(checksum()),
        prop::option::of(1..=10_000i32),
    )
        .prop_map(|(e_tag, c, part_number)| {
            let [
                crc32,
                crc32c,
                crc64,
                sha1,
                sha256,
                sha512,
                md5,
                xx64,
                xx3,
                xx128,
            ] = c;
            s3::types::CompletedPart {
                e_tag,
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_crc64nvme: crc64,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
                checksum_sha512: sha512,
                checksum_md5: md5,
                checksum_xxhash64: xx64,
                checksum_xxhash3: xx3,
                checksum_xxhash128: xx128,
                part_number,
            }
        })
}

fn tag() -> impl Strategy<Value = s3::types::Tag> {
    (xml_text(1..16), xml_text(0..16)).prop_map(|(key, value)| s3::types::Tag { key, value })
}

fn object_identifier() -> impl Strategy<Value = s3::types::ObjectIdentifier> {
    (
        key(),
        prop::option::of("[A-Za-z0-9._-]{1,32}"),
        prop::option::of(etag()),
        prop::option::of(seconds()),
        prop::option::of(0..=i64::MAX),
    )
        .prop_map(|(key, version_id, e_tag, last_modified_time, size)| {
            s3::types::ObjectIdentifier {
                key,
                version_id,
                e_tag,
                last_modified_time,
                size,
            }
        })
}

fn delete() -> impl Strategy<Value = s3::types::Delete> {
    (
        // `Objects` is required and flattened: at least one `<Object>` says it is there.
        prop::collection::vec(object_identifier(), 1..4),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(objects, quiet)| s3::types::Delete { objects, quiet })
}

fn list_objects_v2_output()
-> impl Strategy<Value = s3::operation::list_objects_v2::ListObjectsV2Output> {
    (
        (
            prop::option::of(any::<bool>()),
            flat(object(), 4),
            prop::option::of("[a-z0-9][a-z0-9.-]{1,30}[a-z0-9]"),
            prop::option::of(xml_text(0..12)),
            prop::option::of(xml_text(1..4)),
            prop::option::of(any::<i32>()),
            flat(common_prefix(), 4),
        ),
        (
            prop::option::of(known(s3::types::EncodingType::values())),
            prop::option::of(any::<i32>()),
            prop::option::of(xml_text(0..16)),
            prop::option::of(xml_text(0..16)),
            prop::option::of(xml_text(0..16)),
            prop::option::of(known(s3::types::RequestCharged::values())),
        ),
    )
        .prop_map(
            |(
                (is_truncated, contents, name, prefix, delimiter, max_keys, common_prefixes),
                (encoding_type, key_count, token, next_token, start_after, request_charged),
            )| s3::operation::list_objects_v2::ListObjectsV2Output {
                is_truncated,
                contents,
                name,
                prefix,
                delimiter,
                max_keys,
                common_prefixes,
                encoding_type,
                key_count,
                continuation_token: token,
                next_continuation_token: next_token,
                start_after,
                request_charged,
            },
        )
}

fn bucket() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9.-]{1,30}[a-z0-9]"
}

fn delete_objects_input() -> impl Strategy<Value = s3::operation::delete_objects::DeleteObjectsInput>
{
    (
        bucket(),
        delete(),
        prop::option::of(header_text()),
        prop::option::of(known(s3::types::RequestPayer::values())),
        prop::option::of(any::<bool>()),
        prop::option::of(account()),
        prop::option::of(known(s3::types::ChecksumAlgorithm::values())),
    )
        .prop_map(
            |(bucket, delete, mfa, request_payer, bypass, owner, algorithm)| {
                s3::operation::delete_objects::DeleteObjectsInput {
                    bucket,
                    delete,
                    mfa,
                    request_payer,
                    bypass_governance_retention: bypass,
                    expected_bucket_owner: owner,
                    checksum_algorithm: algorithm,
                }
            },
        )
}

fn complete_multipart_upload_input()
-> impl Strategy<Value = s3::operation::complete_multipart_upload::CompleteMultipartUploadInput> {
    let payload =
        flat(completed_part(), 4).prop_map(|parts| s3::types::CompletedMultipartUpload { parts });
    (
        (
            bucket(),
            key(),
            prop::option::of(payload),
            "[A-Za-z0-9._~-]{1,40}",
            prop::array::uniform10(checksum()),
        ),
        (
            prop::option::of(known(s3::types::ChecksumType::values())),
            prop::option::of(0..=i64::MAX),
            prop::option::of(known(s3::types::RequestPayer::values())),
            prop::option::of(account()),
            prop::option::of(header_text()),
            prop::option::of(header_text()),
            prop::option::of(Just("AES256".to_owned())),
            prop::option::of("[A-Za-z0-9+/]{43}="),
            prop::option::of("[A-Za-z0-9+/]{22}=="),
        ),
    )
        .prop_map(
            |(
                (bucket, key, multipart_upload, upload_id, c),
                (checksum_type, size, payer, owner, if_match, if_none_match, alg, sse_key, sse_md5),
            )| {
                let [
                    crc32,
                    crc32c,
                    crc64,
                    sha1,
                    sha256,
                    sha512,
                    md5,
                    xx64,
                    xx3,
                    xx128,
                ] = c;
                s3::operation::complete_multipart_upload::CompleteMultipartUploadInput {
                    bucket,
                    key,
                    multipart_upload,
                    upload_id,
                    checksum_crc32: crc32,
                    checksum_crc32c: crc32c,
                    checksum_crc64nvme: crc64,
                    checksum_sha1: sha1,
                    checksum_sha256: sha256,
                    checksum_sha512: sha512,
                    checksum_md5: md5,
                    checksum_xxhash64: xx64,
                    checksum_xxhash3: xx3,
                    checksum_xxhash128: xx128,
                    checksum_type,
                    mpu_object_size: size,
                    request_payer: payer,
                    expected_bucket_owner: owner,
                    if_match,
                    if_none_match,
                    sse_customer_algorithm: alg,
                    sse_customer_key: sse_key,
                    sse_customer_key_md5: sse_md5,
                }
            },
        )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn object_roundtrips_through_rest_xml(value in object()) {
        roundtrip(&*S3, &value, s3::types::Object::deserialize_schema)?;
    }

    #[test]
    fn small_structures_roundtrip_through_rest_xml(
        prefix in common_prefix(),
        part in part(),
        completed in completed_part(),
        tag in tag(),
        owner in owner(),
        id in object_identifier(),
    ) {
        roundtrip(&*S3, &prefix, s3::types::CommonPrefix::deserialize_schema)?;
        roundtrip(&*S3, &part, s3::types::Part::deserialize_schema)?;
        roundtrip(&*S3, &completed, s3::types::CompletedPart::deserialize_schema)?;
        roundtrip(&*S3, &tag, s3::types::Tag::deserialize_schema)?;
        roundtrip(&*S3, &owner, s3::types::Owner::deserialize_schema)?;
        roundtrip(&*S3, &id, s3::types::ObjectIdentifier::deserialize_schema)?;
    }

    #[test]
    fn delete_roundtrips_through_rest_xml(value in delete()) {
        roundtrip(&*S3, &value, s3::types::Delete::deserialize_schema)?;
    }

    #[test]
    fn completed_multipart_upload_roundtrips_through_rest_xml(
        parts in flat(completed_part(), 4),
    ) {
        let value = s3::types::CompletedMultipartUpload { parts };
        roundtrip(&*S3, &value, s3::types::CompletedMultipartUpload::deserialize_schema)?;
    }

    /// The body is `<ListBucketResult>` with flattened `Contents` and `CommonPrefixes`;
    /// `RequestCharged` travels as a header.
    #[test]
    fn list_objects_v2_output_roundtrips_through_rest_xml(value in list_objects_v2_output()) {
        roundtrip(
            &*S3,
            &value,
            s3::operation::list_objects_v2::ListObjectsV2Output::deserialize_schema,
        )?;
    }

    /// A whole request: `Bucket` in the path, `<Delete>` as the XML payload, the rest in headers.
    #[test]
    fn delete_objects_input_roundtrips_through_rest_xml(value in delete_objects_input()) {
        let uri = format!("/{}?delete", encode(&value.bucket, false));
        roundtrip_request(
            &*S3,
            &value,
            s3::operation::delete_objects::DeleteObjectsInput::deserialize_schema,
            uri,
        )?;
    }

    /// Greedy `{Key+}` label and `uploadId` query in the URI, `<CompleteMultipartUpload>` payload,
    /// checksums, conditions and SSE-C key in headers.
    #[test]
    fn complete_multipart_upload_input_roundtrips_through_rest_xml(
        value in complete_multipart_upload_input(),
    ) {
        let uri = format!(
            "/{}/{}?uploadId={}",
            encode(&value.bucket, false),
            encode(&value.key, true),
            encode(&value.upload_id, false),
        );
        roundtrip_request(
            &*S3,
            &value,
            s3::operation::complete_multipart_upload::CompleteMultipartUploadInput::deserialize_schema,
            uri,
        )?;
    }

    /// An unknown storage class is kept as `Unknown` and reported as the enum violation.
    #[test]
    fn unknown_storage_class_is_kept_and_reported(
        raw in unknown_value(s3::types::ObjectStorageClass::values()),
        base in object(),
    ) {
        let value = s3::types::Object {
            storage_class: Some(s3::types::ObjectStorageClass::Unknown(raw.clone())),
            ..base
        };
        let (got, v, wire) = cycle(&*S3, &value, s3::types::Object::deserialize_schema, Replay::same)?;
        prop_assert!(got.as_ref() == Some(&value), "read back {:?}\n{}", got, wire);
        let message = v.message().unwrap_or_default();
        prop_assert!(
            message.starts_with(&format!(
                "1 validation error detected: Value '{raw}' at 'StorageClass' failed to satisfy \
                 constraint: Member must satisfy enum value set: [STANDARD, "
            )),
            "{}\n{}",
            message,
            wire
        );
    }
}
