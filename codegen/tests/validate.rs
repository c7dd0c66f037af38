//! The validate stage refuses unservable models and names the offending shape or member in its error.

mod common;

use serde_json::{Value, json};

/// A small, valid restJson1 service; each test breaks one thing in it.
fn base() -> Value {
    json!({
        "smithy": "2.0",
        "shapes": {
            "com.example.v#Svc": {
                "type": "service",
                "version": "2024-01-01",
                "operations": [ { "target": "com.example.v#GetThing" } ],
                "traits": { "aws.protocols#restJson1": {} }
            },
            "com.example.v#GetThing": {
                "type": "operation",
                "input": { "target": "com.example.v#GetThingInput" },
                "output": { "target": "com.example.v#GetThingOutput" },
                "errors": [ { "target": "com.example.v#NotFound" } ],
                "traits": { "smithy.api#http": { "method": "POST", "uri": "/things/{id}", "code": 200 } }
            },
            "com.example.v#GetThingInput": {
                "type": "structure",
                "members": {
                    "id": { "target": "smithy.api#String", "traits": { "smithy.api#httpLabel": {}, "smithy.api#required": {} } },
                    "name": { "target": "com.example.v#Name" },
                    "tags": { "target": "com.example.v#TagList" },
                    "kind": { "target": "com.example.v#Kind" }
                }
            },
            "com.example.v#GetThingOutput": {
                "type": "structure",
                "members": { "thing": { "target": "com.example.v#Thing" } }
            },
            "com.example.v#Thing": {
                "type": "structure",
                "members": { "size": { "target": "smithy.api#Long" } }
            },
            "com.example.v#Name": { "type": "string" },
            "com.example.v#TagList": { "type": "list", "member": { "target": "smithy.api#String" } },
            "com.example.v#Kind": {
                "type": "enum",
                "members": {
                    "SMALL": { "target": "smithy.api#Unit", "traits": { "smithy.api#enumValue": "small" } }
                }
            },
            "com.example.v#NotFound": {
                "type": "structure",
                "members": { "message": { "target": "smithy.api#String" } },
                "traits": { "smithy.api#error": "client", "smithy.api#httpError": 404 }
            }
        }
    })
}

/// The shape `id` of a model, for mutation.
fn shape<'a>(model: &'a mut Value, id: &str) -> &'a mut Value {
    model["shapes"]
        .get_mut(id)
        .unwrap_or_else(|| panic!("no shape {id} in the model"))
}

/// Runs load → IR → validate and returns the error text, or `None` when the model is accepted.
fn refusal(model: &Value) -> Option<String> {
    let model = quarry_codegen::load::parse(&model.to_string()).expect("the test model parses");
    let result =
        quarry_codegen::ir::build(&model).and_then(|svc| quarry_codegen::validate::validate(&svc));
    result.err().map(|e| format!("{e:#}"))
}

/// Asserts the model is refused and that the error names every one of `needles`.
fn assert_refused(model: &Value, needles: &[&str]) {
    let err = refusal(model).unwrap_or_else(|| {
        panic!("the model was accepted, but it should be refused naming {needles:?}")
    });
    for needle in needles {
        assert!(
            err.contains(needle),
            "the refusal does not name {needle:?}:\n{err}"
        );
    }
}

#[test]
fn the_base_model_is_accepted() {
    assert_eq!(refusal(&base()), None);
}

#[test]
fn every_fixture_passes_validation() {
    for name in common::FIXTURES {
        let model = common::model(name);
        let svc = quarry_codegen::ir::build(&model)
            .unwrap_or_else(|e| panic!("fixture {name}: IR: {e:#}"));
        if let Err(e) = quarry_codegen::validate::validate(&svc) {
            panic!("fixture {name} is refused:\n{e:#}");
        }
    }
}

#[test]
fn dangling_member_target_is_refused() {
    let mut m = base();
    shape(&mut m, "com.example.v#Thing")["members"]["owner"] =
        json!({ "target": "com.example.v#Missing" });
    assert_refused(
        &m,
        &[
            "com.example.v#Thing$owner",
            "dangling target com.example.v#Missing",
        ],
    );
}

#[test]
fn unknown_trait_on_member_is_refused() {
    let mut m = base();
    shape(&mut m, "com.example.v#GetThingInput")["members"]["name"]["traits"] =
        json!({ "com.example#custom": {} });
    assert_refused(
        &m,
        &[
            "com.example.v#GetThingInput$name",
            "unsupported trait com.example#custom",
        ],
    );
}

