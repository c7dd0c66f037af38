//! Unit tests for the botocore converter, the trimmer, operations.toml handling and wheel reading, on small inline fixtures.

use serde_json::{Value, json};

use super::{botocore, fetch, operations, trim};

const JSON_NS: &str = "com.example.things";
const S3_NS: &str = "com.amazonaws.s3";

fn model(protocol: &str, operations: Value, shapes: Value) -> Value {
    json!({
        "version": "2.0",
        "metadata": {
            "apiVersion": "2020-01-01",
            "endpointPrefix": "things",
            "protocol": protocol,
            "protocols": [protocol],
            "serviceFullName": "Example Things",
            "serviceId": "Example Things",
            "signatureVersion": "v4",
            "signingName": "thingsign",
            "uid": "things-2020-01-01"
        },
        "operations": operations,
        "shapes": shapes,
        "documentation": "<p>ignored</p>"
    })
}

fn convert(protocol: &str, ns: &str, operations: Value, shapes: Value) -> Value {
    match botocore::convert(&model(protocol, operations, shapes), ns) {
        Ok(v) => v,
        Err(e) => panic!("conversion failed: {e:#}"),
    }
}

fn convert_err(protocol: &str, operations: Value, shapes: Value) -> String {
    match botocore::convert(&model(protocol, operations, shapes), JSON_NS) {
        Ok(_) => panic!("conversion unexpectedly succeeded"),
        Err(e) => format!("{e:#}"),
    }
}

fn shape<'a>(model: &'a Value, ns: &str, name: &str) -> &'a Value {
    let id = format!("{ns}#{name}");
    model["shapes"]
        .get(&id)
        .unwrap_or_else(|| panic!("no shape {id}"))
}

fn member_traits<'a>(model: &'a Value, ns: &str, owner: &str, member: &str) -> &'a Value {
    &shape(model, ns, owner)["members"][member]["traits"]
}

fn one_op(input: Value, output: Value) -> Value {
    json!({ "Op": {
        "name": "Op",
        "http": { "method": "PUT", "requestUri": "/things/{Name}/{Key+}?tag" },
        "input": input,
        "output": output,
    }})
}

/// A REST-JSON operation exercising every HTTP binding location.
fn bindings_fixture() -> Value {
    convert(
        "rest-json",
        JSON_NS,
        one_op(
            json!({ "shape": "OpRequest" }),
            json!({ "shape": "OpResponse" }),
        ),
        json!({
            "OpRequest": {
                "type": "structure",
                "required": ["Name", "Key"],
                "members": {
                    "Name": { "shape": "Str", "location": "uri", "locationName": "Name" },
                    "Key": { "shape": "Str", "location": "uri", "locationName": "Key" },
                    "Limit": { "shape": "Int", "location": "querystring", "locationName": "max-items" },
                    "Extra": { "shape": "StrMap", "location": "querystring" },
                    "Trace": { "shape": "Str", "location": "header", "locationName": "X-Trace" },
                    "Meta": { "shape": "StrMap", "location": "headers", "locationName": "x-meta-" },
                    "Token": { "shape": "Str", "idempotencyToken": true },
                    "Body": { "shape": "Str", "locationName": "body" }
                }
            },
            "OpResponse": {
                "type": "structure",
                "members": {
                    "Status": { "shape": "Int", "location": "statusCode" },
                    "Doc": { "shape": "Doc" }
                },
                "payload": "Doc"
            },
            "Str": { "type": "string" },
            "Int": { "type": "integer" },
            "Doc": { "type": "structure", "members": {}, "document": true },
            "StrMap": { "type": "map", "key": { "shape": "Str" }, "value": { "shape": "Str" } }
        }),
    )
}

