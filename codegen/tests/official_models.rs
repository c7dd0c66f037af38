//! Checks the botocore-converted models in model/ against the official Smithy models, operation by operation.
//!
//! For every selected operation present in both, the operation and every shape reachable from it
//! are walked in parallel and all wire-relevant differences collected. One rule allows
//! differences: anything present in ours but absent from the official model (a member, an enum
//! value, an error) is allowed, because botocore is newer than the official snapshot. Everything
//! else fails unless listed in `ALLOWED` with a reason.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Known, genuine differences between botocore and the official Smithy models that are not
/// "added in botocore". Each entry is (path, property, reason); a stale entry fails the test.
const ALLOWED: &[(&str, &str, &str)] = &[
    // botocore (newer) no longer marks these required: the service relaxed the constraint.
    (
        "bedrockruntime#DocumentBlock$format",
        "smithy.api#required",
        "relaxed in botocore",
    ),
    (
        "bedrockruntime#GuardrailConfiguration$guardrailIdentifier",
        "smithy.api#required",
        "relaxed in botocore",
    ),
    (
        "bedrockruntime#GuardrailConfiguration$guardrailVersion",
        "smithy.api#required",
        "relaxed in botocore",
    ),
    (
        "bedrockruntime#GuardrailStreamConfiguration$guardrailIdentifier",
        "smithy.api#required",
        "relaxed in botocore",
    ),
    (
        "bedrockruntime#GuardrailStreamConfiguration$guardrailVersion",
        "smithy.api#required",
        "relaxed in botocore",
    ),
    // botocore names this string after the operation; same constraints, compared structurally.
    (
        "bedrock#GetFoundationModelRequest$modelIdentifier",
        "target",
        "botocore shape naming",
    ),
    // botocore deliberately models the Expires header as a string (S3 returns non-date values).
    (
        "s3#Expires",
        "type",
        "botocore keeps unparseable Expires values",
    ),
    // botocore models part-number markers as integers, official as strings; same digits on the wire.
    (
        "s3#NextPartNumberMarker",
        "type",
        "integer vs string, same text on the wire",
    ),
    (
        "s3#PartNumberMarker",
        "type",
        "integer vs string, same text on the wire",
    ),
    // HEAD 404s: botocore lists NoSuchKey/NoSuchBucket (both httpError 404); the official model
    // lists NotFound, which has no httpError. Either way the response is a bodiless 404.
    (
        "s3#HeadBucket",
        "error NotFound",
        "botocore uses NoSuchBucket (404)",
    ),
    (
        "s3#HeadObject",
        "error NotFound",
        "botocore uses NoSuchKey (404)",
    ),
];

/// Whether a member-target name difference is only botocore's naming of inlined shapes. botocore
/// gives a member with its own constraints a private shape named `<Owner><Member>…`, where the
/// official model targets a prelude or shared shape and puts the constraint on the member. The
/// walk still compares both targets (type, bindings, …), so only the name is excused here.
fn is_botocore_inline_name(path: &str, ours: &str, official: &str) -> bool {
    let Some((owner, member)) = path.split_once('#').and_then(|(_, p)| p.split_once('$')) else {
        return false;
    };
    let mut capitalized = member.chars();
    let member = match capitalized.next() {
        Some(c) => c.to_uppercase().chain(capitalized).collect::<String>(),
        None => return false,
    };
    ours != official && ours.starts_with(&format!("{owner}{member}"))
}

/// A difference, rendered as `<path>: <property>: ours <a>, official <b>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Diff {
    path: String,
    property: String,
    ours: String,
    official: String,
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: ours {}, official {}",
            self.path, self.property, self.ours, self.official
        )
    }
}

/// `com.amazonaws.s3#PutObjectRequest` → `s3#PutObjectRequest`.
fn short(id: &str) -> String {
    match id.split_once('#') {
        Some((ns, name)) => format!("{}#{name}", ns.rsplit('.').next().unwrap_or(ns)),
        None => id.to_owned(),
    }
}

fn local(id: &str) -> &str {
    id.split_once('#').map_or(id, |(_, n)| n)
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "absent".to_owned(),
        Some(v) => v.to_string(),
    }
}

/// Smithy prelude shapes the official models target directly.
fn prelude(id: &str) -> Option<Value> {
    let ty = match id.strip_prefix("smithy.api#")? {
        "String" => "string",
        "Integer" | "PrimitiveInteger" => "integer",
        "Long" | "PrimitiveLong" => "long",
        "Float" | "PrimitiveFloat" => "float",
        "Double" | "PrimitiveDouble" => "double",
        "Boolean" | "PrimitiveBoolean" => "boolean",
        "Blob" => "blob",
        "Timestamp" => "timestamp",
        "Document" => "document",
        "Unit" => "structure",
        _ => return None,
    };
    Some(serde_json::json!({ "type": ty }))
}

