//! Rust names for Smithy names: snake/pascal case, keyword escaping, static names.

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];

/// A field, function or module name.
pub fn snake(name: &str) -> String {
    let s = name.to_snake_case();
    if ["self", "super", "crate"].contains(&s.as_str()) {
        format!("{s}_")
    } else if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// A module or file name: like `snake` but never a raw identifier.
pub fn module(name: &str) -> String {
    let s = name.to_snake_case();
    if KEYWORDS.contains(&s.as_str()) || ["self", "super", "crate"].contains(&s.as_str()) {
        format!("{s}_")
    } else {
        s
    }
}

/// A type or variant name.
pub fn pascal(name: &str) -> String {
    let s = name.to_upper_camel_case();
    let s = if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{s}")
    } else {
        s
    };
    if s == "Self" {
        "SelfValue".to_owned()
    } else {
        s
    }
}

/// A `static` name.
pub fn shouty(name: &str) -> String {
    name.to_shouty_snake_case()
}

/// A Rust string literal.
pub fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// A module under `types`, where `error` is taken by the modeled errors (S3 has a shape named `Error`).
pub fn type_module(name: &str) -> String {
    let m = module(name);
    if m == "error" || m == "builders" {
        format!("{m}_")
    } else {
        m
    }
}
