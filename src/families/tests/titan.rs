//! Titan Text bodies, both ways.

use quarry_bedrock_runtime::types::{ContentBlock, InferenceConfiguration, StopReason};
use serde_json::json;

use super::*;
use crate::families::{ConverseParts, Dialect, Family};

const MODEL: &str = "amazon.titan-text-express-v1";

#[test]
fn a_titan_body_parses_field_by_field() {
    let invocation = parse(
        Family::Titan,
        &json!({
            "inputText": "User: Summarise the plot of Hamlet.\nBot:",
            "textGenerationConfig": {"maxTokenCount": 512, "temperature": 0.2, "topP": 0.9, "stopSequences": ["User:"]},
        }),
    );
    assert_eq!(invocation.dialect, Dialect::Titan);
    assert_eq!(
        invocation.parts,
        ConverseParts {
            messages: vec![user("User: Summarise the plot of Hamlet.\nBot:")],
            inference_config: Some(InferenceConfiguration {
                max_tokens: Some(512),
                temperature: Some(0.2),
                top_p: Some(0.9),
                stop_sequences: Some(vec!["User:".into()]),
            }),
            ..ConverseParts::default()
        }
    );
    let bare = parse(Family::Titan, &json!({"inputText": "Hi"}));
    assert_eq!(bare.parts.inference_config, None);
}

#[test]
fn bad_titan_bodies_are_refused_by_field() {
    let f = Family::Titan;
    assert_refused(f, &json!({"textGenerationConfig": {}}), &["[inputText]"]);
    assert_refused(
        f,
        &json!({"inputText": "x", "textGenerationConfig": {"maxTokens": 5}}),
        &["#/textGenerationConfig", "extraneous key [maxTokens]"],
    );
    assert_refused(
        f,
        &json!({"inputText": "x", "textGenerationConfig": "fast"}),
        &["#/textGenerationConfig", "JSONObject"],
    );
    assert_refused(
        f,
        &json!({"inputText": "x", "textGenerationConfig": {"stopSequences": [1]}}),
        &["#/textGenerationConfig/stopSequences/0"],
    );
}

#[test]
fn an_answer_renders_as_results() {
    let out = output(
        vec![ContentBlock::Text("Hamlet…".into())],
        StopReason::EndTurn,
        usage(14, 90),
    );
    assert_eq!(
        render(&Dialect::Titan, &out, MODEL),
        json!({
            "inputTextTokenCount": 14,
            "results": [{"tokenCount": 90, "outputText": "Hamlet…", "completionReason": "FINISH"}],
        })
    );
    for (reason, native) in [
        (StopReason::MaxTokens, "LENGTH"),
        (StopReason::StopSequence, "STOP_CRITERIA_MET"),
        (StopReason::ContentFiltered, "CONTENT_FILTERED"),
    ] {
        let out = output(vec![], reason, usage(1, 1));
        assert_eq!(
            render(&Dialect::Titan, &out, MODEL)["results"][0]["completionReason"],
            native
        );
    }
}

#[test]
fn a_stream_encodes_as_output_text_chunks() {
    assert_eq!(
        encode(&Dialect::Titan, MODEL, &text_events()),
        vec![
            json!({"outputText": "Hello", "index": 0, "totalOutputTextTokenCount": 1, "completionReason": null, "inputTextTokenCount": null}),
            json!({"outputText": " there", "index": 0, "totalOutputTextTokenCount": 2, "completionReason": null, "inputTextTokenCount": null}),
            json!({"outputText": "", "index": 0, "totalOutputTextTokenCount": 7, "completionReason": "FINISH", "inputTextTokenCount": 11,
                   "amazon-bedrock-invocationMetrics": metrics(11, 7, 250, 40)}),
        ]
    );
}