#[test]
fn http_bindings_translate_to_smithy_traits() {
    let m = bindings_fixture();
    let t = |member: &str| member_traits(&m, JSON_NS, "OpRequest", member).clone();
    assert_eq!(
        t("Name"),
        json!({ "smithy.api#httpLabel": {}, "smithy.api#required": {} })
    );
    assert_eq!(
        t("Key"),
        json!({ "smithy.api#httpLabel": {}, "smithy.api#required": {} })
    );
    assert_eq!(t("Limit"), json!({ "smithy.api#httpQuery": "max-items" }));
    assert_eq!(t("Extra"), json!({ "smithy.api#httpQueryParams": {} }));
    assert_eq!(t("Trace"), json!({ "smithy.api#httpHeader": "X-Trace" }));
    assert_eq!(
        t("Meta"),
        json!({ "smithy.api#httpPrefixHeaders": "x-meta-" })
    );
    assert_eq!(t("Token"), json!({ "smithy.api#idempotencyToken": {} }));
    assert_eq!(t("Body"), json!({ "smithy.api#jsonName": "body" }));
    let out = |member: &str| member_traits(&m, JSON_NS, "OpResponse", member).clone();
    assert_eq!(out("Status"), json!({ "smithy.api#httpResponseCode": {} }));
    assert_eq!(out("Doc"), json!({ "smithy.api#httpPayload": {} }));
    assert_eq!(shape(&m, JSON_NS, "Doc"), &json!({ "type": "document" }));
    // Greedy labels stay in the URI; the code defaults to 200 when botocore omits it.
    assert_eq!(
        shape(&m, JSON_NS, "Op")["traits"]["smithy.api#http"],
        json!({ "method": "PUT", "uri": "/things/{Name}/{Key+}?tag", "code": 200 })
    );
    // Primitive botocore shapes become named simple shapes in the namespace.
    assert_eq!(shape(&m, JSON_NS, "Int"), &json!({ "type": "integer" }));
    assert_eq!(shape(&m, JSON_NS, "OpRequest")["type"], "structure");
}

#[test]
fn member_order_follows_botocore() {
    let m = bindings_fixture();
    let names: Vec<&String> = shape(&m, JSON_NS, "OpRequest")["members"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "Name", "Key", "Limit", "Extra", "Trace", "Meta", "Token", "Body"
        ]
    );
}

#[test]
fn operation_traits_and_unit_targets() {
    let m = convert(
        "rest-json",
        JSON_NS,
        json!({
            "Ping": {
                "name": "Ping",
                "http": { "method": "POST", "requestUri": "/ping", "responseCode": 202 },
                "readonly": true,
                "idempotent": true,
                "endpoint": { "hostPrefix": "data." },
                "httpChecksum": {
                    "requestAlgorithmMember": "Algo",
                    "requestChecksumRequired": false,
                    "requestValidationModeMember": "Mode",
                    "responseAlgorithms": ["CRC32", "SHA256"]
                },
                "staticContextParams": { "X": { "value": true } },
                "documentation": "<p>x</p>"
            }
        }),
        json!({}),
    );
    let op = shape(&m, JSON_NS, "Ping");
    assert_eq!(op["input"]["target"], "smithy.api#Unit");
    assert_eq!(op["output"]["target"], "smithy.api#Unit");
    assert!(op.get("errors").is_none());
    let t = &op["traits"];
    assert_eq!(t["smithy.api#http"]["code"], 202);
    assert_eq!(t["smithy.api#readonly"], json!({}));
    assert_eq!(t["smithy.api#idempotent"], json!({}));
    assert_eq!(t["smithy.api#endpoint"], json!({ "hostPrefix": "data." }));
    // requestChecksumRequired: false is Smithy's default and is omitted, as in the official models.
    assert_eq!(
        t["aws.protocols#httpChecksum"],
        json!({
            "requestAlgorithmMember": "Algo",
            "requestValidationModeMember": "Mode",
            "responseAlgorithms": ["CRC32", "SHA256"]
        })
    );
    assert!(
        t.as_object()
            .is_some_and(|o| !o.keys().any(|k| k.starts_with("smithy.rules#")))
    );
}

#[test]
fn rest_json_service_shape() {
    let m = bindings_fixture();
    // Unknown namespace: the service is named after serviceId without spaces.
    let service = shape(&m, JSON_NS, "ExampleThings");
    assert_eq!(service["version"], "2020-01-01");
    assert_eq!(
        service["operations"],
        json!([{ "target": "com.example.things#Op" }])
    );
    assert_eq!(service["traits"]["aws.protocols#restJson1"], json!({}));
    assert_eq!(
        service["traits"]["aws.auth#sigv4"],
        json!({ "name": "thingsign" })
    );
    assert_eq!(
        service["traits"]["aws.api#service"],
        json!({ "sdkId": "Example Things", "endpointPrefix": "things" })
    );
    assert_eq!(service["traits"]["smithy.api#title"], "Example Things");
    let runtime = convert(
        "rest-json",
        "com.amazonaws.bedrockruntime",
        json!({}),
        json!({}),
    );
    assert!(
        runtime["shapes"]
            .get("com.amazonaws.bedrockruntime#AmazonBedrockFrontendService")
            .is_some()
    );
}

