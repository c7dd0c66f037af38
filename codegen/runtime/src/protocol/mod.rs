//! Quarry's wire protocols: the runtime's restJson1 and restXml with AWS's own rejection and error shapes.

/// The request side and routing a Quarry protocol takes unchanged from the runtime protocol in
/// `self.inner`: header checks, body collection, input deserialization, router, event-stream framing.
macro_rules! delegate_to_inner {
    (request) => {
        fn validate_request_headers(
            &self,
            operation: &OperationSchema<'_>,
            headers: &Headers,
        ) -> Result<(), DeserializeError> {
            self.inner.validate_request_headers(operation, headers)
        }

        fn request_body_requirement(&self, operation: &OperationSchema<'_>) -> BodyDirective {
            self.inner.request_body_requirement(operation)
        }

        fn deserialize_request<'a>(
            &'a self,
            input: &Schema<'_>,
            request: &'a aws_smithy_runtime_api::http::Request<bytes::Bytes>,
        ) -> Result<Box<dyn ShapeDeserializer + 'a>, DeserializeError> {
            self.inner.deserialize_request(input, request)
        }
    };
    (routing) => {
        fn build_router(
            &self,
            ctx: RouterBuildContext<'_>,
        ) -> Result<
            impl aws_smithy_http_server::schema::routing::MetadataProtocolRouter + 'static + use<>,
            RouterBuildError,
        > {
            self.inner.build_router(ctx)
        }

        fn event_stream_framing(&self) -> Option<EventStreamFraming<'_>> {
            self.inner.event_stream_framing()
        }
    };
}

mod bedrock;
mod s3;

pub use self::bedrock::{
    BEDROCK_PROTOCOL_ID, BEDROCK_REGISTRY, BedrockRestJson, json_error as bedrock_error_response,
};
pub use self::s3::{S3_PROTOCOL_ID, S3_REGISTRY, S3Error, S3RestXml, s3_error_response};