#[test]
fn unknown_prelude_trait_on_shape_is_refused() {
    let mut m = base();
    shape(&mut m, "com.example.v#TagList")["traits"] = json!({ "smithy.api#uniqueItems": {} });
    assert_refused(
        &m,
        &[
            "com.example.v#TagList",
            "unsupported trait smithy.api#uniqueItems",
        ],
    );
}

#[test]
fn unknown_trait_on_list_member_is_refused() {
    let mut m = base();
    shape(&mut m, "com.example.v#TagList")["member"]["traits"] =
        json!({ "com.example#custom": {} });
    assert_refused(
        &m,
        &[
            "com.example.v#TagList$member",
            "unsupported trait com.example#custom",
        ],
    );
}

#[test]
fn unknown_trait_on_operation_is_refused() {
    let mut m = base();
    shape(&mut m, "com.example.v#GetThing")["traits"]["smithy.api#requestCompression"] =
        json!({ "encodings": ["gzip"] });
    assert_refused(
        &m,
        &[
            "com.example.v#GetThing",
            "unsupported trait smithy.api#requestCompression",
        ],
    );
}

/// Generator bug: enum member traits are parsed but their `unsupported` list is dropped in
/// `ir::build`, so an unknown trait on an enum member is silently accepted.
#[test]
fn unknown_trait_on_enum_member_is_refused() {
    let mut m = base();
    shape(&mut m, "com.example.v#Kind")["members"]["SMALL"]["traits"]["com.example#custom"] =
        json!({});
    assert_refused(&m, &["com.example.v#Kind", "com.example#custom"]);
}

#[test]
fn operation_without_http_trait_is_refused() {
    let mut m = base();
    shape(&mut m, "com.example.v#GetThing")["traits"] = json!({});
    assert_refused(&m, &["com.example.v#GetThing", "smithy.api#http"]);
}

#[test]
fn event_stream_input_is_refused() {
    let mut m = base();
    m["shapes"]["com.example.v#InputStream"] = json!({
        "type": "union",
        "members": { "chunk": { "target": "com.example.v#Thing" } },
        "traits": { "smithy.api#streaming": {} }
    });
    shape(&mut m, "com.example.v#GetThingInput")["members"]["events"] = json!({
        "target": "com.example.v#InputStream",
        "traits": { "smithy.api#httpPayload": {} }
    });
    assert_refused(&m, &["com.example.v#GetThing", "event-stream input events"]);
}

#[test]
fn streaming_member_outside_the_payload_is_refused() {
    let mut m = base();
    m["shapes"]["com.example.v#Body"] =
        json!({ "type": "blob", "traits": { "smithy.api#streaming": {} } });
    shape(&mut m, "com.example.v#GetThingOutput")["members"]["body"] =
        json!({ "target": "com.example.v#Body" });
    assert_refused(
        &m,
        &[
            "com.example.v#GetThingOutput$body",
            "must be the HTTP payload",
        ],
    );
}

#[test]
fn lookahead_pattern_on_shape_is_refused() {
    let mut m = base();
    shape(&mut m, "com.example.v#Name")["traits"] = json!({ "smithy.api#pattern": "^(?!x).*$" });
    assert_refused(&m, &["com.example.v#Name", "^(?!x).*$", "regex crate"]);
}

/// Generator bug: only shape-level patterns are test-compiled; a member-level pattern the regex
/// crate cannot compile is emitted, and the runtime's `Pattern` then silently never matches.
#[test]
fn lookahead_pattern_on_member_is_refused() {
    let mut m = base();
    shape(&mut m, "com.example.v#GetThingInput")["members"]["name"]["traits"] =
        json!({ "smithy.api#pattern": "^(?!x).*$" });
    assert_refused(&m, &["com.example.v#GetThingInput", "^(?!x).*$"]);
}

#[test]
fn operation_error_without_error_trait_is_refused() {
    let mut m = base();
    shape(&mut m, "com.example.v#NotFound")["traits"] = json!({ "smithy.api#httpError": 404 });
    assert_refused(&m, &["com.example.v#NotFound", "lacks smithy.api#error"]);
}

#[test]
fn every_problem_is_named_at_once() {
    let mut m = base();
    shape(&mut m, "com.example.v#Thing")["members"]["owner"] =
        json!({ "target": "com.example.v#Missing" });
    shape(&mut m, "com.example.v#TagList")["traits"] = json!({ "smithy.api#uniqueItems": {} });
    shape(&mut m, "com.example.v#NotFound")["traits"] = json!({});
    assert_refused(
        &m,
        &[
            "com.example.v#Missing",
            "smithy.api#uniqueItems",
            "com.example.v#NotFound: listed as an operation error",
        ],
    );
}