fn xml_fixture() -> Value {
    convert(
        "rest-xml",
        S3_NS,
        json!({
            "GetBucketLocation": {
                "name": "GetBucketLocation",
                "http": { "method": "GET", "requestUri": "/{Bucket}?location" },
                "input": { "shape": "GetBucketLocationRequest" },
                "output": { "shape": "GetBucketLocationOutput" }
            },
            "PutThing": {
                "name": "PutThing",
                "http": { "method": "PUT", "requestUri": "/{Bucket}" },
                "input": {
                    "shape": "PutThingRequest",
                    "locationName": "PutThingRequest",
                    "xmlNamespace": { "uri": "http://s3.amazonaws.com/doc/2006-03-01/" }
                }
            }
        }),
        json!({
            "GetBucketLocationRequest": {
                "type": "structure",
                "members": { "Bucket": { "shape": "Str", "location": "uri", "locationName": "Bucket" } }
            },
            "GetBucketLocationOutput": { "type": "structure", "members": { "LocationConstraint": { "shape": "Str" } } },
            "PutThingRequest": {
                "type": "structure",
                "members": {
                    "Bucket": { "shape": "Str", "location": "uri", "locationName": "Bucket" },
                    "Config": {
                        "shape": "Config",
                        "locationName": "ThingConfiguration",
                        "xmlNamespace": { "uri": "http://s3.amazonaws.com/doc/2006-03-01/" }
                    }
                },
                "payload": "Config"
            },
            "Config": {
                "type": "structure",
                "members": {
                    "Tags": { "shape": "TagList" },
                    "Rules": { "shape": "RuleList", "flattened": true },
                    "Grantee": { "shape": "Grantee" }
                }
            },
            "TagList": { "type": "list", "member": { "shape": "Str", "locationName": "Tag" }, "flattened": true },
            "RuleList": { "type": "list", "member": { "shape": "Str" } },
            "Grantee": {
                "type": "structure",
                "members": { "Type": { "shape": "Str", "locationName": "xsi:type", "xmlAttribute": true } },
                "xmlNamespace": { "prefix": "xsi", "uri": "http://www.w3.org/2001/XMLSchema-instance" },
                "locationName": "GranteeElement"
            },
            "Str": { "type": "string" }
        }),
    )
}

#[test]
fn xml_names_namespaces_and_flattening() {
    let m = xml_fixture();
    let config = |member: &str| member_traits(&m, S3_NS, "Config", member).clone();
    // Shape-level `flattened` moves to every member targeting the list; member-level stays.
    assert_eq!(config("Tags"), json!({ "smithy.api#xmlFlattened": {} }));
    assert_eq!(config("Rules"), json!({ "smithy.api#xmlFlattened": {} }));
    assert_eq!(
        shape(&m, S3_NS, "TagList")["member"]["traits"],
        json!({ "smithy.api#xmlName": "Tag" })
    );
    assert_eq!(
        member_traits(&m, S3_NS, "Grantee", "Type"),
        &json!({ "smithy.api#xmlAttribute": {}, "smithy.api#xmlName": "xsi:type" })
    );
    let grantee = &shape(&m, S3_NS, "Grantee")["traits"];
    assert_eq!(
        grantee["smithy.api#xmlNamespace"],
        json!({ "uri": "http://www.w3.org/2001/XMLSchema-instance", "prefix": "xsi" })
    );
    assert_eq!(grantee["smithy.api#xmlName"], "GranteeElement");
    // The S3 default namespace is stated once, on the service, not repeated on payload members.
    assert_eq!(
        member_traits(&m, S3_NS, "PutThingRequest", "Config"),
        &json!({ "smithy.api#httpPayload": {}, "smithy.api#xmlName": "ThingConfiguration" })
    );
    assert_eq!(
        shape(&m, S3_NS, "PutThingRequest")["traits"],
        json!({ "smithy.api#xmlName": "PutThingRequest" })
    );
}

#[test]
fn s3_service_shape_and_patches() {
    let m = xml_fixture();
    let t = &shape(&m, S3_NS, "AmazonS3")["traits"];
    assert_eq!(
        t["aws.protocols#restXml"],
        json!({ "noErrorWrapping": true })
    );
    assert_eq!(
        t["smithy.api#xmlNamespace"],
        json!({ "uri": "http://s3.amazonaws.com/doc/2006-03-01/" })
    );
    assert_eq!(t["aws.api#service"]["arnNamespace"], "s3");
    let op = &shape(&m, S3_NS, "GetBucketLocation")["traits"];
    assert_eq!(op["aws.customizations#s3UnwrappedXmlOutput"], json!({}));
    assert!(
        shape(&m, S3_NS, "PutThing")["traits"]
            .get("aws.customizations#s3UnwrappedXmlOutput")
            .is_none()
    );
    assert_eq!(
        shape(&m, S3_NS, "GetBucketLocationOutput")["traits"]["smithy.api#xmlName"],
        "LocationConstraint"
    );
}

