//! `cargo xtask bench [files|batch]`: builds the gateway and the load generator in release mode and
//! runs them.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let forwarded = match args.first().map(String::as_str) {
        Some("files") => files_args(root, &args[1..])?,
        Some("batch") => batch_args(root, &args[1..])?,
        _ => converse_args(root, args)?,
    };
    println!("==> cargo build --release -p quarry -p quarry-bench --bins");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-p",
            "quarry",
            "-p",
            "quarry-bench",
            "--bins",
        ])
        .current_dir(root)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from);
    println!("==> quarry-bench {}", forwarded.join(" "));
    let status = Command::new(target.join("release/quarry-bench"))
        .args(&forwarded)
        .current_dir(root)
        .status()
        .context("running quarry-bench")?;
    if !status.success() {
        bail!("quarry-bench failed");
    }
    Ok(())
}

/// `bench [--duration S] [--concurrency C] [--write]`: Converse through the gateway vs. direct.
fn converse_args(root: &Path, args: &[String]) -> anyhow::Result<Vec<String>> {
    let mut forwarded = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--duration" | "--concurrency" | "--rounds" => {
                let value = rest
                    .next()
                    .with_context(|| format!("{arg} needs a value"))?;
                forwarded.extend([arg.clone(), value.clone()]);
            }
            "--write" => forwarded.extend(write_to(root)),
            other => bail!(
                "unknown argument {other} (--duration S, --concurrency C, --rounds N, --write)"
            ),
        }
    }
    Ok(forwarded)
}

/// `bench files [--sizes LIST] [--dir DIR] [--write]`: PutObject and GetObject through the
/// gateway vs. writing and reading the same bytes on the same disk directly.
fn files_args(root: &Path, args: &[String]) -> anyhow::Result<Vec<String>> {
    let mut forwarded = vec!["files".to_owned()];
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--sizes" | "--dir" => {
                let value = rest
                    .next()
                    .with_context(|| format!("{arg} needs a value"))?;
                forwarded.extend([arg.clone(), value.clone()]);
            }
            "--write" => forwarded.extend(write_to(root)),
            other => bail!(
                "unknown argument {other} (files [--sizes 1M*50,256M*3] [--dir DIR] [--write])"
            ),
        }
    }
    Ok(forwarded)
}

/// `bench batch [--records N] [--concurrency C] [--write]`: a batch job on the local engine vs.
/// the same records as individual calls.
fn batch_args(root: &Path, args: &[String]) -> anyhow::Result<Vec<String>> {
    let mut forwarded = vec!["batch".to_owned()];
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--records" | "--concurrency" => {
                let value = rest
                    .next()
                    .with_context(|| format!("{arg} needs a value"))?;
                forwarded.extend([arg.clone(), value.clone()]);
            }
            "--write" => forwarded.extend(write_to(root)),
            other => {
                bail!("unknown argument {other} (batch [--records N] [--concurrency C] [--write])")
            }
        }
    }
    Ok(forwarded)
}

fn write_to(root: &Path) -> [String; 2] {
    [
        "--write".to_owned(),
        root.join("docs/benchmarks.md").display().to_string(),
    ]
}
