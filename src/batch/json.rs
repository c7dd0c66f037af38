//! Converse requests and responses as the JSON bodies a batch record carries, read and written by
//! the same schema codec the restJson1 protocol uses, so a record means what the HTTP call would.

use std::sync::LazyLock;

use aws_smithy_http_server::schema::DeserializableShape as _;
use aws_smithy_json::codec::{JsonCodec, JsonCodecSettings};
use aws_smithy_schema::codec::Codec as _;
use aws_smithy_schema::serde::{SerializableStruct as _, ShapeSerializer as _};
use quarry_bedrock_runtime::operation::converse::{ConverseInput, ConverseOutput};

use crate::providers::{ErrorKind, ProviderError};

/// restJson1's settings: JSON names, epoch-seconds timestamps, strict grammar.
static CODEC: LazyLock<JsonCodec> = LazyLock::new(|| {
    JsonCodec::new(
        JsonCodecSettings::builder()
            .use_json_name(true)
            .default_timestamp_format(aws_smithy_types::date_time::Format::EpochSeconds)
            .enforce_strictness(true)
            .allow_integral_float_numbers(true)
            .build(),
    )
});

/// A Converse request body (`modelInput` of a Converse job) for `model_id`.
pub fn converse_input(
    model_input: &serde_json::Value,
    model_id: &str,
) -> Result<ConverseInput, ProviderError> {
    // The model id travels in the URI of a real call; a record names it once, for the whole job.
    let mut body = model_input.clone();
    if let Some(object) = body.as_object_mut() {
        object.insert("modelId".into(), model_id.into());
    }
    let body = serde_json::to_vec(&body)
        .map_err(|err| ProviderError::validation(format!("modelInput: {err}")))?;
    let mut deserializer = CODEC.create_deserializer(&body);
    let mut input = ConverseInput::deserialize(&mut deserializer).map_err(|err| {
        ProviderError::validation(format!("modelInput is not a valid Converse request: {err}"))
    })?;
    input.model_id = model_id.to_owned();
    Ok(input)
}

/// A Converse response body, as the Converse operation would answer it.
pub fn converse_output(out: &ConverseOutput) -> Result<Vec<u8>, ProviderError> {
    let mut serializer = CODEC.create_serializer();
    serializer.write_struct(out.schema(), out).map_err(|err| {
        ProviderError::new(
            ErrorKind::InternalServer,
            format!("rendering modelOutput: {err}"),
        )
    })?;
    Ok(serializer.finish())
}