#[test]
fn timestamp_formats_on_shapes_and_members() {
    let m = convert(
        "rest-json",
        JSON_NS,
        json!({}),
        json!({
            "Iso": { "type": "timestamp", "timestampFormat": "iso8601" },
            "Http": { "type": "timestamp", "timestampFormat": "rfc822" },
            "Epoch": { "type": "timestamp", "timestampFormat": "unixTimestamp" },
            "Plain": { "type": "timestamp" },
            "S": { "type": "structure", "members": { "At": { "shape": "Plain", "timestampFormat": "rfc822" } } }
        }),
    );
    let f = |name: &str| shape(&m, JSON_NS, name)["traits"]["smithy.api#timestampFormat"].clone();
    assert_eq!(f("Iso"), "date-time");
    assert_eq!(f("Http"), "http-date");
    assert_eq!(f("Epoch"), "epoch-seconds");
    assert!(shape(&m, JSON_NS, "Plain").get("traits").is_none());
    assert_eq!(
        member_traits(&m, JSON_NS, "S", "At")["smithy.api#timestampFormat"],
        "http-date"
    );
    let err = convert_err(
        "rest-json",
        json!({}),
        json!({ "T": { "type": "timestamp", "timestampFormat": "julian" } }),
    );
    assert!(err.contains("julian"), "{err}");
}

