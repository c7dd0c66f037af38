//! Reading family request bodies field by field, with Bedrock's error wording, and JSON ↔ `Document`.

use std::fmt::Display;

use aws_smithy_types::Document;
use serde_json::{Map, Value};

use crate::providers::ProviderError;

/// A body that is not what the family's schema says: worded like Bedrock's own schema errors so
/// clients that match on `Malformed input request` keep working.
pub(crate) fn malformed(path: &str, problem: impl Display) -> ProviderError {
    ProviderError::validation(format!(
        "Malformed input request: {path}: {problem}, please reformat your input and try again."
    ))
}

/// A well-formed field the Converse vocabulary cannot carry: refused by name, never dropped.
pub(crate) fn unsupported(path: &str, why: impl Display) -> ProviderError {
    ProviderError::validation(format!(
        "{path} is not supported by InvokeModel on this gateway: {why}"
    ))
}

/// The schema-error name of a JSON value's type.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

pub(crate) fn expected(path: &str, want: &str, found: &Value) -> ProviderError {
    malformed(
        path,
        format!("expected type: {want}, found: {}", kind(found)),
    )
}

/// Parses a request body: it must be one JSON object.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, ProviderError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| malformed("#", format!("the body is not valid JSON ({e})")))?;
    if !value.is_object() {
        return Err(expected("#", "JSONObject", &value));
    }
    Ok(value)
}

/// One JSON object being read: every key read is remembered, so `finish` can refuse the rest by
/// name. `null` reads as absent, since it carries nothing to drop.
pub(crate) struct Fields<'a> {
    path: String,
    map: &'a Map<String, Value>,
    used: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    /// Reads `value` as an object found at `path` (`#` for the body, `#/messages/0` below it).
    pub(crate) fn of(value: &'a Value, path: impl Into<String>) -> Result<Self, ProviderError> {
        let path = path.into();
        match value {
            Value::Object(map) => Ok(Self {
                path,
                map,
                used: Vec::new(),
            }),
            other => Err(expected(&path, "JSONObject", other)),
        }
    }

    /// The JSON-pointer-like path of a member of this object.
    pub(crate) fn path_of(&self, key: &str) -> String {
        format!("{}/{key}", self.path)
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// The raw value of `key`, marking it read.
    pub(crate) fn value(&mut self, key: &str) -> Option<&'a Value> {
        let (k, v) = self.map.get_key_value(key)?;
        self.used.push(k.as_str());
        (!v.is_null()).then_some(v)
    }

    /// A required member: absent is Bedrock's `required key [..] not found`.
    pub(crate) fn require<T>(&self, key: &str, v: Option<T>) -> Result<T, ProviderError> {
        v.ok_or_else(|| malformed(&self.path, format!("required key [{key}] not found")))
    }

    pub(crate) fn str(&mut self, key: &str) -> Result<Option<&'a str>, ProviderError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(expected(&self.path_of(key), "String", other)),
        }
    }

    pub(crate) fn req_str(&mut self, key: &str) -> Result<&'a str, ProviderError> {
        let v = self.str(key)?;
        self.require(key, v)
    }

    pub(crate) fn i32(&mut self, key: &str) -> Result<Option<i32>, ProviderError> {
        match self.value(key) {
            None => Ok(None),
            Some(v @ Value::Number(n)) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| expected(&self.path_of(key), "Integer", v)),
            Some(other) => Err(expected(&self.path_of(key), "Integer", other)),
        }
    }

    pub(crate) fn f32(&mut self, key: &str) -> Result<Option<f32>, ProviderError> {
        match self.value(key) {
            None => Ok(None),
            // Narrowing is what Converse's `float` members do to every client's value.
            Some(Value::Number(n)) => Ok(n.as_f64().map(|f| f as f32)),
            Some(other) => Err(expected(&self.path_of(key), "Number", other)),
        }
    }

    pub(crate) fn bool(&mut self, key: &str) -> Result<Option<bool>, ProviderError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(expected(&self.path_of(key), "Boolean", other)),
        }
    }

    pub(crate) fn array(&mut self, key: &str) -> Result<Option<&'a [Value]>, ProviderError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.as_slice())),
            Some(other) => Err(expected(&self.path_of(key), "JSONArray", other)),
        }
    }

    pub(crate) fn object(&mut self, key: &str) -> Result<Option<Fields<'a>>, ProviderError> {
        let path = self.path_of(key);
        self.value(key).map(|v| Fields::of(v, path)).transpose()
    }

    /// A list of strings (stop sequences).
    pub(crate) fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>, ProviderError> {
        let path = self.path_of(key);
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(expected(&format!("{path}/{i}"), "String", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Refuses each of `keys` that is present: fields the family knows but Converse cannot carry.
    pub(crate) fn refuse(&mut self, keys: &[&str], why: &str) -> Result<(), ProviderError> {
        for key in keys {
            if self.has(key) {
                return Err(unsupported(&self.path_of(key), why));
            }
            self.value(key);
        }
        Ok(())
    }

    /// Ends the read: any key not read is Bedrock's `extraneous key [..] is not permitted`.
    pub(crate) fn finish(self) -> Result<(), ProviderError> {
        match self.map.keys().find(|k| !self.used.contains(&k.as_str())) {
            Some(key) => Err(malformed(
                &self.path,
                format!("extraneous key [{key}] is not permitted"),
            )),
            None => Ok(()),
        }
    }
}

/// Each element of an array, with its path.
pub(crate) fn items<'a>(
    path: &'a str,
    items: &'a [Value],
) -> impl Iterator<Item = (String, &'a Value)> + 'a {
    items
        .iter()
        .enumerate()
        .map(move |(i, v)| (format!("{path}/{i}"), v))
}

pub(crate) use crate::providers::vocab::{to_document, to_value};

/// A JSON object built from model-specific fields, for `additional_model_request_fields`.
pub(crate) fn additional(fields: Map<String, Value>) -> Option<Document> {
    (!fields.is_empty()).then(|| to_document(&Value::Object(fields)))
}

/// One native JSON body or stream chunk, as bytes.
pub(crate) fn bytes(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}
