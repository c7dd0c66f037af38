//! Bedrock batch records: the input line, the output line and the manifest, as Bedrock writes them.

use serde_json::{Map, Value, json};

use crate::families::{Dialect, ResponseContext};
use crate::providers::{ConverseCall, ModelId, ProviderError};
use quarry_bedrock_runtime::operation::converse::ConverseOutput;

/// How each record's `modelInput` is read: an InvokeModel body in the model family's format, or a
/// Converse request (`modelInvocationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvocationType {
    InvokeModel,
    Converse,
}

impl InvocationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvokeModel => "InvokeModel",
            Self::Converse => "Converse",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "InvokeModel" => Some(Self::InvokeModel),
            "Converse" => Some(Self::Converse),
            _ => None,
        }
    }
}

/// One valid input record.
#[derive(Debug, Clone, PartialEq)]
pub struct InputRecord {
    pub record_id: String,
    pub model_input: Value,
}

/// One line of an input file, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum InputLine {
    Record(InputRecord),
    /// Not a record: it becomes an error record in the output, never a failed job.
    Invalid(OutputRecord),
    /// Empty or whitespace only: not a record at all (a trailing newline, say).
    Blank,
}

/// A record's failure, as Bedrock writes it: an HTTP-like status and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub error_code: u16,
    pub error_message: String,
}

impl RecordError {
    pub fn validation(message: impl Into<String>) -> Self {
        Self {
            error_code: 400,
            error_message: message.into(),
        }
    }
}

impl From<&ProviderError> for RecordError {
    fn from(err: &ProviderError) -> Self {
        Self {
            error_code: err.kind.status(),
            error_message: err.message.clone(),
        }
    }
}

/// Tokens one record used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
}

/// One line of an output file.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRecord {
    pub record_id: String,
    pub model_input: Value,
    /// `modelOutput`, or the `error` that replaces it.
    pub outcome: Result<Value, RecordError>,
    pub usage: TokenUsage,
}

impl OutputRecord {
    pub fn failed(record_id: String, model_input: Value, error: RecordError) -> Self {
        Self {
            record_id,
            model_input,
            outcome: Err(error),
            usage: TokenUsage::default(),
        }
    }

    /// The JSON line, without its newline.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = Map::new();
        line.insert("recordId".into(), Value::String(self.record_id.clone()));
        line.insert("modelInput".into(), self.model_input.clone());
        match &self.outcome {
            Ok(output) => {
                line.insert("modelOutput".into(), output.clone());
            }
            Err(error) => {
                line.insert(
                    "error".into(),
                    json!({"errorCode": error.error_code, "errorMessage": error.error_message}),
                );
            }
        }
        serde_json::to_vec(&Value::Object(line)).unwrap_or_default()
    }
}

/// `manifest.json.out`: the job's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Manifest {
    pub total_record_count: u64,
    pub processed_record_count: u64,
    pub success_record_count: u64,
    pub error_record_count: u64,
    pub input_token_count: u64,
    pub output_token_count: u64,
}

impl Manifest {
    /// Counts one finished record.
    pub fn add(&mut self, record: &OutputRecord) {
        self.processed_record_count += 1;
        match record.outcome {
            Ok(_) => self.success_record_count += 1,
            Err(_) => self.error_record_count += 1,
        }
        self.input_token_count += record.usage.input;
        self.output_token_count += record.usage.output;
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "totalRecordCount": self.total_record_count,
            "processedRecordCount": self.processed_record_count,
            "successRecordCount": self.success_record_count,
            "errorRecordCount": self.error_record_count,
            "inputTokenCount": self.input_token_count,
            "outputTokenCount": self.output_token_count,
        }))
        .unwrap_or_default()
    }
}

/// The record id Bedrock's format asks for (11 alphanumerics) given to a record without one: a
/// function of the line's position, so a resumed job names it the same way.
pub fn filled_record_id(line_index: u64) -> String {
    format!("REC{:08}", line_index + 1)
}

/// Parses line `line_index` (0-based) of an input file in Bedrock's format.
pub fn parse_line(line: &[u8], line_index: u64) -> InputLine {
    if line.iter().all(u8::is_ascii_whitespace) {
        return InputLine::Blank;
    }
    let invalid = |record_id: String, input: Value, message: String| {
        InputLine::Invalid(OutputRecord::failed(
            record_id,
            input,
            RecordError::validation(message),
        ))
    };
    let value: Value = match serde_json::from_slice(line) {
        Ok(value) => value,
        Err(err) => {
            return invalid(
                filled_record_id(line_index),
                Value::String(String::from_utf8_lossy(line).into_owned()),
                format!("Line {} is not valid JSON: {err}", line_index + 1),
            );
        }
    };
    let Value::Object(mut object) = value else {
        return invalid(
            filled_record_id(line_index),
            value,
            format!("Line {} is not a JSON object", line_index + 1),
        );
    };
    let record_id = match object.remove("recordId") {
        None | Some(Value::Null) => filled_record_id(line_index),
        Some(Value::String(id)) if !id.is_empty() => id,
        Some(other) => {
            return invalid(
                filled_record_id(line_index),
                object.remove("modelInput").unwrap_or(Value::Null),
                format!(
                    "recordId on line {} must be a non-empty string, found {other}",
                    line_index + 1
                ),
            );
        }
    };
    match object.remove("modelInput") {
        Some(model_input @ Value::Object(_)) => InputLine::Record(InputRecord {
            record_id,
            model_input,
        }),
        Some(other) => invalid(
            record_id,
            other,
            format!(
                "modelInput on line {} must be a JSON object",
                line_index + 1
            ),
        ),
        None => invalid(
            record_id,
            Value::Null,
            format!("Line {} has no modelInput", line_index + 1),
        ),
    }
}