struct Model<'a> {
    shapes: &'a Map<String, Value>,
}

impl Model<'_> {
    fn get(&self, id: &str) -> Option<Value> {
        self.shapes.get(id).cloned().or_else(|| prelude(id))
    }
}

fn traits(v: &Value) -> Map<String, Value> {
    v.get("traits")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn target(v: &Value) -> &str {
    v.get("target").and_then(Value::as_str).unwrap_or_default()
}

/// Member traits compared directly (the member's own trait, absent and present alike).
const MEMBER_TRAITS: &[&str] = &[
    "smithy.api#required",
    "smithy.api#httpLabel",
    "smithy.api#httpQuery",
    "smithy.api#httpQueryParams",
    "smithy.api#httpHeader",
    "smithy.api#httpPrefixHeaders",
    "smithy.api#httpPayload",
    "smithy.api#httpResponseCode",
    "smithy.api#jsonName",
    "smithy.api#xmlFlattened",
    "smithy.api#xmlAttribute",
    "smithy.api#eventHeader",
    "smithy.api#eventPayload",
    "smithy.api#hostLabel",
];

/// Shape traits compared on every pair of shapes walked.
const SHAPE_TRAITS: &[&str] = &[
    "smithy.api#error",
    "smithy.api#httpError",
    "smithy.api#streaming",
    "smithy.api#xmlName",
];

struct Walk<'a> {
    ours: Model<'a>,
    official: Model<'a>,
    seen: BTreeSet<(String, String)>,
    diffs: Vec<Diff>,
}

