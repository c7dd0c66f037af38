//! restXml as S3 answers it: `<Error><Code>…` envelopes with request ids, S3 codes for rejections.

use aws_smithy_http_server::body::BoxBody;
use aws_smithy_http_server::response::Response;
use aws_smithy_http_server::schema::protocol::RestXml;
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

use crate::request::RequestContext;

/// The protocol id the generated S3 service lists instead of `aws.protocols#restXml`.
pub const S3_PROTOCOL_ID: &str = "quarry.protocols#s3RestXml";
static ID: ShapeId<'static> = ShapeId::from_parts(S3_PROTOCOL_ID, "quarry.protocols", "s3RestXml");

/// Registers [`S3RestXml`] for the generated S3 router.
pub static S3_REGISTRY: ProtocolRegistry =
    ProtocolRegistry::new(&[ProtocolRegistration::metadata_routed::<S3RestXml>(
        S3_PROTOCOL_ID,
    )]);

/// The runtime's restXml for bodies and routing, with S3's error envelope.
#[derive(Debug)]
pub struct S3RestXml {
    inner: RestXml,
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An S3 error response: `<Error><Code/><Message/>[<Key/>|<BucketName/>]<RequestId/><HostId/></Error>`.
///
/// The request context (ids, bucket, key) comes from the surrounding [`crate::request::scope`].
pub fn s3_error_response(status: u16, code: &str, message: &str) -> Response {
    let ctx = RequestContext::current();
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
    body.push_str(&format!(
        "<Code>{}</Code><Message>{}</Message>",
        xml_escape(code),
        xml_escape(message)
    ));
    if let Some(ctx) = &ctx {
        match (code, &ctx.key, &ctx.bucket) {
            ("NoSuchKey", Some(key), _) => {
                body.push_str(&format!("<Key>{}</Key>", xml_escape(key)))
            }
            (
                "NoSuchBucket"
                | "BucketAlreadyExists"
                | "BucketAlreadyOwnedByYou"
                | "BucketNotEmpty",
                _,
                Some(b),
            ) => body.push_str(&format!("<BucketName>{}</BucketName>", xml_escape(b))),
            _ => {}
        }
    }
    let (request_id, host_id) = ctx.map_or_else(
        || (String::new(), String::new()),
        |c| (c.request_id, c.host_id),
    );
    body.push_str(&format!(
        "<RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        xml_escape(&request_id),
        xml_escape(&host_id)
    ));
    http::Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(aws_smithy_http_server::body::boxed(
            http_body_util::Full::new(bytes::Bytes::from(body)),
        ))
        .unwrap_or_else(|_| http::Response::new(aws_smithy_http_server::body::empty()))
}

/// Any S3 error by code and status. S3's model declares few errors per operation, yet S3 answers
/// its common codes (NoSuchBucket, BadDigest, PreconditionFailed, InvalidRange, …) on any of them;
/// every generated S3 operation error has a `Common` variant carrying one of these.
pub struct S3Error {
    // The envelope's `<Code>` is the schema's shape name, as for modeled errors.
    // Boxed: the schema is large and this error travels in every `Result`.
    schema: Box<Schema<'static>>,
    status: u16,
    message: String,
}

impl S3Error {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            schema: Box::new(Schema::new_struct(
                ShapeId::from_parts(code, "com.amazonaws.s3", code),
                aws_smithy_schema::ShapeType::Structure,
                &[],
            )),
            status,
            message: message.into(),
        }
    }

    /// The error code on the wire.
    pub fn code(&self) -> &'static str {
        self.schema.shape_id().shape_name()
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Debug for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Error")
            .field("code", &self.code())
            .field("status", &self.status)
            .field("message", &self.message)
            .finish()
    }
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for S3Error {}

impl SerializableStruct for S3Error {
    fn schema(&self) -> &Schema<'_> {
        &self.schema
    }

    fn serialize_members(
        &self,
        _: &mut dyn aws_smithy_schema::serde::ShapeSerializer,
    ) -> Result<(), aws_smithy_schema::serde::SerdeError> {
        Ok(())
    }
}

impl HttpModeledError for S3Error {
    fn status_code(&self) -> u16 {
        self.status
    }
}

/// `@s3UnwrappedXmlOutput` (GetBucketLocation): the output's one member is the document root itself,
/// `<LocationConstraint xmlns="…">eu-west-1</LocationConstraint>`, not wrapped in an output element.
/// The runtime does not implement the trait, so its wrapped document is unwrapped here.
fn unwrap_root(response: Response) -> Response {
    use futures_util::FutureExt as _;
    use http_body_util::BodyExt as _;
    let (mut parts, body) = response.into_parts();
    // The body of a non-streaming response is one in-memory buffer, ready at once.
    let Some(Ok(collected)) = body.collect().now_or_never() else {
        return s3_error_response(
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        );
    };
    let bytes = collected.to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    let unwrapped = unwrap_document(&text).unwrap_or_else(|| text.into_owned());
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(unwrapped.len()),
    );
    http::Response::from_parts(
        parts,
        aws_smithy_http_server::body::boxed(http_body_util::Full::new(bytes::Bytes::from(
            unwrapped,
        ))),
    )
}