/// A record's `modelInput` as the provider adapters take it, and how to write their answer back.
#[derive(Debug, Clone)]
pub struct Translated {
    pub call: ConverseCall,
    /// The InvokeModel family the output is rendered in; `None` for Converse records.
    pub dialect: Option<Dialect>,
}

impl Translated {
    /// `modelInput` → the Converse call the real-time path would make for it. `model` is the
    /// upstream model; `model_id` the id the job was created with.
    pub fn new(
        kind: InvocationType,
        model: &ModelId,
        model_id: &str,
        model_input: &Value,
    ) -> Result<Self, ProviderError> {
        let (request, dialect) = match kind {
            InvocationType::InvokeModel => {
                let body = serde_json::to_vec(model_input)
                    .map_err(|err| ProviderError::validation(format!("modelInput: {err}")))?;
                let invocation = crate::families::parse_invoke_request(model.as_str(), &body)?;
                (
                    invocation.parts.into_converse_input(model_id),
                    Some(invocation.dialect),
                )
            }
            InvocationType::Converse => (super::json::converse_input(model_input, model_id)?, None),
        };
        Ok(Self {
            call: ConverseCall {
                model: model.clone(),
                request,
                headers: Default::default(),
            },
            dialect,
        })
    }

    /// The provider's answer as `modelOutput`: the family's InvokeModel response body, or the
    /// Converse response body.
    pub fn model_output(&self, out: &ConverseOutput) -> Result<Value, ProviderError> {
        let bytes = match &self.dialect {
            Some(dialect) => dialect.render_response(
                out,
                &ResponseContext::new(self.call.request.model_id.clone()),
            ),
            None => super::json::converse_output(out)?,
        };
        serde_json::from_slice(&bytes).map_err(|err| {
            ProviderError::new(
                crate::providers::ErrorKind::InternalServer,
                format!("rendering modelOutput: {err}"),
            )
        })
    }
}

/// The tokens a Converse answer reports.
pub fn usage_of(out: &ConverseOutput) -> TokenUsage {
    TokenUsage {
        input: u64::try_from(out.usage.input_tokens).unwrap_or(0),
        output: u64::try_from(out.usage.output_tokens).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_without_record_id_gets_one_from_its_position() {
        let line = br#"{"modelInput": {"messages": []}}"#;
        let InputLine::Record(record) = parse_line(line, 41) else {
            panic!("a record");
        };
        assert_eq!(record.record_id, "REC00000042");
        assert_eq!(record.record_id.len(), 11);
    }

    #[test]
    fn invalid_lines_become_error_records() {
        for (line, want) in [
            (&b"not json"[..], "not valid JSON"),
            (b"[1]", "not a JSON object"),
            (br#"{"recordId": "a"}"#, "no modelInput"),
            (br#"{"recordId": 7, "modelInput": {}}"#, "recordId"),
            (
                br#"{"recordId": "b", "modelInput": "x"}"#,
                "must be a JSON object",
            ),
        ] {
            let InputLine::Invalid(out) = parse_line(line, 0) else {
                panic!("{line:?} is invalid");
            };
            let err = out.outcome.unwrap_err();
            assert_eq!(err.error_code, 400);
            assert!(err.error_message.contains(want), "{}", err.error_message);
        }
        assert_eq!(parse_line(b"  \r", 3), InputLine::Blank);
    }

    #[test]
    fn output_lines_carry_model_output_or_error() {
        let ok = OutputRecord {
            record_id: "r1".into(),
            model_input: json!({"a": 1}),
            outcome: Ok(json!({"b": 2})),
            usage: TokenUsage {
                input: 3,
                output: 4,
            },
        };
        assert_eq!(
            String::from_utf8(ok.to_line()).unwrap(),
            r#"{"recordId":"r1","modelInput":{"a":1},"modelOutput":{"b":2}}"#
        );
        let failed = OutputRecord::failed("r2".into(), json!({}), RecordError::validation("bad"));
        assert_eq!(
            String::from_utf8(failed.to_line()).unwrap(),
            r#"{"recordId":"r2","modelInput":{},"error":{"errorCode":400,"errorMessage":"bad"}}"#
        );
        let mut manifest = Manifest {
            total_record_count: 2,
            ..Manifest::default()
        };
        manifest.add(&ok);
        manifest.add(&failed);
        assert_eq!(
            String::from_utf8(manifest.to_json()).unwrap(),
            r#"{"totalRecordCount":2,"processedRecordCount":2,"successRecordCount":1,"errorRecordCount":1,"inputTokenCount":3,"outputTokenCount":4}"#
        );
    }

    #[test]
    fn converse_records_round_trip_through_the_schema_codec() {
        let input = json!({
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "inferenceConfig": {"maxTokens": 100}
        });
        let t = Translated::new(
            InvocationType::Converse,
            &ModelId::new("m"),
            "anthropic.claude-3-haiku-20240307-v1:0",
            &input,
        )
        .unwrap();
        assert_eq!(t.call.request.messages.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            t.call.request.inference_config.as_ref().unwrap().max_tokens,
            Some(100)
        );
        assert!(t.dialect.is_none());
        let bad = Translated::new(
            InvocationType::Converse,
            &ModelId::new("m"),
            "m",
            &json!({"messages": "x"}),
        );
        assert_eq!(
            bad.unwrap_err().kind,
            crate::providers::ErrorKind::Validation
        );
    }

    #[test]
    fn invoke_records_use_the_model_family() {
        let input = json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
        });
        let model = "anthropic.claude-3-haiku-20240307-v1:0";
        let t = Translated::new(
            InvocationType::InvokeModel,
            &ModelId::new(model),
            model,
            &input,
        )
        .unwrap();
        assert_eq!(t.dialect, Some(Dialect::AnthropicMessages));
    }
}
