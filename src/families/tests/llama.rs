//! Llama prompt bodies, both ways.

use quarry_bedrock_runtime::types::{
    ContentBlock, InferenceConfiguration, StopReason, SystemContentBlock,
};
use serde_json::json;

use super::*;
use crate::families::{ConverseParts, Dialect, Family};

const MODEL: &str = "meta.llama3-8b-instruct-v1:0";

#[test]
fn a_templated_prompt_parses_into_turns_and_config() {
    let prompt = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>\
        <|start_header_id|>user<|end_header_id|>\n\nExplain recursion.<|eot_id|>\
        <|start_header_id|>assistant<|end_header_id|>\n\n";
    let invocation = parse(
        Family::Llama,
        &json!({"prompt": prompt, "max_gen_len": 512, "temperature": 0.5, "top_p": 0.9}),
    );
    assert_eq!(invocation.dialect, Dialect::Llama);
    assert_eq!(
        invocation.parts,
        ConverseParts {
            messages: vec![user("Explain recursion.")],
            system: vec![SystemContentBlock::Text("Be brief.".into())],
            inference_config: Some(InferenceConfiguration {
                max_tokens: Some(512),
                temperature: Some(0.5),
                top_p: Some(0.9),
                stop_sequences: None,
            }),
            tool_config: None,
            additional_model_request_fields: None,
        }
    );
}

#[test]
fn bad_llama_bodies_are_refused_by_field() {
    let f = Family::Llama;
    assert_refused(
        f,
        &json!({"max_gen_len": 5}),
        &["Malformed input request", "[prompt]"],
    );
    assert_refused(
        f,
        &json!({"prompt": 5}),
        &["#/prompt", "expected type: String, found: Integer"],
    );
    assert_refused(
        f,
        &json!({"prompt": "x", "max_gen_len": "5"}),
        &["#/max_gen_len"],
    );
    assert_refused(
        f,
        &json!({"prompt": "x", "top_k": 5}),
        &["extraneous key [top_k]"],
    );
    assert_refused(
        f,
        &json!({"prompt": "x", "images": ["AA=="]}),
        &["#/images"],
    );
}

#[test]
fn an_answer_renders_as_a_generation() {
    let out = output(
        vec![ContentBlock::Text("Recursion is…".into())],
        StopReason::MaxTokens,
        usage(20, 512),
    );
    assert_eq!(
        render(&Dialect::Llama, &out, MODEL),
        json!({
            "generation": "Recursion is…",
            "prompt_token_count": 20,
            "generation_token_count": 512,
            "stop_reason": "length",
        })
    );
    let out = output(
        vec![ContentBlock::Text("Done.".into())],
        StopReason::EndTurn,
        usage(1, 2),
    );
    assert_eq!(render(&Dialect::Llama, &out, MODEL)["stop_reason"], "stop");
}

#[test]
fn a_stream_encodes_as_generation_chunks() {
    assert_eq!(
        encode(&Dialect::Llama, MODEL, &text_events()),
        vec![
            json!({"generation": "Hello", "prompt_token_count": null, "generation_token_count": 1, "stop_reason": null}),
            json!({"generation": " there", "prompt_token_count": null, "generation_token_count": 2, "stop_reason": null}),
            json!({"generation": "", "prompt_token_count": 11, "generation_token_count": 7, "stop_reason": "stop",
                   "amazon-bedrock-invocationMetrics": metrics(11, 7, 250, 40)}),
        ]
    );
}
