//! `cargo xtask ci`: everything CI runs, in order, failing fast.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

fn run(root: &Path, program: &str, args: &[&str]) -> anyhow::Result<()> {
    println!("==> {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("running {program}"))?;
    if !status.success() {
        bail!("{program} {} failed", args.join(" "));
    }
    Ok(())
}

fn cargo(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    run(root, env!("CARGO"), args)
}

/// Fails when `paths` differ from the commit or hold untracked files.
fn unchanged(root: &Path, paths: &[&str]) -> anyhow::Result<()> {
    if !root.join(".git").exists() {
        println!("==> not a git checkout: skipping the unchanged-tree check");
        return Ok(());
    }
    let mut args = vec!["status", "--porcelain", "--"];
    args.extend_from_slice(paths);
    let out = Command::new("git")
        .args(&args)
        .current_dir(root)
        .output()
        .context("running git")?;
    let changed = String::from_utf8_lossy(&out.stdout);
    if !changed.trim().is_empty() {
        bail!("regenerating changed committed files (run the task locally and commit):\n{changed}");
    }
    Ok(())
}

pub fn run_ci(root: &Path) -> anyhow::Result<()> {
    // The models and generated code must be reproducible from a fresh clone.
    println!("==> cargo xtask update-models");
    quarry_codegen::models::update(
        root,
        quarry_codegen::models::Source::Botocore { latest: false },
    )?;
    unchanged(root, &["model"])?;
    println!("==> cargo xtask codegen --check");
    crate::codegen::run(root, true)?;
    unchanged(root, &["generated"])?;
    cargo(root, &["fmt", "--all", "--check"])?;
    cargo(
        root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    crate::sigv4_vectors::run(root)?;
    // The tests that run the gateway as a process use the binary this same build produces,
    // rather than building it again from inside a test.
    let binary = crate::conformance::target_dir(root).join("debug/quarry");
    println!(
        "==> cargo test --workspace --no-fail-fast (QUARRY_BIN={})",
        binary.display()
    );
    let status = Command::new(env!("CARGO"))
        .args(["test", "--workspace", "--no-fail-fast"])
        .env("QUARRY_BIN", &binary)
        .current_dir(root)
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!("cargo test --workspace --no-fail-fast failed");
    }
    crate::conformance::run(root, false)?;
    Ok(())
}
