//! Trims a Smithy JSON AST to the selected operations and the shapes they reach, without docs.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, anyhow, bail};
use serde_json::{Map, Value, json};

/// Traits dropped from every shape and member: documentation, and client-only endpoint rules and
/// protocol tests, none of which affect what a server accepts or returns.
fn is_stripped(trait_id: &str) -> bool {
    matches!(
        trait_id,
        "smithy.api#documentation" | "smithy.api#examples" | "smithy.api#externalDocumentation"
    ) || trait_id.starts_with("smithy.rules#")
        || trait_id.starts_with("smithy.test#")
}

/// Shape keys in output order; anything else is an error so no information is silently dropped.
const SHAPE_KEYS: &[&str] = &[
    "type",
    "version",
    "operations",
    "input",
    "output",
    "errors",
    "mixins",
    "member",
    "key",
    "value",
    "members",
];

/// Keeps the service shape of `namespace` (listing exactly `operations`, sorted), those operations,
/// and every shape reachable from them, with documentation and client-only traits removed.
///
/// Resource shapes are dropped and their operations listed on the service directly: the served
/// API is the set of operations, and the official models bind some through resources.
pub fn trim(model: &Value, namespace: &str, operations: &[String]) -> Result<Value> {
    let shapes = model
        .get("shapes")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("model has no `shapes` object"))?;
    let service_id = service_in(shapes, namespace)?;

    let mut missing = Vec::new();
    let mut op_ids = BTreeSet::new();
    for op in operations {
        let id = format!("{namespace}#{op}");
        match shapes.get(&id) {
            Some(s) if s.get("type").and_then(Value::as_str) == Some("operation") => {
                op_ids.insert(id);
            }
            _ => missing.push(op.as_str()),
        }
    }
    if !missing.is_empty() {
        bail!(
            "selected operation(s) not in the {namespace} model: {}",
            missing.join(", ")
        );
    }

    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = op_ids.iter().cloned().collect();
    let service = shapes
        .get(&service_id)
        .ok_or_else(|| anyhow!("no {service_id}"))?;
    queue.extend(targets_of(service, "errors"));
    while let Some(id) = queue.pop() {
        if id.starts_with("smithy.api#") || !keep.insert(id.clone()) {
            continue;
        }
        let shape = shapes
            .get(&id)
            .ok_or_else(|| anyhow!("{id} is referenced but not defined"))?;
        for key in ["input", "output", "member", "key", "value"] {
            if let Some(t) = shape
                .get(key)
                .and_then(|r| r.get("target"))
                .and_then(Value::as_str)
            {
                queue.push(t.to_owned());
            }
        }
        queue.extend(targets_of(shape, "errors"));
        queue.extend(targets_of(shape, "mixins"));
        if let Some(members) = shape.get("members").and_then(Value::as_object) {
            for m in members.values() {
                if let Some(t) = m.get("target").and_then(Value::as_str) {
                    queue.push(t.to_owned());
                }
            }
        }
    }

    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    let mut service = service.clone();
    if let Some(s) = service.as_object_mut() {
        s.remove("resources");
        let ops: Vec<Value> = op_ids.iter().map(|id| json!({ "target": id })).collect();
        s.insert("operations".into(), Value::Array(ops));
    }
    out.insert(service_id.clone(), normalize(&service_id, &service)?);
    for id in keep {
        let shape = shapes
            .get(&id)
            .ok_or_else(|| anyhow!("{id} is referenced but not defined"))?;
        if matches!(
            shape.get("type").and_then(Value::as_str),
            Some("service" | "resource")
        ) {
            bail!(
                "{id}: a {} shape is reachable from an operation",
                shape["type"]
            );
        }
        out.insert(id.clone(), normalize(&id, shape)?);
    }
    let shapes: Map<String, Value> = out.into_iter().collect();
    Ok(json!({ "smithy": "2.0", "shapes": shapes }))
}

/// The id of the single service shape in `namespace`.
pub fn service_in(shapes: &Map<String, Value>, namespace: &str) -> Result<String> {
    let prefix = format!("{namespace}#");
    let services: Vec<&String> = shapes
        .iter()
        .filter(|(id, s)| {
            id.starts_with(&prefix) && s.get("type").and_then(Value::as_str) == Some("service")
        })
        .map(|(id, _)| id)
        .collect();
    match services.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("no service shape in namespace {namespace}"),
        many => bail!("several service shapes in namespace {namespace}: {many:?}"),
    }
}

fn targets_of(shape: &Value, key: &str) -> Vec<String> {
    shape
        .get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| r.get("target").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Puts a shape's keys in canonical order and strips/sorts its traits and its members' traits.
fn normalize(id: &str, shape: &Value) -> Result<Value> {
    let obj = shape
        .as_object()
        .ok_or_else(|| anyhow!("{id} is not an object"))?;
    for key in obj.keys() {
        if key != "traits" && !SHAPE_KEYS.contains(&key.as_str()) {
            bail!("{id}: unsupported shape key `{key}`");
        }
    }
    let mut out = Map::new();
    for key in SHAPE_KEYS {
        let Some(value) = obj.get(*key) else { continue };
        let value = match *key {
            "member" | "key" | "value" => normalize_member(value),
            "members" => {
                let members = value
                    .as_object()
                    .ok_or_else(|| anyhow!("{id}: bad members"))?;
                // Member order is meaningful (serialization order), so it is preserved.
                Value::Object(
                    members
                        .iter()
                        .map(|(n, m)| (n.clone(), normalize_member(m)))
                        .collect(),
                )
            }
            _ => value.clone(),
        };
        out.insert((*key).to_owned(), value);
    }
    if let Some(traits) = normalize_traits(obj.get("traits")) {
        out.insert("traits".into(), traits);
    }
    Ok(Value::Object(out))
}

fn normalize_member(member: &Value) -> Value {
    let mut out = Map::new();
    if let Some(t) = member.get("target") {
        out.insert("target".into(), t.clone());
    }
    if let Some(traits) = normalize_traits(member.get("traits")) {
        out.insert("traits".into(), traits);
    }
    Value::Object(out)
}

/// Sorted by trait id, stripped, and omitted entirely when empty.
fn normalize_traits(traits: Option<&Value>) -> Option<Value> {
    let traits = traits?.as_object()?;
    let sorted: BTreeMap<&String, &Value> =
        traits.iter().filter(|(id, _)| !is_stripped(id)).collect();
    if sorted.is_empty() {
        return None;
    }
    Some(Value::Object(
        sorted
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

/// Pretty-printed with two-space indentation and a trailing newline.
pub fn to_pretty(model: &Value) -> Result<String> {
    let mut text = serde_json::to_string_pretty(model)?;
    text.push('\n');
    Ok(text)
}
