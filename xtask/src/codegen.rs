//! `cargo xtask codegen [--check]`: regenerates the three service crates under generated/.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, bail};
use quarry_codegen::Options;

/// One generated crate: its model, where it goes, its service trait and the Quarry wire protocol.
struct ServiceCrate {
    model: &'static str,
    dir: &'static str,
    crate_name: &'static str,
    service_name: &'static str,
    protocol_id: &'static str,
    protocol_registry: &'static str,
}

const BEDROCK_PROTOCOL: (&str, &str) = (
    "quarry.protocols#bedrockRestJson",
    "::quarry_codegen_runtime::protocol::BEDROCK_REGISTRY",
);

const SERVICES: &[ServiceCrate] = &[
    ServiceCrate {
        model: "model/bedrock-runtime.json",
        dir: "generated/bedrock-runtime",
        crate_name: "quarry-bedrock-runtime",
        service_name: "BedrockRuntime",
        protocol_id: BEDROCK_PROTOCOL.0,
        protocol_registry: BEDROCK_PROTOCOL.1,
    },
    ServiceCrate {
        model: "model/bedrock.json",
        dir: "generated/bedrock",
        crate_name: "quarry-bedrock",
        service_name: "Bedrock",
        protocol_id: BEDROCK_PROTOCOL.0,
        protocol_registry: BEDROCK_PROTOCOL.1,
    },
    ServiceCrate {
        model: "model/s3.json",
        dir: "generated/s3",
        crate_name: "quarry-s3",
        service_name: "S3",
        protocol_id: "quarry.protocols#s3RestXml",
        protocol_registry: "::quarry_codegen_runtime::protocol::S3_REGISTRY",
    },
];

pub fn run(root: &Path, check: bool) -> anyhow::Result<()> {
    let mut stale = Vec::new();
    for svc in SERVICES {
        let opts = Options {
            crate_name: svc.crate_name.to_owned(),
            model_file: svc.model.to_owned(),
            service_name: svc.service_name.to_owned(),
            server_protocol: Some((svc.protocol_id.to_owned(), svc.protocol_registry.to_owned())),
            runtime_path: "quarry-codegen-runtime".to_owned(),
        };
        let files = quarry_codegen::generate(&root.join(svc.model), &opts)
            .with_context(|| format!("generating {}", svc.dir))?;
        let dir = root.join(svc.dir);
        let wanted: BTreeSet<_> = files.iter().map(|f| dir.join(&f.path)).collect();
        for f in &files {
            let path = dir.join(&f.path);
            let current = std::fs::read_to_string(&path).ok();
            if current.as_deref() == Some(f.text.as_str()) {
                continue;
            }
            if check {
                stale.push(path.display().to_string());
            } else {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, &f.text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        // Files no longer generated are stale too: generated/ is entirely machine-written.
        for existing in walk(&dir)? {
            if !wanted.contains(&existing) {
                if check {
                    stale.push(format!("{} (no longer generated)", existing.display()));
                } else {
                    std::fs::remove_file(&existing)?;
                }
            }
        }
    }
    if !stale.is_empty() {
        bail!(
            "generated code is stale; run `cargo xtask codegen` and commit:\n  {}",
            stale.join("\n  ")
        );
    }
    Ok(())
}

fn walk(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    Ok(out)
}
