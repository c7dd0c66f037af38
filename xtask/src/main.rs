//! Project tasks behind `cargo xtask`: model refresh, code generation, CI and benchmarks.

mod bench;
mod ci;
mod codegen;
mod conformance;
mod sigv4_vectors;
mod tidy;

use std::path::{Path, PathBuf};

use anyhow::bail;

const USAGE: &str = "\
usage: cargo xtask <task>
  update-models [--latest] [--smithy-dir DIR]   refresh model/*.json from botocore (pinned) or official Smithy models
  codegen [--check]                            regenerate generated/ (--check: fail naming stale files)
  conformance                                  boto3 (PyPI, in a venv) against the built gateway
  sigv4-vectors                                AWS's SigV4 test suite (botocore sdist) into target/sigv4-testsuite/
  ci                                           everything CI runs
  bench [--duration S] [--concurrency C] [--rounds N] [--write]
                                               the gateway's overhead against a direct call and a bare
                                               relay (release build; --write: docs/benchmarks.md)
  bench files [--sizes 1M*50,256M*3] [--dir DIR] [--write]
                                               PutObject/GetObject through the gateway against direct disk
                                               writes and reads (release build; --write: docs/benchmarks.md)
";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("update-models") => {
            let mut latest = false;
            let mut dir = None;
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                match a.as_str() {
                    "--latest" => latest = true,
                    "--smithy-dir" => match rest.next() {
                        Some(d) => dir = Some(PathBuf::from(d)),
                        None => bail!("--smithy-dir needs a directory\n{USAGE}"),
                    },
                    other => bail!("unknown argument {other}\n{USAGE}"),
                }
            }
            let source = match dir {
                Some(d) => quarry_codegen::models::Source::SmithyDir(d),
                None => quarry_codegen::models::Source::Botocore { latest },
            };
            quarry_codegen::models::update(&root, source)
        }
        Some("codegen") => {
            let check = match args.get(1).map(String::as_str) {
                None => false,
                Some("--check") => true,
                Some(other) => bail!("unknown argument {other}\n{USAGE}"),
            };
            codegen::run(&root, check)
        }
        Some("ci") => ci::run_ci(&root),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("conformance") => conformance::run(&root, true),
        Some("sigv4-vectors") => sigv4_vectors::run(&root),
        _ => {
            eprint!("{USAGE}");
            bail!("no task given")
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
