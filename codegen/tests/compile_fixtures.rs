//! Proves the code generated for every fixture compiles, by `cargo check`ing it as a throwaway workspace.
//!
//! Each fixture's crate is written to `target/fixture-crates/<name>`; a small workspace there
//! re-declares the root workspace's `[workspace.dependencies]` (paths made absolute) so the
//! generated `.workspace = true` lines resolve to the same pinned aws-smithy-* versions, and the
//! root `Cargo.lock` is copied so `--offline` resolves exactly what the real workspace uses.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen/ has a parent")
        .to_path_buf()
}

/// The root `[workspace.dependencies]`, with every `path` made absolute.
fn workspace_dependencies(root: &Path) -> toml::Table {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).expect("reading root Cargo.toml");
    let manifest: toml::Table = text.parse().expect("parsing root Cargo.toml");
    let mut deps = manifest["workspace"]["dependencies"]
        .as_table()
        .expect("[workspace.dependencies]")
        .clone();
    for (_, dep) in deps.iter_mut() {
        if let Some(path) = dep.get_mut("path") {
            let abs = root.join(path.as_str().expect("path is a string"));
            *path = toml::Value::String(abs.display().to_string());
        }
    }
    deps
}

/// Writes `fixtures` as a workspace under `target/<dir>`, `cargo check`s it, and asserts it compiles.
fn check_fixtures(dir: &str, fixtures: &[&str]) {
    let root = workspace_root();
    let dir = root.join("target").join(dir);
    let mut members = Vec::new();
    for name in fixtures {
        let crate_dir = dir.join(name);
        if crate_dir.exists() {
            std::fs::remove_dir_all(&crate_dir).expect("clearing old fixture crate");
        }
        for f in common::generate(name) {
            let path = crate_dir.join(&f.path);
            std::fs::create_dir_all(path.parent().expect("file has a parent")).expect("mkdir");
            std::fs::write(&path, &f.text).expect("writing generated file");
        }
        members.push(toml::Value::String((*name).to_owned()));
    }
    let mut workspace = toml::Table::new();
    workspace.insert("resolver".into(), "3".into());
    workspace.insert("members".into(), toml::Value::Array(members));
    workspace.insert(
        "dependencies".into(),
        toml::Value::Table(workspace_dependencies(&root)),
    );
    let mut manifest = toml::Table::new();
    manifest.insert("workspace".into(), toml::Value::Table(workspace));
    std::fs::write(
        dir.join("Cargo.toml"),
        toml::to_string(&manifest).expect("serializing workspace manifest"),
    )
    .expect("writing workspace manifest");
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copying Cargo.lock");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "check",
            "--offline",
            "--workspace",
            "--keep-going",
            "--message-format=short",
        ])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("running cargo check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    let failing: Vec<&str> = fixtures
        .iter()
        .copied()
        .filter(|name| {
            let krate = format!("`fixture-{}`", name.replace('_', "-"));
            errors
                .iter()
                .any(|l| l.starts_with(&format!("{name}/")) || l.contains(&krate))
        })
        .collect();
    assert!(
        out.status.success(),
        "generated code does not compile for fixtures {failing:?}:\n{}",
        if errors.is_empty() {
            stderr.as_ref()
        } else {
            ""
        }
        .to_owned()
            + &errors.join("\n")
    );
}

#[test]
fn generated_fixture_crates_compile() {
    check_fixtures("fixture-crates", common::FIXTURES);
}

/// Generator bug: `naming_collisions.json` generates duplicate statics, methods and enum variants.
#[test]
fn naming_collisions_compile() {
    check_fixtures("fixture-crates-bugs", common::BUG_FIXTURES);
}