#[test]
fn enums_get_upper_snake_member_names() {
    let m = convert(
        "rest-json",
        JSON_NS,
        json!({}),
        json!({ "E": { "type": "string", "enum": ["end_turn", "InProgress", "af-south-1", "CRC32C", "1x", "a-b", "a_b"] } }),
    );
    let e = shape(&m, JSON_NS, "E");
    assert_eq!(e["type"], "enum");
    let pairs: Vec<(String, String)> = e["members"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v["traits"]["smithy.api#enumValue"]
                            .as_str()
                            .unwrap_or("")
                            .to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let expected = [
        ("END_TURN", "end_turn"),
        ("IN_PROGRESS", "InProgress"),
        ("AF_SOUTH_1", "af-south-1"),
        ("CRC32C", "CRC32C"),
        ("_1X", "1x"),
        ("A_B", "a-b"),
        ("A_B_2", "a_b"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
    assert_eq!(pairs, expected);
    assert_eq!(e["members"]["END_TURN"]["target"], "smithy.api#Unit");
    assert_eq!(botocore::enum_member_name("--"), "EMPTY");
}

#[test]
fn unions_and_event_streams() {
    let m = convert(
        "rest-json",
        JSON_NS,
        json!({}),
        json!({
            "Choice": { "type": "structure", "members": { "a": { "shape": "Str" } }, "union": true },
            "Stream": {
                "type": "structure",
                "members": { "chunk": { "shape": "Chunk" }, "oops": { "shape": "Oops" } },
                "eventstream": true
            },
            "Chunk": {
                "type": "structure",
                "members": {
                    "bytes": { "shape": "Bytes", "eventpayload": true },
                    "kind": { "shape": "Str", "eventheader": true }
                },
                "event": true
            },
            "Oops": { "type": "structure", "members": {}, "exception": true, "error": { "httpStatusCode": 400, "senderFault": true } },
            "Bytes": { "type": "blob" },
            "Str": { "type": "string" }
        }),
    );
    let choice = shape(&m, JSON_NS, "Choice");
    assert_eq!(choice["type"], "union");
    assert!(choice.get("traits").is_none());
    let stream = shape(&m, JSON_NS, "Stream");
    assert_eq!(stream["type"], "union");
    assert_eq!(stream["traits"], json!({ "smithy.api#streaming": {} }));
    assert_eq!(
        stream["members"]["oops"]["target"],
        "com.example.things#Oops"
    );
    let chunk = shape(&m, JSON_NS, "Chunk");
    assert_eq!(chunk["type"], "structure");
    assert!(chunk.get("traits").is_none(), "events carry no trait");
    assert_eq!(
        chunk["members"]["bytes"]["traits"],
        json!({ "smithy.api#eventPayload": {} })
    );
    assert_eq!(
        chunk["members"]["kind"]["traits"],
        json!({ "smithy.api#eventHeader": {} })
    );
}

#[test]
fn streaming_members_target_a_streaming_blob() {
    let m = convert(
        "rest-xml",
        S3_NS,
        json!({}),
        json!({
            "Put": { "type": "structure", "members": { "Body": { "shape": "Body", "streaming": true } }, "payload": "Body" },
            "Event": { "type": "structure", "members": { "Payload": { "shape": "Body", "eventpayload": true } }, "event": true },
            "Body": { "type": "blob" },
            "Sized": { "type": "blob", "streaming": true, "requiresLength": true }
        }),
    );
    assert_eq!(
        shape(&m, S3_NS, "Put")["members"]["Body"]["target"],
        "com.amazonaws.s3#StreamingBlob"
    );
    assert_eq!(
        shape(&m, S3_NS, "StreamingBlob"),
        &json!({ "type": "blob", "traits": { "smithy.api#streaming": {} } })
    );
    // Other users of the blob are untouched.
    assert_eq!(
        shape(&m, S3_NS, "Event")["members"]["Payload"]["target"],
        "com.amazonaws.s3#Body"
    );
    assert_eq!(shape(&m, S3_NS, "Body"), &json!({ "type": "blob" }));
    assert_eq!(
        shape(&m, S3_NS, "Sized")["traits"],
        json!({ "smithy.api#streaming": {}, "smithy.api#requiresLength": {} })
    );
}

#[test]
fn errors_map_to_error_and_http_error() {
    let m = convert(
        "rest-json",
        JSON_NS,
        json!({ "Op": {
            "name": "Op",
            "http": { "method": "GET", "requestUri": "/" },
            "errors": [{ "shape": "Sender" }, { "shape": "Busy" }]
        }}),
        json!({
            "Sender": { "type": "structure", "members": {}, "exception": true, "error": { "httpStatusCode": 503, "senderFault": true } },
            "Busy": { "type": "structure", "members": {}, "exception": true, "error": { "httpStatusCode": 503 }, "retryable": { "throttling": true } },
            "Gone": { "type": "structure", "members": {}, "exception": true, "error": { "httpStatusCode": 404 } },
            "Plain": { "type": "structure", "members": {}, "exception": true },
            "Broken": { "type": "structure", "members": {}, "exception": true, "fault": true, "error": { "httpStatusCode": 400 } },
            "Same": { "type": "structure", "members": {}, "exception": true, "error": { "code": "Same", "httpStatusCode": 409 } }
        }),
    );
    let t = |name: &str| shape(&m, JSON_NS, name)["traits"].clone();
    assert_eq!(
        t("Sender"),
        json!({ "smithy.api#error": "client", "smithy.api#httpError": 503 })
    );
    assert_eq!(
        t("Busy"),
        json!({ "smithy.api#error": "server", "smithy.api#httpError": 503, "smithy.api#retryable": { "throttling": true } })
    );
    assert_eq!(
        t("Gone"),
        json!({ "smithy.api#error": "client", "smithy.api#httpError": 404 })
    );
    assert_eq!(t("Plain"), json!({ "smithy.api#error": "client" }));
    assert_eq!(t("Broken")["smithy.api#error"], "server");
    assert_eq!(t("Same")["smithy.api#httpError"], 409);
    assert_eq!(
        shape(&m, JSON_NS, "Op")["errors"],
        json!([{ "target": "com.example.things#Sender" }, { "target": "com.example.things#Busy" }])
    );
    let err = convert_err(
        "rest-json",
        json!({}),
        json!({ "Renamed": { "type": "structure", "members": {}, "exception": true, "error": { "code": "Other" } } }),
    );
    assert!(err.contains("Other") && err.contains("Renamed"), "{err}");
}

#[test]
fn constraints_sensitivity_and_deprecation() {
    let m = convert(
        "rest-json",
        JSON_NS,
        json!({}),
        json!({
            "Name": { "type": "string", "min": 1, "max": 64, "pattern": "^[a-z]+$", "sensitive": true },
            "Count": { "type": "integer", "min": 0, "max": 10, "box": true },
            "Ratio": { "type": "float", "max": 1 },
            "Names": { "type": "list", "member": { "shape": "Name" }, "min": 1 },
            "S": {
                "type": "structure",
                "members": { "old": { "shape": "Name", "deprecated": true, "deprecatedMessage": "use new" } }
            }
        }),
    );
    assert_eq!(
        shape(&m, JSON_NS, "Name")["traits"],
        json!({
            "smithy.api#sensitive": {},
            "smithy.api#pattern": "^[a-z]+$",
            "smithy.api#length": { "min": 1, "max": 64 }
        })
    );
    assert_eq!(
        shape(&m, JSON_NS, "Count")["traits"],
        json!({ "smithy.api#range": { "min": 0, "max": 10 } })
    );
    assert_eq!(
        shape(&m, JSON_NS, "Ratio")["traits"],
        json!({ "smithy.api#range": { "max": 1 } })
    );
    assert_eq!(
        shape(&m, JSON_NS, "Names")["traits"],
        json!({ "smithy.api#length": { "min": 1 } })
    );
    assert_eq!(
        member_traits(&m, JSON_NS, "S", "old"),
        &json!({ "smithy.api#deprecated": { "message": "use new" } })
    );
}

#[test]
fn unknown_keys_fail_naming_the_key() {
    let shape_level = convert_err(
        "rest-json",
        json!({}),
        json!({ "S": { "type": "string", "frobnicate": true } }),
    );
    assert!(
        shape_level.contains("`frobnicate`") && shape_level.contains("shape S"),
        "{shape_level}"
    );
    let member_level = convert_err(
        "rest-json",
        json!({}),
        json!({ "S": { "type": "structure", "members": { "m": { "shape": "T", "queryName": "x" } } }, "T": { "type": "string" } }),
    );
    assert!(member_level.contains("`queryName`"), "{member_level}");
    let op_level = convert_err(
        "rest-json",
        json!({ "Op": { "name": "Op", "http": { "method": "GET", "requestUri": "/" }, "endpointdiscovery": {} } }),
        json!({}),
    );
    assert!(
        op_level.contains("`endpointdiscovery`") && op_level.contains("Op"),
        "{op_level}"
    );
    let mut with_meta = model("rest-json", json!({}), json!({}));
    with_meta["metadata"]["targetPrefix"] = json!("X");
    let meta = botocore::convert(&with_meta, JSON_NS)
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(meta.contains("`targetPrefix`"), "{meta}");
    let protocol = convert_err("json", json!({}), json!({}));
    assert!(
        protocol.contains("unsupported botocore protocol `json`"),
        "{protocol}"
    );
    let dangling = convert_err(
        "rest-json",
        json!({}),
        json!({ "S": { "type": "structure", "members": { "m": { "shape": "Nowhere" } } } }),
    );
    assert!(dangling.contains("Nowhere"), "{dangling}");
}

/// A Smithy model with documentation, client-only traits, a resource and an unreachable shape.
fn smithy_fixture() -> Value {
    json!({
        "smithy": "2.0",
        "metadata": { "suppressions": [] },
        "shapes": {
            "ex#Svc": {
                "type": "service",
                "version": "1",
                "operations": [{ "target": "ex#Other" }],
                "resources": [{ "target": "ex#Res" }],
                "traits": {
                    "smithy.rules#endpointRuleSet": {},
                    "smithy.api#title": "Svc",
                    "aws.protocols#restJson1": {},
                    "smithy.api#documentation": "doc"
                }
            },
            "ex#Res": { "type": "resource", "operations": [{ "target": "ex#Get" }] },
            "ex#Get": {
                "traits": {
                    "smithy.api#http": { "method": "GET", "uri": "/", "code": 200 },
                    "smithy.api#examples": [],
                    "smithy.test#httpRequestTests": []
                },
                "errors": [{ "target": "ex#Oops" }],
                "output": { "target": "ex#GetOutput" },
                "input": { "target": "smithy.api#Unit" },
                "type": "operation"
            },
            "ex#Other": { "type": "operation", "input": { "target": "ex#Unused" }, "output": { "target": "smithy.api#Unit" } },
            "ex#GetOutput": {
                "type": "structure",
                "members": {
                    "z": { "target": "ex#Map", "traits": { "smithy.api#documentation": "d" } },
                    "a": { "target": "ex#List", "traits": { "smithy.rules#contextParam": { "name": "a" }, "smithy.api#required": {} } }
                }
            },
            "ex#Map": { "type": "map", "key": { "target": "smithy.api#String" }, "value": { "target": "ex#Leaf" } },
            "ex#List": { "type": "list", "member": { "target": "ex#Leaf", "traits": { "smithy.api#externalDocumentation": {} } } },
            "ex#Leaf": { "type": "string", "traits": { "smithy.api#pattern": "x", "smithy.api#length": { "min": 1 } } },
            "ex#Oops": { "type": "structure", "members": {}, "traits": { "smithy.api#error": "client" } },
            "ex#Unused": { "type": "structure", "members": {} }
        }
    })
}

fn trim_ok(model: &Value, ops: &[&str]) -> Value {
    let ops: Vec<String> = ops.iter().map(|s| (*s).to_owned()).collect();
    match trim::trim(model, "ex", &ops) {
        Ok(v) => v,
        Err(e) => panic!("trim failed: {e:#}"),
    }
}

#[test]
fn trim_keeps_exactly_the_reachable_shapes() {
    let t = trim_ok(&smithy_fixture(), &["Get"]);
    let ids: Vec<&String> = t["shapes"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    // Sorted by id; the unselected operation, its input, the resource and metadata are gone.
    assert_eq!(
        ids,
        [
            "ex#Get",
            "ex#GetOutput",
            "ex#Leaf",
            "ex#List",
            "ex#Map",
            "ex#Oops",
            "ex#Svc"
        ]
    );
    assert!(t.get("metadata").is_none());
    let svc = &t["shapes"]["ex#Svc"];
    assert_eq!(svc["operations"], json!([{ "target": "ex#Get" }]));
    assert!(svc.get("resources").is_none());
}

#[test]
fn trim_strips_docs_and_client_only_traits_and_orders_keys() {
    let t = trim_ok(&smithy_fixture(), &["Get"]);
    let shapes = &t["shapes"];
    assert_eq!(
        shapes["ex#Svc"]["traits"],
        json!({ "aws.protocols#restJson1": {}, "smithy.api#title": "Svc" })
    );
    let get = &shapes["ex#Get"];
    let keys: Vec<&String> = get
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["type", "input", "output", "errors", "traits"]);
    assert_eq!(
        get["traits"],
        json!({ "smithy.api#http": { "method": "GET", "uri": "/", "code": 200 } })
    );
    let out = &shapes["ex#GetOutput"]["members"];
    let members: Vec<&String> = out
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(members, ["z", "a"], "member order is preserved");
    assert_eq!(
        out["z"],
        json!({ "target": "ex#Map" }),
        "emptied trait maps are dropped"
    );
    assert_eq!(out["a"]["traits"], json!({ "smithy.api#required": {} }));
    assert_eq!(shapes["ex#List"]["member"], json!({ "target": "ex#Leaf" }));
    let leaf: Vec<&String> = shapes["ex#Leaf"]["traits"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        leaf,
        ["smithy.api#length", "smithy.api#pattern"],
        "traits sorted by id"
    );
}

#[test]
fn trim_output_is_deterministic() {
    let a = trim::to_pretty(&trim_ok(&smithy_fixture(), &["Get", "Other"])).unwrap_or_default();
    // Same model with shapes in reverse order and operations selected in another order.
    let mut reversed = smithy_fixture();
    let shapes: serde_json::Map<String, Value> = reversed["shapes"]
        .as_object()
        .map(|o| {
            o.iter()
                .rev()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    reversed["shapes"] = Value::Object(shapes);
    let b = trim::to_pretty(&trim_ok(&reversed, &["Other", "Get"])).unwrap_or_default();
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert!(
        a.ends_with("}\n")
            && a.starts_with("{\n  \"smithy\": \"2.0\",\n  \"shapes\": {\n    \"ex#Get\"")
    );
}

#[test]
fn trim_reports_missing_operations_by_name() {
    let ops = vec!["Get".to_owned(), "Nope".to_owned(), "Unused".to_owned()];
    let err = trim::trim(&smithy_fixture(), "ex", &ops)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("Nope") && err.contains("Unused") && !err.contains("Get,"),
        "{err}"
    );
}

#[test]
fn converted_botocore_trims_end_to_end() {
    let m = bindings_fixture();
    let t = match trim::trim(&m, JSON_NS, &["Op".to_owned()]) {
        Ok(t) => t,
        Err(e) => panic!("{e:#}"),
    };
    let ids: Vec<&String> = t["shapes"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        ids,
        [
            "com.example.things#Doc",
            "com.example.things#ExampleThings",
            "com.example.things#Int",
            "com.example.things#Op",
            "com.example.things#OpRequest",
            "com.example.things#OpResponse",
            "com.example.things#Str",
            "com.example.things#StrMap",
        ]
    );
}

const OPERATIONS_TOML: &str = "# comment kept\nbotocore_version = \"1.0.0\" \n\n[services.x]\n# inner comment\nnamespace = \"a.b\"\noperations = [\"A\", \"B\"]\n";

#[test]
fn operations_toml_parses_and_repins() {
    let parsed = match operations::parse(OPERATIONS_TOML) {
        Ok(p) => p,
        Err(e) => panic!("{e:#}"),
    };
    assert_eq!(parsed.botocore_version, "1.0.0");
    assert_eq!(parsed.services["x"].namespace, "a.b");
    assert_eq!(parsed.services["x"].operations, ["A", "B"]);
    let updated = operations::with_botocore_version(OPERATIONS_TOML, "2.3.4").unwrap_or_default();
    assert_eq!(
        updated,
        OPERATIONS_TOML.replace(
            "botocore_version = \"1.0.0\" ",
            "botocore_version = \"2.3.4\""
        )
    );
    assert!(operations::with_botocore_version("[services]\n", "1").is_err());
    assert!(operations::parse("botocore_version = \"1\"\n[services.x]\nnamespace = \"a\"\noperations = [\"A\", \"A\"]\n").is_err());
    assert!(operations::parse("botocore_version = \"1\"\nextra = 1\n[services]\n").is_err());
}

/// Builds a zip of stored (uncompressed) entries; the reader ignores CRCs, so they are zero.
fn stored_zip(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let (n, len) = (name.len() as u16, data.len() as u32);
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend(len.to_le_bytes());
        out.extend(len.to_le_bytes());
        out.extend(n.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend(len.to_le_bytes());
        central.extend(len.to_le_bytes());
        central.extend(n.to_le_bytes());
        central.extend([0; 12]);
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0, 0, 0, 0]);
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend([0, 0]);
    out
}

fn gz(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(text.as_bytes());
    e.finish().unwrap_or_default()
}

#[test]
fn wheel_reading_picks_the_newest_api_version() {
    let wheel = stored_zip(&[
        (
            "botocore/data/bedrock/2023-04-20/service-2.json.gz",
            gz(r#"{"v":"new"}"#),
        ),
        (
            "botocore/data/bedrock/2020-01-01/service-2.json.gz",
            gz(r#"{"v":"old"}"#),
        ),
        (
            "botocore/data/bedrock-runtime/2023-09-30/service-2.json.gz",
            gz(r#"{"v":"runtime"}"#),
        ),
        (
            "botocore/data/bedrock/2023-04-20/paginators-1.json",
            b"{}".to_vec(),
        ),
    ]);
    let got = match fetch::read_wheel(
        &wheel,
        &["bedrock".to_owned(), "bedrock-runtime".to_owned()],
    ) {
        Ok(g) => g,
        Err(e) => panic!("{e:#}"),
    };
    assert_eq!(got["bedrock"], json!({ "v": "new" }));
    assert_eq!(got["bedrock-runtime"], json!({ "v": "runtime" }));
    let missing = fetch::read_wheel(&wheel, &["s3".to_owned()])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(missing.contains("botocore/data/s3/"), "{missing}");
    assert!(fetch::read_wheel(b"not a zip", &[]).is_err());
    assert_eq!(
        fetch::wheel_version("botocore-1.44.5-py3-none-any.whl").unwrap_or_default(),
        "1.44.5"
    );
    assert!(fetch::wheel_version("other-1.0.whl").is_err());
}

#[test]
fn update_from_a_smithy_dir_writes_trimmed_models() {
    let root = std::env::temp_dir().join(format!("quarry-models-test-{}", std::process::id()));
    let official = root.join("official");
    let _ = std::fs::remove_dir_all(&root);
    let written = (|| -> anyhow::Result<String> {
        std::fs::create_dir_all(root.join("model"))?;
        std::fs::create_dir_all(&official)?;
        std::fs::write(
            root.join("model/operations.toml"),
            "botocore_version = \"1\"\n[services.ex]\nnamespace = \"ex\"\noperations = [\"Get\"]\n",
        )?;
        std::fs::write(
            official.join("unrelated.json"),
            r#"{"smithy":"2.0","shapes":{}}"#,
        )?;
        std::fs::write(official.join("ex-2020.json"), smithy_fixture().to_string())?;
        super::update(&root, super::Source::SmithyDir(official.clone()))?;
        Ok(std::fs::read_to_string(root.join("model/ex.json"))?)
    })();
    let _ = std::fs::remove_dir_all(&root);
    let written = match written {
        Ok(w) => w,
        Err(e) => panic!("{e:#}"),
    };
    let expected = trim::to_pretty(&trim_ok(&smithy_fixture(), &["Get"])).unwrap_or_default();
    assert_eq!(written, expected);
}
