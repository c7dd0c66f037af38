//! Snapshot tests of the generated code for each fixture, with explicit checks of each trait family's key facts.
//!
//! Every check compares with whitespace and trailing commas removed, so rustfmt's line breaking
//! does not matter:
//! `has(text, ".with_http_header(\"ETag\")")` passes whatever the layout.

mod common;

use quarry_codegen::File;

/// `s` without whitespace and without the trailing commas rustfmt adds to broken lists.
fn squash(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    s.replace(",)", ")")
        .replace(",]", "]")
        .replace(",}", "}")
        .replace(",>", ">")
}

/// A needle as `squash` leaves it; a trailing comma may have been dropped before a closing brace.
fn pin(needle: &str) -> String {
    squash(needle).trim_end_matches(',').to_owned()
}

/// Asserts `text` contains `needle`, ignoring whitespace.
#[track_caller]
fn has(text: &str, needle: &str) {
    assert!(
        squash(text).contains(&pin(needle)),
        "generated code lacks `{needle}`"
    );
}

/// Asserts `text` does not contain `needle`, ignoring whitespace.
#[track_caller]
fn lacks(text: &str, needle: &str) {
    assert!(
        !squash(text).contains(&pin(needle)),
        "generated code unexpectedly contains `{needle}`"
    );
}

/// How often `needle` occurs in `text`, ignoring whitespace.
fn count(text: &str, needle: &str) -> usize {
    squash(text).matches(&pin(needle)).count()
}

/// The `static NAME: … ;` item (a schema static), whitespace removed.
#[track_caller]
fn item(text: &str, name: &str) -> String {
    let s = squash(text);
    let start = s
        .find(&format!("static{name}:"))
        .unwrap_or_else(|| panic!("no static {name} in the generated code"));
    let end = s[start..].find(';').map_or(s.len(), |e| start + e);
    s[start..end].to_owned()
}

/// Asserts the schema static `name` carries `needle` (e.g. a `.with_…` call).
#[track_caller]
fn schema_has(text: &str, name: &str, needle: &str) {
    let it = item(text, name);
    assert!(
        it.contains(&pin(needle)),
        "static {name} lacks `{needle}`: {it}"
    );
}

/// Asserts the schema static `name` does not carry `needle`.
#[track_caller]
fn schema_lacks(text: &str, name: &str, needle: &str) {
    let it = item(text, name);
    assert!(
        !it.contains(&pin(needle)),
        "static {name} unexpectedly has `{needle}`: {it}"
    );
}

/// The snapshot name of a generated file: `src/operation/get_thing.rs` → `operation_get_thing`.
fn snapshot_name(path: &str) -> String {
    let p = path.trim_start_matches("src/").trim_end_matches(".rs");
    p.strip_prefix("types/error/")
        .map_or_else(|| p.replace('/', "_"), |rest| format!("error_{rest}"))
}

/// Snapshots each of `paths` as `<fixture>__<file>` and returns the files for further checks.
fn snapshot(fixture: &str, paths: &[&str]) -> Vec<File> {
    let files = common::generate(fixture);
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots");
    settings.bind(|| {
        for path in paths {
            let name = format!("{fixture}__{}", snapshot_name(path));
            insta::assert_snapshot!(name, common::file(&files, path));
        }
    });
    files
}

