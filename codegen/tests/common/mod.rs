//! Shared helpers for the fixture tests: load a fixture model and run the generator on it.

#![allow(dead_code)]

use std::path::PathBuf;

use quarry_codegen::{File, Options, load};

/// Every fixture under `codegen/tests/fixtures`, by file stem.
pub const FIXTURES: &[&str] = &[
    "http_bindings",
    "xml",
    "event_streams",
    "errors",
    "constraints",
    "enums_unions",
    "naming_obstacles",
];

/// Fixtures that show known generator bugs (see the report in each test that uses them).
pub const BUG_FIXTURES: &[&str] = &["naming_collisions"];

/// The absolute path of a fixture model.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"))
}

/// The parsed fixture model.
pub fn model(name: &str) -> load::Model {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    load::parse(&text).unwrap_or_else(|e| panic!("parsing {}: {e:#}", path.display()))
}

/// The fixed options every fixture is generated with.
pub fn options(name: &str) -> Options {
    Options {
        crate_name: format!("fixture-{}", name.replace('_', "-")),
        model_file: format!("codegen/tests/fixtures/{name}.json"),
        service_name: "Fixture".to_owned(),
        server_protocol: None,
        runtime_path: "quarry-codegen-runtime".to_owned(),
    }
}

/// Runs the whole generator (IR, validate, emit, rustfmt) on a fixture.
pub fn generate(name: &str) -> Vec<File> {
    quarry_codegen::generate_model(&model(name), &options(name))
        .unwrap_or_else(|e| panic!("generating fixture {name}: {e:#}"))
}

/// The text of one generated file, failing with the list of paths when it is absent.
pub fn file<'a>(files: &'a [File], path: &str) -> &'a str {
    match files.iter().find(|f| f.path == path) {
        Some(f) => &f.text,
        None => panic!(
            "no generated file {path}; files: {:?}",
            files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>()
        ),
    }
}
