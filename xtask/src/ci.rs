//! `cargo xtask ci`: everything CI runs, in order, failing fast.

use std::path::Path;
use std::process::Command;

use anyhow::bail;

fn cargo(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    println!("==> cargo {}", args.join(" "));
    let status = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

pub fn run(root: &Path) -> anyhow::Result<()> {
    println!("==> cargo xtask codegen --check");
    crate::codegen::run(root, true)?;
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
    cargo(root, &["test", "--workspace"])?;
    Ok(())
}