#[test]
fn http_bindings() {
    let files = snapshot(
        "http_bindings",
        &[
            "src/operation/put_thing.rs",
            "src/operation/get_thing.rs",
            "src/types/thing.rs",
            "src/service.rs",
        ],
    );
    let put = common::file(&files, "src/operation/put_thing.rs");
    // Labels, the greedy label and the query literal stay in the HttpTrait URI.
    schema_has(
        put,
        "INPUT_SCHEMA",
        r#".with_http(::aws_smithy_schema::traits::HttpTrait::new("PUT", "/things/{Bucket}/{Key+}?x-id=PutThing", Some(201)))"#,
    );
    schema_has(put, "INPUT_MEMBER_BUCKET", ".with_http_label()");
    schema_has(put, "INPUT_MEMBER_KEY", ".with_http_label()");
    schema_has(
        put,
        "INPUT_MEMBER_BUCKET",
        ".with_traits(&INPUT_MEMBER_BUCKET__TRAITS)",
    );
    has(put, "pub bucket: ::std::string::String,");
    has(put, "pub key: ::std::string::String,");
    schema_has(
        put,
        "INPUT_MEMBER_VERSION_ID",
        r#".with_http_query("versionId")"#,
    );
    schema_has(put, "INPUT_MEMBER_EXTRA", ".with_http_query_params()");
    schema_has(
        put,
        "INPUT_MEMBER_EXTRA",
        ".with_map_members(&INPUT_MEMBER_EXTRA__KEY, &INPUT_MEMBER_EXTRA__VALUE)",
    );
    schema_has(
        put,
        "INPUT_MEMBER_MODE",
        r#".with_http_header("x-amz-meta")"#,
    );
    schema_lacks(put, "INPUT_MEMBER_MODE", ".with_http_prefix_headers(");
    schema_has(
        put,
        "INPUT_MEMBER_METADATA",
        r#".with_http_prefix_headers("x-amz-meta-")"#,
    );
    schema_lacks(put, "INPUT_MEMBER_METADATA", ".with_http_header(");
    schema_has(
        put,
        "INPUT_MEMBER_IF_MODIFIED_SINCE",
        ".with_timestamp_format(::aws_smithy_schema::traits::TimestampFormat::HttpDate)",
    );
    schema_has(
        put,
        "INPUT_MEMBER_IF_MODIFIED_SINCE",
        r#".with_http_header("If-Modified-Since")"#,
    );
    schema_has(
        put,
        "INPUT_MEMBER_BODY",
        "::aws_smithy_schema::ShapeType::Blob",
    );
    schema_has(put, "INPUT_MEMBER_BODY", ".with_http_payload()");
    has(
        put,
        "pub body: ::std::option::Option<::aws_smithy_types::Blob>,",
    );
    schema_has(put, "OUTPUT_MEMBER_STATUS", ".with_http_response_code()");
    schema_has(put, "OUTPUT_MEMBER_E_TAG", r#".with_http_header("ETag")"#);
    // A non-streaming operation deserializes through `DeserializableShape`.
    has(
        put,
        "impl ::aws_smithy_http_server::schema::DeserializableShape for PutThingInput",
    );
    lacks(put, "StreamingOperationShape");

    let get = common::file(&files, "src/operation/get_thing.rs");
    schema_has(
        get,
        "INPUT_SCHEMA",
        r#"HttpTrait::new("GET", "/things/{Bucket}?details", Some(200))"#,
    );
    schema_has(
        get,
        "INPUT_MEMBER_MAX_ITEMS",
        r#".with_http_query("max-items")"#,
    );
    schema_has(
        get,
        "INPUT_MEMBER_TAGS",
        ".with_list_member(&INPUT_MEMBER_TAGS__MEMBER)",
    );
    schema_has(get, "INPUT_MEMBER_TAGS", r#".with_http_query("tag")"#);
    schema_has(
        get,
        "OUTPUT_MEMBER_THING",
        "::aws_smithy_schema::ShapeType::Structure",
    );
    schema_has(get, "OUTPUT_MEMBER_THING", ".with_http_payload()");
    has(
        get,
        "pub thing: ::std::option::Option<crate::types::Thing>,",
    );

    let thing = common::file(&files, "src/types/thing.rs");
    schema_has(thing, "MEMBER_SIZE", r#".with_json_name("Size")"#);
    has(thing, r#"v.enter("Size")"#);

    let service = common::file(&files, "src/service.rs");
    has(
        service,
        r#"pub const ROUTES: &[(&str, &str)] = &[("GET", "/things/{Bucket}?details"), ("PUT", "/things/{Bucket}/{Key+}?x-id=PutThing")];"#,
    );
    has(
        service,
        r#"ShapeId::from_parts("aws.protocols#restJson1", "aws.protocols", "restJson1")"#,
    );
    assert_eq!(count(service, "DynUpgradePlugin::<()>::new()"), 2);
    lacks(service, "DynStreamingUpgradePlugin");
}

#[test]
fn xml() {
    let files = snapshot(
        "xml",
        &[
            "src/operation/put_config.rs",
            "src/operation/list_items.rs",
            "src/types/config.rs",
            "src/types/owner.rs",
            "src/service.rs",
        ],
    );
    let put = common::file(&files, "src/operation/put_config.rs");
    // The payload's root element: the member's xmlName wins over the structure's; the structure's namespace.
    schema_has(put, "INPUT_MEMBER_CONFIG", ".with_http_payload()");
    schema_has(
        put,
        "INPUT_MEMBER_CONFIG",
        ".with_traits(&INPUT_MEMBER_CONFIG__TRAITS)",
    );
    has(
        put,
        "::aws_smithy_http_server::schema::traits::XmlMetadata::new(&INPUT_MEMBER_CONFIG__XML_PAYLOAD)",
    );
    schema_has(
        put,
        "INPUT_MEMBER_CONFIG__XML_PAYLOAD",
        "&crate::types::config::MEMBERS",
    );
    schema_has(
        put,
        "INPUT_MEMBER_CONFIG__XML_PAYLOAD",
        r#".with_xml_name("Configuration")"#,
    );
    schema_has(
        put,
        "INPUT_MEMBER_CONFIG__XML_PAYLOAD",
        r#".with_xml_namespace("http://example.com/config", Some("cfg"))"#,
    );
    schema_lacks(
        put,
        "INPUT_MEMBER_CONFIG__XML_PAYLOAD",
        "ConfigurationDocument",
    );

    let config = common::file(&files, "src/types/config.rs");
    schema_has(config, "MEMBER_ID", r#".with_xml_name("id")"#);
    schema_has(config, "MEMBER_ID", ".with_xml_attribute()");
    schema_has(config, "MEMBER_RULES", r#".with_xml_name("Rule")"#);
    schema_has(config, "MEMBER_RULES", ".with_xml_flattened()");
    schema_lacks(config, "MEMBER_TAGS", ".with_xml_flattened()");
    schema_has(config, "MEMBER_TAGS__MEMBER", r#".with_xml_name("Tag")"#);
    schema_has(
        config,
        "SCHEMA",
        r#".with_xml_name("ConfigurationDocument")"#,
    );
    schema_has(
        config,
        "SCHEMA",
        r#".with_xml_namespace("http://example.com/config", Some("cfg"))"#,
    );
    has(
        config,
        "pub rules: ::std::option::Option<::std::vec::Vec<crate::types::Rule>>,",
    );

    let list = common::file(&files, "src/operation/list_items.rs");
    schema_has(list, "OUTPUT_MEMBER_ITEMS", r#".with_xml_name("Item")"#);
    schema_has(list, "OUTPUT_MEMBER_ITEMS", ".with_xml_flattened()");
    schema_has(
        list,
        "OUTPUT_MEMBER_OWNER",
        r#".with_xml_name("ItemOwner")"#,
    );
    // The output root carries its xmlName and the service's namespace.
    schema_has(
        list,
        "OUTPUT_SCHEMA",
        r#".with_xml_name("ListItemsResult")"#,
    );
    schema_has(
        list,
        "OUTPUT_SCHEMA",
        r#".with_xml_namespace("http://example.com/doc/2006-03-01/", None)"#,
    );

    let service = common::file(&files, "src/service.rs");
    has(
        service,
        "::aws_smithy_http_server::schema::traits::RestXmlTrait::new().with_no_error_wrapping(true)",
    );
    has(
        service,
        r#"ShapeId::from_parts("aws.protocols#restXml", "aws.protocols", "restXml")"#,
    );
    schema_has(service, "SERVICE", ".with_traits(&SERVICE_TRAITS)");
}

#[test]
fn event_streams() {
    let files = snapshot(
        "event_streams",
        &[
            "src/operation/stream_events.rs",
            "src/operation/get_blob.rs",
            "src/types/response_stream.rs",
            "src/types/chunk_event.rs",
            "src/types/metadata_event.rs",
            "src/types.rs",
            "src/service.rs",
        ],
    );
    let stream = common::file(&files, "src/types/response_stream.rs");
    // Events are variants of the union; exceptions go to the error enum under their member names.
    let union_body = squash(stream);
    let union_body = &union_body[union_body
        .find("pubenumResponseStream{")
        .expect("union enum")..];
    let union_body = &union_body[..union_body.find('}').expect("end of enum")];
    assert!(
        union_body.contains("Chunk(crate::types::ChunkEvent)"),
        "{union_body}"
    );
    assert!(
        union_body.contains("Metadata(crate::types::MetadataEvent)"),
        "{union_body}"
    );
    assert!(
        !union_body.contains("Exception"),
        "exceptions are events: {union_body}"
    );
    has(stream, "pub enum ResponseStreamError {");
    has(
        stream,
        "ThrottlingException(crate::types::error::ThrottlingException),",
    );
    has(
        stream,
        "InternalServerException(crate::types::error::InternalServerException),",
    );
    has(
        stream,
        r#"Self::ThrottlingException(e) => ("throttlingException", crate::types::error::ThrottlingException::SCHEMA, e),"#,
    );
    has(
        stream,
        r#"Self::InternalServerException(e) => ("internalServerException", crate::types::error::InternalServerException::SCHEMA, e),"#,
    );
    has(
        stream,
        "impl ::aws_smithy_http_server::schema::event_stream::SerializableEventError for ResponseStreamError",
    );
    schema_has(stream, "SCHEMA", "::aws_smithy_schema::ShapeType::Union");
    schema_has(stream, "SCHEMA", ".with_streaming()");
    lacks(stream, "fn deserialize_schema");

    let types = common::file(&files, "src/types.rs");
    has(
        types,
        "pub use self::response_stream::{ResponseStream, ResponseStreamError};",
    );

    let chunk = common::file(&files, "src/types/chunk_event.rs");
    schema_has(chunk, "MEMBER_CONTENT_TYPE", ".with_event_header()");
    schema_has(chunk, "MEMBER_BYTES", ".with_event_payload()");
    schema_has(chunk, "MEMBER_BYTES", ".with_sensitive()");
    has(
        chunk,
        r#".field("bytes", &"*** Sensitive Data Redacted ***")"#,
    );
    lacks(chunk, ".field(\"bytes\", &self.bytes)");
    let metadata = common::file(&files, "src/types/metadata_event.rs");
    schema_has(metadata, "MEMBER_SEQUENCE", ".with_event_header()");
    schema_lacks(metadata, "MEMBER_INPUT_TOKENS", ".with_event_header()");

    let op = common::file(&files, "src/operation/stream_events.rs");
    has(
        op,
        "pub stream: ::aws_smithy_http::event_stream::EventStreamSender<crate::types::ResponseStream, crate::types::ResponseStreamError>,",
    );
    schema_has(op, "OUTPUT_MEMBER_STREAM", ".with_http_payload()");
    schema_has(op, "OUTPUT_MEMBER_STREAM", ".with_streaming()");
    has(
        op,
        "impl ::aws_smithy_http_server::operation::StreamingOperationShape for StreamEvents",
    );
    has(
        op,
        "SchemaEventErrorMarshaller::<crate::types::ResponseStreamError>::new(protocol.clone())",
    );
    has(
        op,
        "ThrottlingException(crate::types::error::ThrottlingException),",
    );
    has(
        op,
        "static ERRORS: [&::aws_smithy_schema::Schema<'static>; 2] = [crate::types::error::ThrottlingException::SCHEMA, crate::types::error::InternalServerException::SCHEMA];",
    );

    let blob = common::file(&files, "src/operation/get_blob.rs");
    has(
        blob,
        "pub body: ::aws_smithy_types::byte_stream::ByteStream,",
    );
    schema_has(blob, "OUTPUT_MEMBER_BODY", ".with_http_payload()");
    schema_has(blob, "OUTPUT_MEMBER_BODY", ".with_streaming()");
    has(
        blob,
        "protocol.serialize_streaming_response(&OUTPUT_SCHEMA, &output, &OUTPUT_MEMBER_BODY, Some(body))",
    );
    lacks(blob, "write_blob(&OUTPUT_MEMBER_BODY");
    has(blob, "body: self.body.unwrap_or_default(),");

    let service = common::file(&files, "src/service.rs");
    assert_eq!(count(service, "DynStreamingUpgradePlugin::<()>::new()"), 2);
}

#[test]
fn errors() {
    let files = snapshot(
        "errors",
        &[
            "src/operation/delete_thing.rs",
            "src/types/error/resource_not_found_exception.rs",
            "src/types/error/conflict_exception.rs",
            "src/types/error/service_unavailable_exception.rs",
            "src/types/error/internal_failure.rs",
            "src/types/error/validation_exception.rs",
            "src/types/error.rs",
            "src/lib.rs",
        ],
    );
    let not_found = common::file(&files, "src/types/error/resource_not_found_exception.rs");
    has(
        not_found,
        r#"pub const CODE: &'static str = "ResourceNotFoundException";"#,
    );
    has(not_found, "pub const STATUS: u16 = 404;");
    has(not_found, "HttpErrorTrait::new(404)");
    has(
        not_found,
        r#"ShapeId::from_parts("smithy.api#error", "smithy.api", "error"), "client""#,
    );
    has(not_found, "self.message.as_deref()");

    // No modeled message: a synthetic field carries it, set by `with_message`.
    let conflict = common::file(&files, "src/types/error/conflict_exception.rs");
    has(
        conflict,
        "pub message: ::std::option::Option<::std::string::String>,",
    );
    has(
        conflict,
        "Self { message: Some(message.into()), resource_id: None, }",
    );
    has(conflict, "pub const STATUS: u16 = 409;");
    has(
        conflict,
        "pub(crate) static MEMBERS: [&::aws_smithy_schema::Schema<'static>; 1]",
    );

    // A required `Message` (capitalised on the wire): stored without Option.
    let unavailable = common::file(&files, "src/types/error/service_unavailable_exception.rs");
    has(unavailable, "pub message: ::std::string::String,");
    has(unavailable, "Some(self.message.as_str())");
    has(unavailable, "Self { message: message.into(), }");
    schema_has(unavailable, "MEMBER_MESSAGE", r#""Message", 0"#);
    has(unavailable, r#""smithy.api", "error"), "server""#);
    has(unavailable, "HttpErrorTrait::new(503)");

    // A server error without httpError defaults to 500.
    let failure = common::file(&files, "src/types/error/internal_failure.rs");
    has(failure, "pub const STATUS: u16 = 500;");
    has(failure, "HttpErrorTrait::new(500)");

    let op = common::file(&files, "src/operation/delete_thing.rs");
    for v in [
        "ResourceNotFoundException",
        "ConflictException",
        "ServiceUnavailableException",
        "InternalFailure",
        "NotImplemented",
        "ValidationException",
    ] {
        has(op, &format!("{v}(crate::types::error::{v}),"));
    }
    assert_eq!(
        count(
            op,
            "ValidationException(crate::types::error::ValidationException),"
        ),
        1
    );
    has(
        op,
        "Self::ValidationException(crate::types::error::ValidationException::with_message(message))",
    );
    has(
        op,
        "static ERRORS: [&::aws_smithy_schema::Schema<'static>; 4]",
    );
    schema_has(
        op,
        "INPUT_SCHEMA",
        r#"HttpTrait::new("DELETE", "/things/{id}", Some(204))"#,
    );

    // A modeled ValidationException replaces the synthetic InvalidArgument.
    let lib = common::file(&files, "src/lib.rs");
    has(
        lib,
        "crate::types::error::ValidationException::with_message(message)",
    );
    assert!(!files.iter().any(|f| f.path.contains("invalid_argument")));
}

#[test]
fn constraints() {
    let files = snapshot(
        "constraints",
        &[
            "src/operation/create_widget.rs",
            "src/types/spec.rs",
            "src/types/part.rs",
            "src/lib.rs",
        ],
    );
    let op = common::file(&files, "src/operation/create_widget.rs");
    has(op, "pub name: ::std::string::String,");
    has(op, r#"v.missing("name");"#);
    has(op, r#""smithy.api#required", "smithy.api", "required""#);
    schema_has(
        op,
        "INPUT_MEMBER_NAME",
        ".with_traits(&INPUT_MEMBER_NAME__TRAITS)",
    );
    // length + pattern from the target shape.
    has(
        op,
        "v.length(x.as_str(), false, x.chars().count(), Some(1u64), Some(64u64));",
    );
    has(op, r#"Pattern::new("^[A-Za-z][A-Za-z0-9_]*$")"#);
    // length + pattern on the member itself.
    has(
        op,
        "v.length(x.as_str(), false, x.chars().count(), None, Some(32u64));",
    );
    has(op, r#"Pattern::new("^[a-z]+(-[a-z]+)*$")"#);
    // list length and its members' length.
    has(
        op,
        r#"v.length(if received == 0 { "[]" } else { "[...]" }, false, received, None, Some(10u64));"#,
    );
    has(
        op,
        "v.length(x.as_str(), false, x.chars().count(), Some(1u64), Some(128u64));",
    );
    // blob length, integer and float range.
    has(
        op,
        r#"v.length("", false, x.as_ref().len(), Some(1u64), Some(1024u64));"#,
    );
    has(op, "v.range(x as f64, Some(1.0f64), Some(100.0f64));");
    has(op, "v.range(x as f64, Some(0.0f64), Some(1.5f64));");
    // enum values are checked.
    has(
        op,
        "if let crate::types::Color::Unknown(raw) = &x { v.enum_value(raw, crate::types::Color::values()); }",
    );
    // sensitive values are hidden both in Debug and in violation messages.
    has(
        op,
        "v.length(x.as_str(), true, x.chars().count(), Some(8u64), None);",
    );
    has(
        op,
        r#".field("secret", &"*** Sensitive Data Redacted ***")"#,
    );
    has(op, "crate::types::Spec::deserialize_schema(d, v)?");

    let spec = common::file(&files, "src/types/spec.rs");
    has(spec, "pub dims: ::std::vec::Vec<i32>,");
    has(spec, r#"v.missing("dims");"#);
    has(spec, "v.range(x as f64, Some(0.0f64), None);");
    has(
        spec,
        r#"v.length(if received == 0 { "[]" } else { "[...]" }, false, received, Some(1u64), Some(3u64));"#,
    );
    has(
        spec,
        "v.length(x.as_str(), false, x.chars().count(), None, Some(16u64));",
    );
    has(spec, "crate::types::Part::deserialize_schema(d, v)?");
    has(spec, "v.enter_index(index);");
    has(
        spec,
        "pub fn build(self) -> ::std::result::Result<Spec, ::quarry_codegen_runtime::BuildError>",
    );

    let part = common::file(&files, "src/types/part.rs");
    has(part, r#"v.missing("partId");"#);
    has(
        part,
        "v.length(x.as_str(), false, x.chars().count(), Some(1u64), Some(64u64));",
    );
    has(part, "v.range(x as f64, Some(1.0f64), Some(100.0f64));");

    // No modeled ValidationException: violations are answered with the synthetic InvalidArgument.
    let lib = common::file(&files, "src/lib.rs");
    has(
        lib,
        "crate::types::error::InvalidArgument::with_message(message)",
    );
}

#[test]
fn enums_unions() {
    let files = snapshot(
        "enums_unions",
        &[
            "src/operation/converse.rs",
            "src/types/stop_reason.rs",
            "src/types/region.rs",
            "src/types/status_class.rs",
            "src/types/content_block.rs",
            "src/types/node.rs",
            "src/types/link.rs",
            "src/types/tree.rs",
        ],
    );
    let stop = common::file(&files, "src/types/stop_reason.rs");
    has(stop, r#""end_turn" => Self::EndTurn,"#);
    // Colliding names get a suffix rather than a duplicate variant; `Unknown` stays the catch-all.
    has(stop, r#""EndTurn" => Self::EndTurn_,"#);
    has(stop, r#""max_tokens" => Self::MaxTokens,"#);
    has(stop, r#""unknown" => Self::Unknown_,"#);
    has(stop, "Unknown(::std::string::String),");
    has(stop, "other => Self::Unknown(other.to_owned()),");
    has(stop, r#"&["end_turn", "EndTurn", "max_tokens", "unknown"]"#);
    has(stop, "#[non_exhaustive]");

    let region = common::file(&files, "src/types/region.rs");
    has(region, r#""us-east-1" => Self::UsEast1,"#);
    has(region, r#"Self::EuWest1 => "eu-west-1","#);
    let status = common::file(&files, "src/types/status_class.rs");
    has(status, r#""2xx" => Self::V2xx,"#);
    has(status, r#"Self::V5xx => "5xx","#);

    let content = common::file(&files, "src/types/content_block.rs");
    has(content, "Text(::std::string::String),");
    has(content, "Image(crate::types::ImageBlock),");
    has(content, "Raw(::aws_smithy_types::Blob),");
    has(
        content,
        "Nested(::std::boxed::Box<crate::types::ContentBlock>),",
    );
    has(
        content,
        r#"Self::Raw(_) => f.debug_tuple("Raw").field(&"*** Sensitive Data Redacted ***").finish(),"#,
    );
    has(
        content,
        "value = Some(Self::Nested(::std::boxed::Box::new(x)));",
    );
    has(content, "v.missing_union();");
    schema_has(content, "SCHEMA", "::aws_smithy_schema::ShapeType::Union");

    // Direct recursion A → B → A is boxed on both edges; recursion through a list is not.
    let node = common::file(&files, "src/types/node.rs");
    has(
        node,
        "pub link: ::std::option::Option<::std::boxed::Box<crate::types::Link>>,",
    );
    has(node, "ser.write_struct(&MEMBER_LINK, &**val)?;");
    let link = common::file(&files, "src/types/link.rs");
    has(
        link,
        "pub node: ::std::option::Option<::std::boxed::Box<crate::types::Node>>,",
    );
    let tree = common::file(&files, "src/types/tree.rs");
    has(
        tree,
        "pub children: ::std::option::Option<::std::vec::Vec<crate::types::Tree>>,",
    );
    lacks(tree, "Box");

    let op = common::file(&files, "src/operation/converse.rs");
    has(op, "pub stop_reason: crate::types::StopReason,");
    has(
        op,
        "ser.write_string(&OUTPUT_MEMBER_STOP_REASON, val.as_str())?;",
    );
    has(op, "pub node: ::std::option::Option<crate::types::Node>,");
}

#[test]
fn naming_obstacles() {
    let files = snapshot(
        "naming_obstacles",
        &[
            "src/operation/get_type.rs",
            "src/operation/match_.rs",
            "src/operation.rs",
            "src/types.rs",
            "src/types/type_.rs",
            "src/types/self_.rs",
            "src/types/option.rs",
            "src/types/result.rs",
            "src/types/error_.rs",
            "src/service.rs",
        ],
    );
    let op = common::file(&files, "src/operation/get_type.rs");
    has(op, "pub r#type: ::std::option::Option<crate::types::Type>,");
    has(
        op,
        "pub self_: ::std::option::Option<crate::types::SelfValue>,",
    );
    has(
        op,
        "pub r#match: ::std::option::Option<::std::string::String>,",
    );
    has(op, "pub r#async: ::std::option::Option<bool>,");
    has(
        op,
        "pub crate_: ::std::option::Option<::std::string::String>,",
    );
    has(op, "pub fn r#type(mut self,");
    has(op, "pub fn set_type(mut self,");
    has(op, r#".field("type", &self.r#type)"#);
    // Wire names are the model's, not the escaped Rust names.
    schema_has(op, "INPUT_MEMBER_TYPE", r#""type", 0"#);
    schema_has(op, "INPUT_MEMBER_MATCH", r#""match", 2"#);
    has(op, r#"v.enter("async")"#);
    has(
        op,
        "pub result: ::std::option::Option<crate::types::Result>,",
    );
    has(
        op,
        "pub option: ::std::option::Option<crate::types::Option>,",
    );
    has(op, "pub error: ::std::option::Option<crate::types::Error>,");

    let types = common::file(&files, "src/types.rs");
    has(types, "pub(crate) mod type_; pub use self::type_::Type;");
    has(
        types,
        "pub(crate) mod self_; pub use self::self_::SelfValue;",
    );
    // `types::error` holds the modeled errors, so a shape named `Error` moves to `error_`.
    has(types, "pub mod error;");
    has(types, "pub(crate) mod error_; pub use self::error_::Error;");
    has(
        types,
        "pub(crate) mod s3_location; pub use self::s3_location::S3Location;",
    );
    has(
        types,
        "pub(crate) mod http_header; pub use self::http_header::HttpHeader;",
    );

    let ty = common::file(&files, "src/types/type_.rs");
    has(ty, "pub struct Type {");
    has(ty, "pub r#type: ::std::string::String,");
    has(
        ty,
        "pub s3_location: ::std::option::Option<crate::types::S3Location>,",
    );
    has(
        ty,
        "pub arn_list: ::std::option::Option<::std::vec::Vec<::std::string::String>>,",
    );
    has(
        ty,
        "pub http_header: ::std::option::Option<crate::types::HttpHeader>,",
    );
    schema_has(
        ty,
        "MEMBER_S3_LOCATION",
        r#""com.example.naming#Type$S3Location""#,
    );
    schema_has(ty, "MEMBER_ARN_LIST", r#""ARNList", 2"#);

    let slf = common::file(&files, "src/types/self_.rs");
    has(slf, "pub struct SelfValue {");
    has(
        slf,
        "pub self_: ::std::option::Option<::std::string::String>,",
    );
    has(
        slf,
        "pub super_: ::std::option::Option<::std::string::String>,",
    );
    schema_has(slf, "SCHEMA", r#""com.example.naming#Self""#);

    let option = common::file(&files, "src/types/option.rs");
    has(option, "pub enum Option {");
    has(option, "Some(::std::string::String),");
    has(option, "None(bool),");

    let result = common::file(&files, "src/types/result.rs");
    has(result, "pub struct Result {");
    has(
        result,
        "-> ::std::result::Result<(), ::aws_smithy_schema::serde::SerdeError>",
    );

    let operation = common::file(&files, "src/operation.rs");
    has(operation, "pub mod match_;");
    let service = common::file(&files, "src/service.rs");
    has(
        service,
        "fn r#match(&self, input: crate::operation::match_::MatchInput)",
    );
    has(service, "service.r#match(input).await");
}

/// Generator bug: two generated files with one path (a modeled `InvalidArgument` error and the
/// synthetic one) silently overwrite each other.
#[test]
fn generated_file_paths_are_unique() {
    for name in common::FIXTURES.iter().chain(common::BUG_FIXTURES) {
        let files = common::generate(name);
        let mut paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        paths.sort_unstable();
        let dups: Vec<&str> = paths
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        assert!(dups.is_empty(), "fixture {name} generates {dups:?} twice");
    }
}

/// Generator bug: names the emitters derive can collide with each other (see naming_collisions.json).
#[test]
fn derived_names_do_not_collide() {
    let files = common::generate("naming_collisions");
    let widget = common::file(&files, "src/types/widget.rs");
    // The list member's schema static of `tags` vs the member `tagsMember`.
    assert_eq!(
        count(widget, "static MEMBER_TAGS_MEMBER:"),
        1,
        "`tags` (list member schema) and `tagsMember` both become MEMBER_TAGS_MEMBER"
    );
    // A member named `build` vs the builder's `build()`.
    assert_eq!(
        count(widget, "pub fn build("),
        1,
        "the setter of member `build` collides with WidgetBuilder::build"
    );
    // A modeled `InvalidArgument` vs the synthetic validation error.
    let op = common::file(&files, "src/operation/put_widget.rs");
    assert_eq!(
        count(op, "InvalidArgument(crate::types::error::InvalidArgument),"),
        1,
        "PutWidgetError has two InvalidArgument variants"
    );
}