impl Walk<'_> {
    fn diff(&mut self, path: &str, property: &str, ours: String, official: String) {
        self.diffs.push(Diff {
            path: path.to_owned(),
            property: property.to_owned(),
            ours,
            official,
        });
    }

    fn operation(&mut self, ours_id: &str, off_id: &str) {
        let path = short(ours_id);
        let (Some(o), Some(f)) = (self.ours.get(ours_id), self.official.get(off_id)) else {
            return;
        };
        let (ot, ft) = (traits(&o), traits(&f));
        for key in ["method", "uri", "code"] {
            let a = ot.get("smithy.api#http").and_then(|h| h.get(key));
            let b = ft.get("smithy.api#http").and_then(|h| h.get(key));
            if a != b {
                self.diff(&path, &format!("http {key}"), show(a), show(b));
            }
        }
        for dir in ["input", "output"] {
            let (a, b) = (target(&o[dir]).to_owned(), target(&f[dir]).to_owned());
            if local(&a) != local(&b) {
                self.diff(&path, dir, a.clone(), b.clone());
            }
            self.shape(&a, &b);
        }
        let errors = |v: &Value| -> BTreeMap<String, String> {
            v.get("errors")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .map(|e| (local(target(e)).to_owned(), target(e).to_owned()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (oe, fe) = (errors(&o), errors(&f));
        for (name, off_target) in &fe {
            match oe.get(name) {
                None => self.diff(
                    &path,
                    &format!("error {name}"),
                    "absent".into(),
                    "present".into(),
                ),
                Some(our_target) => self.shape(our_target, off_target),
            }
        }
    }

    fn shape(&mut self, ours_id: &str, off_id: &str) {
        if !self.seen.insert((ours_id.to_owned(), off_id.to_owned())) {
            return;
        }
        let path = short(ours_id);
        let (Some(o), Some(f)) = (self.ours.get(ours_id), self.official.get(off_id)) else {
            let ours = if self.ours.get(ours_id).is_some() {
                "defined"
            } else {
                "undefined"
            };
            let off = if self.official.get(off_id).is_some() {
                "defined"
            } else {
                "undefined"
            };
            self.diff(&path, "shape", ours.into(), off.into());
            return;
        };
        let (oty, fty) = (
            o["type"].as_str().unwrap_or(""),
            f["type"].as_str().unwrap_or(""),
        );
        if oty != fty {
            self.diff(&path, "type", oty.into(), fty.into());
            return;
        }
        let (ot, ft) = (traits(&o), traits(&f));
        for t in SHAPE_TRAITS {
            if ot.get(*t) != ft.get(*t) {
                self.diff(&path, t, show(ot.get(*t)), show(ft.get(*t)));
            }
        }
        match oty {
            "enum" | "intEnum" => {
                let values = |v: &Value| -> BTreeSet<String> {
                    v["members"]
                        .as_object()
                        .map(|m| {
                            m.values()
                                .map(|m| show(traits(m).get("smithy.api#enumValue")))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                for missing in values(&f).difference(&values(&o)) {
                    self.diff(
                        &path,
                        &format!("enum value {missing}"),
                        "absent".into(),
                        "present".into(),
                    );
                }
            }
            "structure" | "union" => {
                let om = o["members"].as_object().cloned().unwrap_or_default();
                let fm = f["members"].as_object().cloned().unwrap_or_default();
                for (name, off_member) in &fm {
                    let mpath = format!("{path}${name}");
                    match om.get(name) {
                        None => self.diff(&mpath, "member", "absent".into(), "present".into()),
                        Some(our_member) => self.member(&mpath, name, our_member, off_member),
                    }
                }
            }
            "list" | "set" => self.member(
                &format!("{path}$member"),
                "member",
                &o["member"],
                &f["member"],
            ),
            "map" => {
                self.member(&format!("{path}$key"), "key", &o["key"], &f["key"]);
                self.member(&format!("{path}$value"), "value", &o["value"], &f["value"]);
            }
            _ => {}
        }
    }

    fn member(&mut self, path: &str, name: &str, o: &Value, f: &Value) {
        let (a, b) = (target(o).to_owned(), target(f).to_owned());
        if local(&a) != local(&b) && !is_botocore_inline_name(path, local(&a), local(&b)) {
            self.diff(path, "target", local(&a).into(), local(&b).into());
        }
        let (ot, ft) = (traits(o), traits(f));
        for t in MEMBER_TRAITS {
            if ot.get(*t) != ft.get(*t) {
                self.diff(path, t, show(ot.get(*t)), show(ft.get(*t)));
            }
        }
        // An xmlName equal to the member name changes nothing on the wire.
        let xml_name = |t: &Map<String, Value>| {
            t.get("smithy.api#xmlName")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_owned()
        };
        if xml_name(&ot) != xml_name(&ft) {
            self.diff(path, "smithy.api#xmlName", xml_name(&ot), xml_name(&ft));
        }
        // Effective values: the member's trait, else the target shape's.
        let (os, fs) = (self.ours.get(&a), self.official.get(&b));
        for t in ["smithy.api#timestampFormat", "smithy.api#xmlNamespace"] {
            let eff = |m: &Map<String, Value>, s: &Option<Value>| {
                m.get(t)
                    .cloned()
                    .or_else(|| s.as_ref().and_then(|s| traits(s).get(t).cloned()))
            };
            let (x, y) = (eff(&ot, &os), eff(&ft, &fs));
            if x != y {
                self.diff(
                    path,
                    &format!("{t} (effective)"),
                    show(x.as_ref()),
                    show(y.as_ref()),
                );
            }
        }
        self.shape(&a, &b);
    }
}

/// Compares the operations of `ours` that `official` also has; returns the differences and the
/// names of operations official lacks.
fn compare(ours: &Value, official: &Value) -> (Vec<Diff>, Vec<String>) {
    let empty = Map::new();
    let our_shapes = ours["shapes"].as_object().unwrap_or(&empty);
    let off_shapes = official["shapes"].as_object().unwrap_or(&empty);
    let mut walk = Walk {
        ours: Model { shapes: our_shapes },
        official: Model { shapes: off_shapes },
        seen: BTreeSet::new(),
        diffs: Vec::new(),
    };
    let mut absent = Vec::new();
    for (id, shape) in our_shapes {
        if shape["type"] != "operation" {
            continue;
        }
        match off_shapes.get(id) {
            Some(s) if s["type"] == "operation" => walk.operation(id, id),
            _ => absent.push(short(id)),
        }
    }
    walk.diffs.sort();
    walk.diffs.dedup();
    (walk.diffs, absent)
}

/// Splits differences into failures and allowed ones; also reports allow-list entries that
/// matched nothing.
fn judge(diffs: Vec<Diff>) -> (Vec<Diff>, Vec<String>) {
    let mut used = BTreeSet::new();
    let mut failures = Vec::new();
    for d in diffs {
        let allowed = ALLOWED
            .iter()
            .position(|(p, prop, _)| *p == d.path && *prop == d.property);
        match allowed {
            Some(i) => {
                used.insert(i);
            }
            None => failures.push(d),
        }
    }
    let stale = ALLOWED
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, (p, prop, _))| format!("{p}: {prop}"))
        .collect();
    (failures, stale)
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

#[test]
fn converted_models_match_official_models() {
    let official_dir = workspace().join("../shared/models/smithy");
    if !official_dir.is_dir() {
        println!("skipped: ../shared/models/smithy not found");
        return;
    }
    let pairs = [
        ("bedrock-runtime.json", "bedrock-runtime-2023-09-30.json"),
        ("bedrock.json", "bedrock-2023-04-20.json"),
        ("s3.json", "s3-2006-03-01.json"),
    ];
    let mut all = Vec::new();
    for (ours, official) in pairs {
        let (diffs, absent) = compare(
            &read(&workspace().join("model").join(ours)),
            &read(&official_dir.join(official)),
        );
        if !absent.is_empty() {
            println!(
                "{ours}: not in the official model, not compared: {}",
                absent.join(", ")
            );
        }
        all.extend(diffs);
    }
    let (failures, stale) = judge(all);
    let mut report = String::new();
    for f in &failures {
        report.push_str(&format!("  {f}\n"));
    }
    for s in &stale {
        report.push_str(&format!("  stale ALLOWED entry (matches nothing): {s}\n"));
    }
    assert!(
        report.is_empty(),
        "{} difference(s) between model/ and the official models:\n{report}",
        failures.len()
    );
}

#[test]
fn comparator_reports_differences_and_allows_additions() {
    let ours = serde_json::json!({ "smithy": "2.0", "shapes": {
        "a.b#Op": { "type": "operation", "input": { "target": "a.b#In" },
            "output": { "target": "smithy.api#Unit" },
            "traits": { "smithy.api#http": { "method": "PUT", "uri": "/{Key}", "code": 200 } } },
        "a.b#In": { "type": "structure", "members": {
            "Key": { "target": "a.b#Str", "traits": { "smithy.api#httpLabel": {}, "smithy.api#required": {} } },
            "When": { "target": "a.b#Time", "traits": { "smithy.api#httpHeader": "x-when" } },
            "Mode": { "target": "a.b#Mode" },
            "Added": { "target": "a.b#Str" } } },
        "a.b#Str": { "type": "string" },
        "a.b#Time": { "type": "timestamp" },
        "a.b#Mode": { "type": "enum", "members": {
            "A": { "target": "smithy.api#Unit", "traits": { "smithy.api#enumValue": "a" } },
            "NEW": { "target": "smithy.api#Unit", "traits": { "smithy.api#enumValue": "new" } } } } } });
    let official = serde_json::json!({ "smithy": "2.0", "shapes": {
        "a.b#Op": { "type": "operation", "input": { "target": "a.b#In" },
            "output": { "target": "smithy.api#Unit" },
            "errors": [{ "target": "a.b#Oops" }],
            "traits": { "smithy.api#http": { "method": "POST", "uri": "/{Key}", "code": 200 } } },
        "a.b#In": { "type": "structure", "members": {
            "Key": { "target": "a.b#Str", "traits": { "smithy.api#httpLabel": {} } },
            "When": { "target": "a.b#Time", "traits": { "smithy.api#httpHeader": "x-when",
                "smithy.api#timestampFormat": "http-date" } },
            "Mode": { "target": "a.b#Mode" },
            "Gone": { "target": "a.b#Str" } } },
        "a.b#Oops": { "type": "structure", "members": {}, "traits": { "smithy.api#error": "client" } },
        "a.b#Str": { "type": "string" },
        "a.b#Time": { "type": "timestamp" },
        "a.b#Mode": { "type": "enum", "members": {
            "A": { "target": "smithy.api#Unit", "traits": { "smithy.api#enumValue": "a" } },
            "B": { "target": "smithy.api#Unit", "traits": { "smithy.api#enumValue": "b" } } } } } });
    let (diffs, absent) = compare(&ours, &official);
    let rendered: Vec<String> = diffs.iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [
            "b#In$Gone: member: ours absent, official present",
            "b#In$Key: smithy.api#required: ours {}, official absent",
            "b#In$When: smithy.api#timestampFormat (effective): ours absent, official \"http-date\"",
            "b#Mode: enum value \"b\": ours absent, official present",
            "b#Op: error Oops: ours absent, official present",
            "b#Op: http method: ours \"PUT\", official \"POST\"",
        ],
    );
    assert!(absent.is_empty());
    // Our extra member `Added` and enum value `new` are not reported: additions are allowed.
    assert!(
        !rendered
            .iter()
            .any(|d| d.contains("Added") || d.contains("new"))
    );
}