/// `<Outer xmlns="ns"><Inner>v</Inner></Outer>` → `<Inner xmlns="ns">v</Inner>`; `None` when there
/// is no inner element (an empty LocationConstraint stays as it is).
fn unwrap_document(doc: &str) -> Option<String> {
    let outer_open_end = doc.find('>')?;
    let outer_open = &doc[..outer_open_end];
    let namespace = outer_open
        .find(" xmlns")
        .map(|i| &outer_open[i..])
        .unwrap_or_default();
    let rest = &doc[outer_open_end + 1..];
    if !rest.starts_with('<') || rest.starts_with("</") {
        return None;
    }
    let inner_name_end = rest.find(['>', ' ', '/'])?;
    let inner_name = &rest[1..inner_name_end];
    let inner_close = format!("</{inner_name}>");
    let inner_end = rest.find(&inner_close)? + inner_close.len();
    let inner = &rest[..inner_end];
    let content_start = inner.find('>')? + 1;
    Some(format!(
        "<{inner_name}{namespace}>{}",
        &inner[content_start..]
    ))
}

impl MetadataRoutedProtocol for S3RestXml {
    fn from_build_context(ctx: &ProtocolBuildContext<'_>) -> Result<Self, RouterBuildError> {
        // S3 answers MalformedXML for a document that is not well-formed; the runtime's default
        // parser recovers from some of those, so ask it to validate the whole document.
        let mut settings = std::collections::HashMap::new();
        settings.insert(
            "validateDocument".to_owned(),
            aws_smithy_types::Document::Bool(true),
        );
        let settings = aws_smithy_types::Document::Object(settings);
        let inner_ctx = ProtocolBuildContext::new(ctx.service)
            .with_config(ctx.config)
            .with_settings(Some(&settings));
        Ok(Self {
            inner: RestXml::from_build_context(&inner_ctx)?,
        })
    }

    delegate_to_inner!(routing);
}

impl ServerProtocol for S3RestXml {
    fn protocol_id(&self) -> &'static ShapeId<'static> {
        &ID
    }

    delegate_to_inner!(request);

    fn serialize_response(&self, output: &Schema<'_>, value: &dyn SerializableStruct) -> Response {
        let response = self.inner.serialize_response(output, value);
        if output.xml_unwrapped_output() {
            unwrap_root(response)
        } else {
            response
        }
    }

    fn serialize_streaming_response(
        &self,
        output: &Schema<'_>,
        value: &dyn SerializableStruct,
        streaming_member: &Schema<'_>,
        body: Option<BoxBody>,
    ) -> Response {
        let mut response =
            self.inner
                .serialize_streaming_response(output, value, streaming_member, body);
        // A ranged GET is answered 206 with Content-Range; the model has no member for the status.
        if response.status() == http::StatusCode::OK
            && response.headers().contains_key(http::header::CONTENT_RANGE)
        {
            *response.status_mut() = http::StatusCode::PARTIAL_CONTENT;
        }
        response
    }

    fn serialize_error(&self, error: &dyn HttpModeledError) -> Response {
        let code = error.schema().shape_id().shape_name().to_owned();
        s3_error_response(error.status_code(), &code, &error.to_string())
    }

    fn serialize_runtime_error(
        &self,
        error: aws_smithy_http_server::runtime_error::RuntimeError,
    ) -> Response {
        if error.status_code().as_u16() >= 500 {
            s3_error_response(
                500,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
        } else {
            s3_error_response(400, "InvalidRequest", &error.to_string())
        }
    }

    fn serialize_routing_error(&self, err: &RoutingError) -> Response {
        match err.kind() {
            RoutingErrorKind::UnknownOperation | RoutingErrorKind::MethodNotAllowed => {
                s3_error_response(
                    405,
                    "MethodNotAllowed",
                    "The specified method is not allowed against this resource.",
                )
            }
            _ => s3_error_response(400, "InvalidRequest", &err.to_string()),
        }
    }

    fn serialize_rejection(&self, err: DeserializeError) -> Response {
        match err {
            DeserializeError::ConstraintViolation(e) => self.serialize_error(&*e),
            DeserializeError::InternalFailure(_) => s3_error_response(
                500,
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
            DeserializeError::Serde(e) => s3_error_response(
                400,
                "MalformedXML",
                &format!(
                    "The XML you provided was not well-formed or did not validate against our published schema: {e}"
                ),
            ),
            DeserializeError::BodyCollection(e) => {
                s3_error_response(400, "IncompleteBody", &e.to_string())
            }
            other => s3_error_response(400, "InvalidRequest", &other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unwrap_document;

    #[test]
    fn unwraps_the_single_member_into_the_root() {
        let doc = r#"<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></LocationConstraint>"#;
        assert_eq!(
            unwrap_document(doc).as_deref(),
            Some(
                r#"<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>"#
            )
        );
        // An empty output (us-east-1) has nothing to unwrap.
        assert_eq!(
            unwrap_document(r#"<LocationConstraint xmlns="x"></LocationConstraint>"#),
            None
        );
    }
}
