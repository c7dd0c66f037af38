//! restJson1 as Bedrock answers it: rejections are `ValidationException`s with a message, never `{}`.

use aws_smithy_http_server::body::BoxBody;
use aws_smithy_http_server::response::Response;
use aws_smithy_http_server::schema::protocol::RestJson1;
use aws_smithy_http_server::schema::routing::{
    RouterBuildContext, RouterBuildError, RoutingError, RoutingErrorKind,
};
use aws_smithy_http_server::schema::{
    BodyDirective, DeserializeError, EventStreamFraming, HttpModeledError, MetadataRoutedProtocol,
    OperationSchema, ProtocolBuildContext, ProtocolRegistration, ProtocolRegistry, ServerProtocol,
};
use aws_smithy_runtime_api::http::Headers;
use aws_smithy_schema::serde::{SerializableStruct, ShapeDeserializer};
use aws_smithy_schema::{Schema, ShapeId};

/// The protocol id generated Bedrock services list instead of `aws.protocols#restJson1`.
pub const BEDROCK_PROTOCOL_ID: &str = "quarry.protocols#bedrockRestJson";
static ID: ShapeId<'static> =
    ShapeId::from_parts(BEDROCK_PROTOCOL_ID, "quarry.protocols", "bedrockRestJson");

/// Registers [`BedrockRestJson`] for the generated Bedrock routers.
pub static BEDROCK_REGISTRY: ProtocolRegistry =
    ProtocolRegistry::new(&[ProtocolRegistration::metadata_routed::<BedrockRestJson>(
        BEDROCK_PROTOCOL_ID,
    )]);

/// The runtime's restJson1 for bodies and routing, with Bedrock's error answers for rejections.
#[derive(Debug)]
pub struct BedrockRestJson {
    inner: RestJson1,
}

/// A Bedrock-shaped error response: status, `x-amzn-ErrorType`, `{"message": …}`, for answers the
/// gateway gives before a router runs (authentication) as well as for rejections.
pub fn json_error(status: u16, error_type: &str, message: &str) -> Response {
    let body = format!("{{\"message\":{}}}", json_string(message));
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-errortype", error_type)
        .body(aws_smithy_http_server::body::boxed(
            http_body_util::Full::new(bytes::Bytes::from(body)),
        ))
        .unwrap_or_else(|_| http::Response::new(aws_smithy_http_server::body::empty()))
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl MetadataRoutedProtocol for BedrockRestJson {
    fn from_build_context(ctx: &ProtocolBuildContext<'_>) -> Result<Self, RouterBuildError> {
        Ok(Self {
            inner: RestJson1::from_build_context(ctx)?,
        })
    }

    delegate_to_inner!(routing);
}

impl ServerProtocol for BedrockRestJson {
    fn protocol_id(&self) -> &'static ShapeId<'static> {
        &ID
    }

    delegate_to_inner!(request);

    fn serialize_response(&self, output: &Schema<'_>, value: &dyn SerializableStruct) -> Response {
        self.inner.serialize_response(output, value)
    }

    fn serialize_streaming_response(
        &self,
        output: &Schema<'_>,
        value: &dyn SerializableStruct,
        streaming_member: &Schema<'_>,
        body: Option<BoxBody>,
    ) -> Response {
        self.inner
            .serialize_streaming_response(output, value, streaming_member, body)
    }

    fn serialize_error(&self, error: &dyn HttpModeledError) -> Response {
        self.inner.serialize_error(error)
    }

    fn serialize_runtime_error(
        &self,
        error: aws_smithy_http_server::runtime_error::RuntimeError,
    ) -> Response {
        let status = error.status_code().as_u16();
        if status >= 500 {
            json_error(
                500,
                "InternalServerException",
                "The server encountered an internal error",
            )
        } else {
            json_error(400, "ValidationException", &error.to_string())
        }
    }

    fn serialize_routing_error(&self, err: &RoutingError) -> Response {
        match err.kind() {
            RoutingErrorKind::MethodNotAllowed => json_error(
                405,
                "UnknownOperationException",
                "The HTTP method is not allowed for this path",
            ),
            RoutingErrorKind::UnknownOperation => json_error(
                404,
                "UnknownOperationException",
                "The request path names no Bedrock operation",
            ),
            _ => json_error(400, "ValidationException", &err.to_string()),
        }
    }

    fn serialize_rejection(&self, err: DeserializeError) -> Response {
        match err {
            DeserializeError::ConstraintViolation(e) => self.inner.serialize_error(&*e),
            DeserializeError::InternalFailure(_) => json_error(
                500,
                "InternalServerException",
                "The server encountered an internal error",
            ),
            DeserializeError::Serde(e) => json_error(
                400,
                "ValidationException",
                &format!("Malformed input request: {e}"),
            ),
            DeserializeError::BodyCollection(e) => json_error(
                400,
                "ValidationException",
                &format!("Malformed input request: {e}"),
            ),
            DeserializeError::UnsupportedMediaType(reason) => json_error(
                400,
                "ValidationException",
                &format!("Unsupported content type: {reason}"),
            ),
            DeserializeError::NotAcceptable => json_error(
                400,
                "ValidationException",
                "The Accept header names a media type this operation cannot produce",
            ),
            other => json_error(400, "ValidationException", &other.to_string()),
        }
    }
}
