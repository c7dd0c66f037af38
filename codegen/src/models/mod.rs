//! Refreshes model/: converts botocore service descriptions (or trims official Smithy models) into one trimmed Smithy JSON AST file per service.

pub mod botocore;
pub mod fetch;
pub mod operations;
pub mod trim;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

/// Where the service models come from.
pub enum Source {
    /// The botocore wheel: the version pinned in operations.toml, or the newest (moving the pin).
    Botocore { latest: bool },
    /// A directory of official Smithy JSON AST files (any names; matched by service namespace).
    SmithyDir(PathBuf),
}

/// Reads model/operations.toml under `root`, writes model/<service>.json for each service.
pub fn update(root: &Path, source: Source) -> Result<()> {
    let ops_path = root.join("model/operations.toml");
    let text = std::fs::read_to_string(&ops_path)
        .with_context(|| format!("reading {}", ops_path.display()))?;
    let selection = operations::parse(&text)?;
    let names: Vec<String> = selection.services.keys().cloned().collect();

    // Everything is converted before anything is written, so a failure leaves model/ untouched.
    let mut outputs: BTreeMap<String, String> = BTreeMap::new();
    let mut new_pin = None;
    match source {
        Source::Botocore { latest } => {
            let pin = (!latest).then_some(selection.botocore_version.as_str());
            let downloaded = fetch::download(pin, &names)?;
            for (name, service) in &selection.services {
                let description = downloaded
                    .services
                    .get(name)
                    .ok_or_else(|| anyhow!("botocore has no service `{name}`"))?;
                let smithy = botocore::convert(description, &service.namespace)
                    .with_context(|| format!("converting botocore {name}"))?;
                let trimmed = trim::trim(&smithy, &service.namespace, &service.operations)?;
                outputs.insert(name.clone(), trim::to_pretty(&trimmed)?);
            }
            if downloaded.version != selection.botocore_version {
                new_pin = Some(downloaded.version);
            }
        }
        Source::SmithyDir(dir) => {
            let models = read_smithy_dir(&dir)?;
            for (name, service) in &selection.services {
                let model = models
                    .iter()
                    .find(|(_, m)| has_service_in(m, &service.namespace))
                    .map(|(_, m)| m)
                    .ok_or_else(|| {
                        anyhow!(
                            "no model in {} has a service shape in {} (service `{name}`)",
                            dir.display(),
                            service.namespace
                        )
                    })?;
                let trimmed = trim::trim(model, &service.namespace, &service.operations)
                    .with_context(|| format!("trimming the official {name} model"))?;
                outputs.insert(name.clone(), trim::to_pretty(&trimmed)?);
            }
        }
    }

    for (name, text) in &outputs {
        let path = root.join("model").join(format!("{name}.json"));
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(version) = new_pin {
        let updated = operations::with_botocore_version(&text, &version)?;
        std::fs::write(&ops_path, updated)
            .with_context(|| format!("writing {}", ops_path.display()))?;
    }
    Ok(())
}

/// Every `*.json` file in `dir`, parsed, in file-name order.
fn read_smithy_dir(dir: &Path) -> Result<Vec<(PathBuf, Value)>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        bail!("{} holds no .json models", dir.display());
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let value = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            Ok((path, value))
        })
        .collect()
}

fn has_service_in(model: &Value, namespace: &str) -> bool {
    model
        .get("shapes")
        .and_then(Value::as_object)
        .is_some_and(|shapes| trim::service_in(shapes, namespace).is_ok())
}
