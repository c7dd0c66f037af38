//! Cohere Command R chat and legacy Command generate bodies, both ways.

use quarry_bedrock_runtime::types::{
    ContentBlock, InferenceConfiguration, StopReason, SystemContentBlock,
};
use serde_json::json;

use super::*;
use crate::families::{ConverseParts, Dialect, Family};

const MODEL: &str = "cohere.command-r-plus-v1:0";
const LEGACY: &str = "cohere.command-text-v14";

fn chat_dialect() -> Dialect {
    Dialect::CohereChat {
        chat_history: vec![
            json!({"role": "USER", "message": "Hi"}),
            json!({"role": "CHATBOT", "message": "Hello!"}),
        ],
        message: "Tell me about Rome.".into(),
    }
}

#[test]
fn a_chat_body_parses_field_by_field() {
    let invocation = parse(
        Family::Cohere,
        &json!({
            "message": "Tell me about Rome.",
            "chat_history": [{"role": "USER", "message": "Hi"}, {"role": "CHATBOT", "message": "Hello!"}],
            "preamble": "You are a historian.",
            "max_tokens": 400, "temperature": 0.3, "p": 0.75, "k": 0, "seed": 7,
            "stop_sequences": ["END"],
        }),
    );
    assert_eq!(invocation.dialect, chat_dialect());
    assert_eq!(
        invocation.parts,
        ConverseParts {
            messages: vec![user("Hi"), assistant("Hello!"), user("Tell me about Rome.")],
            system: vec![SystemContentBlock::Text("You are a historian.".into())],
            inference_config: Some(InferenceConfiguration {
                max_tokens: Some(400),
                temperature: Some(0.3),
                top_p: Some(0.75),
                stop_sequences: Some(vec!["END".into()]),
            }),
            tool_config: None,
            additional_model_request_fields: Some(doc(json!({"k": 0, "seed": 7}))),
        }
    );
}

#[test]
fn a_legacy_generate_body_parses() {
    let invocation = parse(
        Family::Cohere,
        &json!({"prompt": "Write a tagline.", "max_tokens": 40, "temperature": 0.9, "k": 5, "stream": false, "num_generations": 1, "return_likelihoods": "NONE"}),
    );
    assert_eq!(
        invocation.dialect,
        Dialect::CohereGenerate {
            prompt: "Write a tagline.".into()
        }
    );
    assert_eq!(
        invocation.parts,
        ConverseParts {
            messages: vec![user("Write a tagline.")],
            inference_config: Some(InferenceConfiguration {
                max_tokens: Some(40),
                temperature: Some(0.9),
                top_p: None,
                stop_sequences: None,
            }),
            additional_model_request_fields: Some(doc(json!({"k": 5}))),
            ..ConverseParts::default()
        }
    );
}

#[test]
fn bad_cohere_bodies_are_refused_by_field() {
    let f = Family::Cohere;
    assert_refused(f, &json!({"max_tokens": 5}), &["[message]"]);
    assert_refused(
        f,
        &json!({"message": "x", "chat_history": [{"role": "SYSTEM", "message": "y"}]}),
        &["#/chat_history/0/role", "SYSTEM"],
    );
    assert_refused(
        f,
        &json!({"message": "x", "documents": [{"title": "t", "snippet": "s"}]}),
        &["#/documents"],
    );
    assert_refused(f, &json!({"message": "x", "tools": []}), &["#/tools"]);
    assert_refused(f, &json!({"message": "x", "k": "5"}), &["#/k", "Number"]);
    assert_refused(
        f,
        &json!({"message": "x", "top_k": 5}),
        &["extraneous key [top_k]"],
    );
    assert_refused(
        f,
        &json!({"prompt": "x", "num_generations": 3}),
        &["#/num_generations"],
    );
    assert_refused(
        f,
        &json!({"prompt": "x", "return_likelihoods": "ALL"}),
        &["#/return_likelihoods"],
    );
    assert_refused(
        f,
        &json!({"prompt": "x", "logit_bias": {}}),
        &["#/logit_bias"],
    );
}

#[test]
fn answers_render_as_chat_and_generate_responses() {
    let out = output(
        vec![ContentBlock::Text("Rome was founded…".into())],
        StopReason::MaxTokens,
        usage(30, 400),
    );
    assert_eq!(
        render(&chat_dialect(), &out, MODEL),
        json!({
            "response_id": "fedcba98-7654-3210-fedc-ba9876543210",
            "text": "Rome was founded…",
            "generation_id": "01234567-89ab-cdef-0123-456789abcdef",
            "chat_history": [
                {"role": "USER", "message": "Hi"},
                {"role": "CHATBOT", "message": "Hello!"},
                {"role": "USER", "message": "Tell me about Rome."},
                {"role": "CHATBOT", "message": "Rome was founded…"},
            ],
            "finish_reason": "MAX_TOKENS",
        })
    );
    let out = output(
        vec![ContentBlock::Text("Go further.".into())],
        StopReason::EndTurn,
        usage(3, 3),
    );
    assert_eq!(
        render(
            &Dialect::CohereGenerate {
                prompt: "Write a tagline.".into()
            },
            &out,
            LEGACY
        ),
        json!({
            "id": "fedcba98-7654-3210-fedc-ba9876543210",
            "generations": [{"id": "01234567-89ab-cdef-0123-456789abcdef", "text": "Go further.", "finish_reason": "COMPLETE"}],
            "prompt": "Write a tagline.",
        })
    );
}

#[test]
fn streams_encode_as_cohere_chunks() {
    let chunks = encode(&chat_dialect(), MODEL, &text_events());
    assert_eq!(chunks.len(), 4);
    assert_eq!(
        chunks[0],
        json!({"is_finished": false, "event_type": "stream-start", "generation_id": "01234567-89ab-cdef-0123-456789abcdef"})
    );
    assert_eq!(
        chunks[1],
        json!({"is_finished": false, "event_type": "text-generation", "text": "Hello"})
    );
    assert_eq!(
        chunks[2],
        json!({"is_finished": false, "event_type": "text-generation", "text": " there"})
    );
    assert_eq!(chunks[3]["is_finished"], true);
    assert_eq!(chunks[3]["event_type"], "stream-end");
    assert_eq!(chunks[3]["finish_reason"], "COMPLETE");
    assert_eq!(chunks[3]["response"]["text"], "Hello there");
    assert_eq!(
        chunks[3]["response"]["chat_history"][3],
        json!({"role": "CHATBOT", "message": "Hello there"})
    );
    assert_eq!(
        chunks[3]["amazon-bedrock-invocationMetrics"],
        metrics(11, 7, 250, 40)
    );

    let generate = Dialect::CohereGenerate { prompt: "P".into() };
    let chunks = encode(&generate, LEGACY, &text_events());
    assert_eq!(chunks[0], json!({"text": "Hello", "is_finished": false}));
    assert_eq!(chunks[1], json!({"text": " there", "is_finished": false}));
    assert_eq!(chunks[2]["is_finished"], true);
    assert_eq!(chunks[2]["finish_reason"], "COMPLETE");
    assert_eq!(
        chunks[2]["response"]["generations"][0]["text"],
        "Hello there"
    );
    assert_eq!(chunks.len(), 3);
}
