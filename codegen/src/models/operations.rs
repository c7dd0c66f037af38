//! Parses `model/operations.toml`: the pinned botocore version and the operations served per service.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The whole of `model/operations.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationsFile {
    /// The botocore release the committed models were converted from.
    pub botocore_version: String,
    /// Keyed by botocore service name (`bedrock-runtime`, `s3`, …); sorted so output order is stable.
    pub services: BTreeMap<String, ServiceSelection>,
}

/// One `[services.<name>]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSelection {
    /// Smithy namespace of the service's shapes, e.g. `com.amazonaws.s3`.
    pub namespace: String,
    /// Operation names (shape names, without namespace) to keep.
    pub operations: Vec<String>,
}

/// Parses and sanity-checks the file's text.
pub fn parse(text: &str) -> Result<OperationsFile> {
    let file: OperationsFile = toml::from_str(text).context("parsing model/operations.toml")?;
    for (name, service) in &file.services {
        if service.operations.is_empty() {
            bail!("model/operations.toml: service `{name}` selects no operations");
        }
        let mut seen = std::collections::BTreeSet::new();
        for op in &service.operations {
            if !seen.insert(op) {
                bail!("model/operations.toml: service `{name}` lists operation `{op}` twice");
            }
        }
    }
    Ok(file)
}

/// Returns `text` with the value of its `botocore_version = "…"` line replaced, leaving every other
/// line (comments included) untouched.
pub fn with_botocore_version(text: &str, version: &str) -> Result<String> {
    let mut replaced = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let is_pin = line
            .trim_start()
            .strip_prefix("botocore_version")
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if is_pin && !replaced {
            let newline = if line.ends_with('\n') { "\n" } else { "" };
            out.push_str(&format!("botocore_version = \"{version}\"{newline}"));
            replaced = true;
        } else {
            out.push_str(line);
        }
    }
    if !replaced {
        bail!("model/operations.toml has no `botocore_version = \"…\"` line to update");
    }
    Ok(out)
}
