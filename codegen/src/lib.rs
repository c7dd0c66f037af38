//! quarry-codegen: Smithy JSON AST → IR → validated → Rust server crates for the schema runtime.
//!
//! The pipeline is one module per stage: [`load`], [`ir`], [`customize`], [`validate`], [`emit`]; [`models`]
//! refreshes `model/` from botocore or official Smithy models.

pub mod customize;
pub mod emit;
pub mod ir;
pub mod load;
pub mod models;
pub mod validate;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

pub use self::emit::{File, Options};

/// Runs the whole pipeline on one model file and returns the crate's files, rustfmt-formatted.
pub fn generate(model: &Path, opts: &Options) -> anyhow::Result<Vec<File>> {
    let model = load::load(model)?;
    generate_model(&model, opts)
}

/// Runs IR → validate → emit → rustfmt on an already loaded model.
pub fn generate_model(model: &load::Model, opts: &Options) -> anyhow::Result<Vec<File>> {
    let mut svc = ir::build(model)?;
    customize::apply(&mut svc)?;
    validate::validate(&svc)?;
    let mut files = emit::emit(&svc, opts)?;
    for f in &mut files {
        if f.path.ends_with(".rs") {
            f.text = rustfmt(&f.text).with_context(|| format!("formatting {}", f.path))?;
        }
    }
    Ok(files)
}

/// Formats Rust source with the toolchain's rustfmt, so generated code reads like hand-written code.
pub fn rustfmt(text: &str) -> anyhow::Result<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt (rustup component add rustfmt)")?;
    let mut stdin = child.stdin.take().context("rustfmt stdin")?;
    let input = text.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("rustfmt writer panicked"))??;
    if !out.status.success() {
        bail!("rustfmt failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?)
}
